/**
 * A creator's playback signing keys: asymmetric key pairs made here with WebCrypto (through `jose`), of which only
 * the public half is stored. The private half is answered once, as a JWK and as a PKCS#8 PEM, for the creator's app
 * to sign playback tokens offline with any JWT library (docs/playback.md). `signing_keys` has this module as its one
 * writer.
 *
 * - ES256 (ECDSA P-256, the default: small keys, 86-character signatures, fast to verify) or RS256 (RSA 2048, for
 *   libraries and platforms that only sign RSA; Cloudflare Stream's keys are RSA).
 * - Revoking keeps the row with `revoked_at`: the edge refuses the key's tokens with the reason, within the key
 *   cache's lifetime everywhere (lookup.ts).
 */
import { and, desc, eq, isNull } from 'drizzle-orm';
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import type { SigningKeyAlg } from '../../schema/schema';
import { schema, type Db } from '../shared/db';
import { newId, runtime } from '../shared/runtime';

export type SigningKeyRow = typeof schema.signingKeys.$inferSelect;

export interface NewSigningKey {
  id: string;
  alg: SigningKeyAlg;
  /** The private key: shown once, never stored. */
  jwk: JWK;
  pem: string;
  createdAt: number;
}

/** Makes a key pair, stores its public half for `creatorId`, and returns the private half (once). */
export async function createSigningKey(db: Db, creatorId: string, alg: SigningKeyAlg): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const id = newId('key');
  const createdAt = runtime().now();
  const publicJwk = { ...(await exportJWK(publicKey)), kid: id, alg, use: 'sig' };
  await db.insert(schema.signingKeys).values({ id, creatorId, alg, publicJwk: JSON.stringify(publicJwk), createdAt });
  const jwk = { ...(await exportJWK(privateKey)), kid: id, alg, use: 'sig' };
  return { id, alg, jwk, pem: await exportPKCS8(privateKey), createdAt };
}

/** The creator's keys that are not revoked, newest first. */
export async function listSigningKeys(db: Db, creatorId: string): Promise<SigningKeyRow[]> {
  return db
    .select()
    .from(schema.signingKeys)
    .where(and(eq(schema.signingKeys.creatorId, creatorId), isNull(schema.signingKeys.revokedAt)))
    .orderBy(desc(schema.signingKeys.createdAt))
    .all();
}

/** Revokes the creator's key; false when the creator has no such live key. */
export async function revokeSigningKey(db: Db, creatorId: string, id: string): Promise<boolean> {
  const revoked = await db
    .update(schema.signingKeys)
    .set({ revokedAt: runtime().now() })
    .where(and(eq(schema.signingKeys.id, id), eq(schema.signingKeys.creatorId, creatorId), isNull(schema.signingKeys.revokedAt)))
    .returning({ id: schema.signingKeys.id });
  return revoked.length > 0;
}

export async function findSigningKey(db: Db, id: string): Promise<SigningKeyRow | null> {
  return (await db.select().from(schema.signingKeys).where(eq(schema.signingKeys.id, id)).get()) ?? null;
}

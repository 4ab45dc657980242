/**
 * The edge's view of signing keys: a per-isolate cache of `kid → {creator, public key, revoked}`, read from D1 on a
 * miss and again once an entry is older than `playback.signingKeyCacheMs` (30 s). That bound is how the edge learns
 * of a revocation: an isolate that verified a key's tokens before it was revoked refuses them at the latest when its
 * entry is refreshed, so a revoked key's tokens stop everywhere within 30 s (the isolate that handled the DELETE
 * forgets the key at once). Unknown kids are cached too (as absent), so a flood of made-up kids costs one read each
 * per lifetime, not one per request; the cache is bounded.
 */
import { importJWK, type CryptoKey as JoseKey, type JWK } from 'jose';
import type { SigningKeyAlg } from '../../schema/schema';
import type { Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { findSigningKey } from './keys';

export interface KnownKey {
  kid: string;
  creatorId: string;
  alg: SigningKeyAlg;
  key: JoseKey | Uint8Array;
  revoked: boolean;
}

interface Entry {
  /** null: no such key. */
  known: KnownKey | null;
  fetchedAt: number;
}

const MAX_ENTRIES = 10_000;
const cache = new Map<string, Entry>();

async function load(db: Db, kid: string): Promise<Entry> {
  const row = await findSigningKey(db, kid);
  const fetchedAt = runtime().now();
  if (!row) return { known: null, fetchedAt };
  const key = await importJWK(JSON.parse(row.publicJwk) as JWK, row.alg);
  return { known: { kid, creatorId: row.creatorId, alg: row.alg, key, revoked: row.revokedAt !== null }, fetchedAt };
}

/** The key `kid` as this isolate knows it (fresh within `maxAgeMs`), or null when no such key exists. */
export async function lookupSigningKey(db: Db, kid: string, maxAgeMs: number): Promise<KnownKey | null> {
  const hit = cache.get(kid);
  if (hit && runtime().now() - hit.fetchedAt < maxAgeMs) return hit.known;
  // Each request that misses reads for itself: a read in flight is never shared (shared/shared-work.ts).
  const entry = await load(db, kid);
  if (cache.size >= MAX_ENTRIES && !cache.has(kid)) cache.delete(cache.keys().next().value!);
  cache.set(kid, entry);
  return entry.known;
}

/** Forgets `kid` in this isolate (after a revocation here). */
export function forgetSigningKey(kid: string): void {
  cache.delete(kid);
}

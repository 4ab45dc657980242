/**
 * Creator accounts: the only writer of `creators` and `api_tokens`. A creator starts with one API token; the
 * operator can list its tokens, issue new ones (rotation: optionally revoking every other token at once), revoke
 * one, and set the creator's storage quotas (workers/usage/quota.ts enforces them).
 */
import { and, desc, eq, isNull, ne } from 'drizzle-orm';
import { TOKEN_PREFIX } from './auth';
import { schema, type Db } from './db';
import { newId, runtime, sha256Hex } from './runtime';

export type CreatorRow = typeof schema.creators.$inferSelect;
export type TokenRow = typeof schema.apiTokens.$inferSelect;

const newToken = () => `${TOKEN_PREFIX}${newId('t', 40).slice(2)}`;

/** Creates a creator with one token; returns the token in clear (the only time it exists outside the client). */
export async function createCreator(db: Db, name: string): Promise<{ creatorId: string; token: string }> {
  const creatorId = newId('cr');
  const token = newToken();
  const now = runtime().now();
  await db.batch([
    db.insert(schema.creators).values({ id: creatorId, name, createdAt: now }),
    db.insert(schema.apiTokens).values({ id: newId('tok'), creatorId, tokenHash: await sha256Hex(token), createdAt: now }),
  ]);
  return { creatorId, token };
}

export async function findCreator(db: Db, creatorId: string): Promise<CreatorRow | null> {
  return (await db.select().from(schema.creators).where(eq(schema.creators.id, creatorId)).get()) ?? null;
}

/** The creator's tokens, newest first (revoked ones included, with the time). */
export async function listTokens(db: Db, creatorId: string): Promise<TokenRow[]> {
  return db.select().from(schema.apiTokens).where(eq(schema.apiTokens.creatorId, creatorId)).orderBy(desc(schema.apiTokens.createdAt)).all();
}

/** A new token for the creator (in clear, once); `revokeOthers` revokes every other live token in the same batch. */
export async function issueToken(db: Db, creatorId: string, name: string, revokeOthers: boolean): Promise<{ id: string; token: string; createdAt: number }> {
  const id = newId('tok');
  const token = newToken();
  const now = runtime().now();
  const insert = db.insert(schema.apiTokens).values({ id, creatorId, tokenHash: await sha256Hex(token), name, createdAt: now });
  if (revokeOthers) {
    await db.batch([
      insert,
      db
        .update(schema.apiTokens)
        .set({ revokedAt: now })
        .where(and(eq(schema.apiTokens.creatorId, creatorId), ne(schema.apiTokens.id, id), isNull(schema.apiTokens.revokedAt))),
    ]);
  } else await insert;
  return { id, token, createdAt: now };
}

/** Revokes one token of the creator; false when it has no such live token. */
export async function revokeToken(db: Db, creatorId: string, tokenId: string): Promise<boolean> {
  const revoked = await db
    .update(schema.apiTokens)
    .set({ revokedAt: runtime().now() })
    .where(and(eq(schema.apiTokens.id, tokenId), eq(schema.apiTokens.creatorId, creatorId), isNull(schema.apiTokens.revokedAt)))
    .returning({ id: schema.apiTokens.id });
  return revoked.length > 0;
}

export interface Quota {
  minutesStored: number | null;
  bytesStored: number | null;
}

/** Sets the creator's caps (a field left out keeps its value; null lifts the cap). */
export async function setQuota(db: Db, creatorId: string, quota: Partial<Quota>): Promise<void> {
  const set: Partial<typeof schema.creators.$inferInsert> = {};
  if (quota.minutesStored !== undefined) set.quotaMinutesStored = quota.minutesStored;
  if (quota.bytesStored !== undefined) set.quotaBytesStored = quota.bytesStored;
  if (Object.keys(set).length > 0) await db.update(schema.creators).set(set).where(eq(schema.creators.id, creatorId));
}

export const quotaOf = (row: CreatorRow): Quota => ({ minutesStored: row.quotaMinutesStored, bytesStored: row.quotaBytesStored });

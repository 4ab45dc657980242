/**
 * Creator authentication: `Authorization: Bearer <token>`. Tokens are random secrets shown once; D1 keeps only their
 * SHA-256 (a slow hash adds nothing for high-entropy tokens and would cost CPU on every request). Tokens and
 * creators are written by shared/creators.ts.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { schema, type Db } from './db';
import { forbidden, unauthorized } from './errors';
import type { AppEnv } from './hono-env';
import { sha256Hex } from './runtime';

export const TOKEN_PREFIX = 'evt_';

export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1] ?? null;
}

export async function creatorForToken(db: Db, token: string): Promise<string | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return null;
  const hash = await sha256Hex(token);
  const row = await db
    .select({ creatorId: schema.apiTokens.creatorId })
    .from(schema.apiTokens)
    .where(and(eq(schema.apiTokens.tokenHash, hash), isNull(schema.apiTokens.revokedAt)))
    .get();
  return row?.creatorId ?? null;
}

/** 401 unless the request carries a valid creator token. */
export const requireCreator = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('Authorization'));
  if (!token) throw unauthorized();
  const creatorId = await creatorForToken(c.var.db, token);
  if (!creatorId) throw unauthorized();
  c.set('creatorId', creatorId);
  await next();
});

/** Sets `creatorId` when a valid token is present; a present but invalid token is still a 401. */
export const optionalCreator = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('Authorization'));
  if (token) {
    const creatorId = await creatorForToken(c.var.db, token);
    if (!creatorId) throw unauthorized();
    c.set('creatorId', creatorId);
  }
  await next();
});

export function assertOwner(creatorId: string | undefined, ownerId: string): void {
  if (!creatorId) throw unauthorized();
  if (creatorId !== ownerId) throw forbidden('this video belongs to another creator');
}

/** Constant-time string comparison for secrets. */
export function timingSafeEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * The capability behind a direct upload URL: `dut_` + 200 random bits, in the URL path
 * (`/v1/direct_uploads/{token}/tus`). D1 keeps only its SHA-256, so a leaked database row cannot upload, and the
 * token means nothing to the rest of the API (creator tokens start with `evt_` and are looked up elsewhere).
 *
 * The URL allows exactly one tus creation: `claimed_at` is a compare-and-set taken before the creation and released
 * if it fails (or after `CLAIM_STALE_MS`, if the request died), and `upload_id` then pins the URL to that upload.
 */
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { newId, runtime, sha256Hex } from '../shared/runtime';

const TOKEN_PREFIX = 'dut_';
const TOKEN_SHAPE = /^dut_[0-9a-z]{40}$/;
/** A creation that has not recorded its upload after this long crashed; the URL may be claimed again. */
const CLAIM_STALE_MS = 60_000;

export type DirectUploadRow = typeof schema.directUploads.$inferSelect;

export type { DirectUploadScope } from '../shared/hono-env';

export function newDirectUploadToken(): string {
  return `${TOKEN_PREFIX}${newId('x', 40).slice(2)}`;
}

export const hashToken = (token: string) => sha256Hex(token);

/** The row of a well-formed token, or null (malformed, tampered or unknown: all the same to the caller). */
export async function findByToken(db: Db, token: string): Promise<DirectUploadRow | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const row = await db.select().from(schema.directUploads).where(eq(schema.directUploads.tokenHash, await hashToken(token))).get();
  return row ?? null;
}

export function allowedOriginsOf(row: DirectUploadRow): string[] | null {
  if (!row.allowedOrigins) return null;
  const parsed: unknown = JSON.parse(row.allowedOrigins);
  return Array.isArray(parsed) ? parsed.filter((o): o is string => typeof o === 'string') : null;
}

/** A new direct upload URL's row, unexecuted: the caller batches it with its video's insert. */
export function insertDirectUpload(db: Db, row: typeof schema.directUploads.$inferInsert) {
  return db.insert(schema.directUploads).values(row);
}

/** Takes the URL's one creation; false when another creation holds it or already made the upload. */
export async function claimCreation(db: Db, id: string): Promise<boolean> {
  const now = runtime().now();
  const claimed = await db
    .update(schema.directUploads)
    .set({ claimedAt: now })
    .where(
      and(
        eq(schema.directUploads.id, id),
        isNull(schema.directUploads.uploadId),
        or(isNull(schema.directUploads.claimedAt), lt(schema.directUploads.claimedAt, now - CLAIM_STALE_MS)),
      ),
    )
    .returning({ id: schema.directUploads.id });
  return claimed.length > 0;
}

export async function recordCreation(db: Db, id: string, uploadId: string): Promise<void> {
  await db.update(schema.directUploads).set({ uploadId }).where(eq(schema.directUploads.id, id));
}

export async function releaseClaim(db: Db, id: string): Promise<void> {
  await db
    .update(schema.directUploads)
    .set({ claimedAt: null })
    .where(and(eq(schema.directUploads.id, id), isNull(schema.directUploads.uploadId)));
}

/** The video's upload completed: its URL is spent. */
export async function markCompleted(db: Db, videoId: string): Promise<void> {
  await db
    .update(schema.directUploads)
    .set({ completedAt: sql`coalesce(${schema.directUploads.completedAt}, ${runtime().now()})` })
    .where(eq(schema.directUploads.videoId, videoId));
}

export async function directUploadOfVideo(db: Db, videoId: string): Promise<DirectUploadRow | null> {
  return (await db.select().from(schema.directUploads).where(eq(schema.directUploads.videoId, videoId)).get()) ?? null;
}

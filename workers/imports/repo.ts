/**
 * `video_imports`: this module is its only writer. The state machine is the shared leased-work one
 * (workers/shared/leased-work.ts); this module adds the import's own progress: the multipart upload, the parts
 * stored, the bytes fetched, the source's length and validator.
 */
import { eq } from 'drizzle-orm';
import { invalidateVideo } from '../metadata/cache';
import { schema, type Db } from '../shared/db';
import { leasedWork, type ClaimOutcome } from '../shared/leased-work';
import { runtime } from '../shared/runtime';

export type ImportRow = typeof schema.videoImports.$inferSelect;
export interface StoredPart {
  partNumber: number;
  etag: string;
}

const table = schema.videoImports;
const byVideo = (videoId: string) => eq(table.videoId, videoId);
const lease = leasedWork<typeof table, ImportRow>(table);

export async function createImport(db: Db, row: { videoId: string; creatorId: string; url: string; deadline: number }): Promise<void> {
  const now = runtime().now();
  await db.insert(table).values({ ...row, status: 'PENDING', createdAt: now, updatedAt: now });
}

export async function getImport(db: Db, videoId: string): Promise<ImportRow | null> {
  return (await db.select().from(table).where(byVideo(videoId)).get()) ?? null;
}

export async function claimImport(db: Db, videoId: string, leaseMs: number): Promise<ClaimOutcome<ImportRow>> {
  const claimed = await lease.claim(db, byVideo(videoId), leaseMs);
  if (claimed.status === 'claimed') await invalidateVideo(videoId);
  return claimed;
}

/** The multipart upload the import writes (a fresh one when the source had to be read again from the start). */
export async function startMultipart(db: Db, row: ImportRow, r2UploadId: string, validator: string | null, totalBytes: number | null): Promise<void> {
  await db
    .update(table)
    .set({ r2UploadId, validator, totalBytes, bytesFetched: 0, parts: '[]', progress: 0, updatedAt: runtime().now() })
    .where(byVideo(row.videoId));
}

/** One more part stored: the progress a resumed fetch continues from, and a longer lease. */
export async function recordPart(db: Db, row: ImportRow, parts: StoredPart[], bytesFetched: number, leaseMs: number): Promise<boolean> {
  const progress = row.totalBytes ? Math.min(1, bytesFetched / row.totalBytes) : 0;
  const owned = await lease.heartbeat(db, byVideo(row.videoId), row, progress, leaseMs);
  if (owned) await db.update(table).set({ parts: JSON.stringify(parts), bytesFetched }).where(byVideo(row.videoId));
  await invalidateVideo(row.videoId);
  return owned;
}

export async function completeImport(db: Db, row: ImportRow): Promise<void> {
  await lease.complete(db, byVideo(row.videoId), row);
  await invalidateVideo(row.videoId);
}

/** A transient failure or the end of an invocation's budget: back to PENDING, keeping the progress. */
export async function releaseImport(db: Db, row: ImportRow, reason: string): Promise<void> {
  await lease.release(db, byVideo(row.videoId), row, reason);
  await invalidateVideo(row.videoId);
}

export async function failImport(db: Db, videoId: string, reason: string): Promise<void> {
  await lease.fail(db, byVideo(videoId), reason);
  await invalidateVideo(videoId);
}

export async function cancelImport(db: Db, videoId: string): Promise<number> {
  return lease.cancel(db, byVideo(videoId), 'the video was deleted');
}

export const partsOf = (row: ImportRow): StoredPart[] => JSON.parse(row.parts) as StoredPart[];

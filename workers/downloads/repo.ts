/**
 * `media_downloads` rows: one per (video, rung), the job state of its MP4. This module is the only writer of the
 * table; its state machine is the shared leased-work one (workers/shared/leased-work.ts): a claim that also takes
 * over a run whose lease lapsed, progress that extends the lease, and transitions that apply only while the run
 * still owns the row. Every change invalidates the metadata cache so the video object shows it at once.
 */
import { and, eq, sql, type InferSelectModel } from 'drizzle-orm';
import { invalidateVideo } from '../metadata/cache';
import { schema, type Db } from '../shared/db';
import { leasedWork } from '../shared/leased-work';
import { runtime } from '../shared/runtime';

export type DownloadRow = InferSelectModel<typeof schema.mediaDownloads>;

const table = schema.mediaDownloads;
const byKey = (videoId: string, rendition: string) => and(eq(table.videoId, videoId), eq(table.rendition, rendition));
const lease = leasedWork<typeof table, DownloadRow>(table);

export async function getDownload(db: Db, videoId: string, rendition: string): Promise<DownloadRow | undefined> {
  return db.select().from(table).where(byKey(videoId, rendition)).get();
}

export async function listDownloads(db: Db, videoId: string): Promise<DownloadRow[]> {
  return db.select().from(table).where(eq(table.videoId, videoId)).orderBy(table.rendition);
}

/** Creates the row (PENDING), or puts a FAILED one back to PENDING for a fresh try; others are left alone. */
export async function requestDownload(db: Db, videoId: string, rendition: string): Promise<DownloadRow> {
  const now = runtime().now();
  await db
    .insert(table)
    .values({ videoId, rendition, status: 'PENDING', createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [table.videoId, table.rendition],
      set: {
        status: sql`CASE WHEN ${table.status} = 'FAILED' THEN 'PENDING' ELSE ${table.status} END`,
        attempts: sql`CASE WHEN ${table.status} = 'FAILED' THEN 0 ELSE ${table.attempts} END`,
        updatedAt: now,
      },
    });
  await invalidateVideo(videoId);
  return (await getDownload(db, videoId, rendition))!;
}

export type DownloadClaim = { status: 'claimed'; row: DownloadRow } | { status: 'done' } | { status: 'busy'; leaseRemainingMs: number };

export async function claimDownload(db: Db, videoId: string, rendition: string, leaseMs: number): Promise<DownloadClaim> {
  const claimed = await lease.claim(db, byKey(videoId, rendition), leaseMs);
  if (claimed.status === 'busy' || claimed.status === 'claimed') {
    if (claimed.status === 'claimed') await invalidateVideo(videoId);
    return claimed;
  }
  return { status: 'done' };
}

export async function reportDownloadProgress(db: Db, row: DownloadRow, progress: number, leaseMs: number): Promise<void> {
  await lease.heartbeat(db, byKey(row.videoId, row.rendition), row, progress, leaseMs);
  await invalidateVideo(row.videoId);
}

/** PROCESSING → COMPLETED for this run only, with what the transcoder made. */
export async function completeDownload(db: Db, row: DownloadRow, result: { method: string; size: number; duration: number }): Promise<boolean> {
  const done = await lease.complete(db, byKey(row.videoId, row.rendition), row, { method: result.method, size: result.size, duration: result.duration });
  await invalidateVideo(row.videoId);
  return done;
}

/** Transient failure: back to PENDING with the error kept for display (the queue retries). */
export async function releaseDownload(db: Db, row: DownloadRow, error: string): Promise<void> {
  await lease.release(db, byKey(row.videoId, row.rendition), row, error);
  await invalidateVideo(row.videoId);
}

export async function failDownload(db: Db, videoId: string, rendition: string, error: string): Promise<void> {
  await lease.fail(db, byKey(videoId, rendition), error);
  await invalidateVideo(videoId);
}

/** The video was deleted: its unfinished downloads are CANCELLED. */
export async function cancelDownloadsOfVideo(db: Db, videoId: string): Promise<number> {
  return lease.cancel(db, eq(table.videoId, videoId), 'the video was deleted');
}

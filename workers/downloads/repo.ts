/**
 * `media_downloads` rows: one per (video, rung), the job state of its MP4.
 *
 *   PENDING ──claim──▶ PROCESSING ──▶ COMPLETED
 *      ▲                  │  │
 *      └──── release ─────┘  └──▶ FAILED   (the input cannot make an MP4, or attempts are used up)
 *
 * Same discipline as `transcode_jobs` (workers/transcoding/jobs.ts): the claim is a compare-and-set that also takes
 * over a PROCESSING row whose lease has lapsed (its worker died), progress extends the lease, and every
 * transition invalidates the metadata cache so the video object shows it at once.
 */
import { and, eq, lt, or, sql } from 'drizzle-orm';
import { invalidateVideo } from '../metadata/cache';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import type { InferSelectModel } from 'drizzle-orm';

export type DownloadRow = InferSelectModel<typeof schema.mediaDownloads>;

const table = schema.mediaDownloads;
const byKey = (videoId: string, rendition: string) => and(eq(table.videoId, videoId), eq(table.rendition, rendition));

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
  const now = runtime().now();
  const [row] = await db
    .update(table)
    .set({ status: 'PROCESSING', attempts: sql`${table.attempts} + 1`, leaseUntil: now + leaseMs, progress: 0, updatedAt: now })
    .where(and(byKey(videoId, rendition), or(eq(table.status, 'PENDING'), and(eq(table.status, 'PROCESSING'), lt(table.leaseUntil, now)))))
    .returning();
  if (row) {
    await invalidateVideo(videoId);
    return { status: 'claimed', row };
  }
  const current = await getDownload(db, videoId, rendition);
  if (!current || current.status === 'COMPLETED' || current.status === 'FAILED') return { status: 'done' };
  return { status: 'busy', leaseRemainingMs: Math.max(0, (current.leaseUntil ?? now) - now) };
}

const owned = (row: DownloadRow) => and(byKey(row.videoId, row.rendition), eq(table.status, 'PROCESSING'));

export async function reportDownloadProgress(db: Db, row: DownloadRow, progress: number, leaseMs: number): Promise<void> {
  const now = runtime().now();
  await db
    .update(table)
    .set({ progress: Math.max(0, Math.min(1, progress)), leaseUntil: now + leaseMs, updatedAt: now })
    .where(owned(row));
  await invalidateVideo(row.videoId);
}

export async function completeDownload(db: Db, row: DownloadRow, result: { method: string; size: number; duration: number }): Promise<void> {
  const now = runtime().now();
  await db
    .update(table)
    .set({ status: 'COMPLETED', progress: 1, error: null, leaseUntil: null, method: result.method, size: result.size, duration: result.duration, completedAt: now, updatedAt: now })
    .where(byKey(row.videoId, row.rendition));
  await invalidateVideo(row.videoId);
}

/** Transient failure: back to PENDING with the error kept for display (the queue retries). */
export async function releaseDownload(db: Db, row: DownloadRow, error: string): Promise<void> {
  const now = runtime().now();
  await db.update(table).set({ status: 'PENDING', error: error.slice(0, 1000), leaseUntil: null, updatedAt: now }).where(owned(row));
  await invalidateVideo(row.videoId);
}

export async function failDownload(db: Db, videoId: string, rendition: string, error: string): Promise<void> {
  const now = runtime().now();
  await db
    .update(table)
    .set({ status: 'FAILED', error: error.slice(0, 1000), leaseUntil: null, completedAt: now, updatedAt: now })
    .where(and(byKey(videoId, rendition), or(eq(table.status, 'PENDING'), eq(table.status, 'PROCESSING'))));
  await invalidateVideo(videoId);
}

/**
 * `transcode_jobs` state machine, one row per (video, unit):
 *
 *   PENDING ──claim──▶ PROCESSING ──▶ COMPLETED
 *      ▲                  │  │
 *      └──── release ─────┘  └──▶ FAILED   (permanent input error, or retries exhausted via the DLQ)
 *
 * - `claim` is a compare-and-set: it succeeds for a PENDING row, or for a PROCESSING row whose lease has expired
 *   (its worker crashed: the job is taken over and redone). `attempts` counts claims.
 * - The lease is extended by every progress report, so a long encode keeps its lease while it makes progress.
 * - `release` (a transient failure) puts the row back to PENDING with the error kept for display; the message is
 *   retried with backoff.
 * Every transition invalidates the metadata cache so the status API shows it at once. A job that fails for good
 * fails its video through the video state machine (metadata/video-state.ts `failVideo`).
 */
import { and, eq, gt, inArray, lt, or, sql } from 'drizzle-orm';
import { invalidateVideo } from '../metadata/cache';
import type { JobRow } from '../metadata/serialize';
import { schema, type Db } from '../shared/db';
import { newId, runtime } from '../shared/runtime';

const jobs = schema.transcodeJobs;

const byUnit = (videoId: string, unit: string) => and(eq(jobs.videoId, videoId), eq(jobs.unit, unit));

/**
 * Creates the row if missing; an existing row is left alone unless `reset` (then back to PENDING, unless COMPLETED).
 * `range`: an encode chunk's time range (end null: to the end of the stream).
 */
export async function ensureJob(db: Db, videoId: string, unit: string, reset = false, range?: { start: number; end: number | null }): Promise<void> {
  const now = runtime().now();
  const insert = db
    .insert(jobs)
    .values({ id: newId('job'), videoId, unit, status: 'PENDING', createdAt: now, updatedAt: now, rangeStart: range?.start ?? null, rangeEnd: range?.end ?? null });
  if (!reset) {
    await insert.onConflictDoNothing();
    return;
  }
  await insert.onConflictDoUpdate({
    target: [jobs.videoId, jobs.unit],
    set: { status: sql`CASE WHEN ${jobs.status} = 'COMPLETED' THEN 'COMPLETED' ELSE 'PENDING' END`, leaseUntil: null, updatedAt: now },
  });
}

/**
 * `ensureJob` for many units of one video at once (the plan after analysis): a few batched statements instead of a
 * round trip per unit, so planning a long video (hundreds of chunk units) does not delay its first chunk.
 */
export async function ensureJobs(db: Db, videoId: string, units: { unit: string; range?: { start: number; end: number | null } }[]): Promise<void> {
  const now = runtime().now();
  const rows = units.map((u) => ({ id: newId('job'), videoId, unit: u.unit, status: 'PENDING' as const, createdAt: now, updatedAt: now, rangeStart: u.range?.start ?? null, rangeEnd: u.range?.end ?? null }));
  // D1 binds at most 100 parameters per statement: 9 columns × 10 rows.
  const statements = [];
  for (let i = 0; i < rows.length; i += 10) statements.push(db.insert(jobs).values(rows.slice(i, i + 10)).onConflictDoNothing());
  if (statements.length > 0) await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
}

/** Units of a video whose job is COMPLETED. */
export async function completedUnits(db: Db, videoId: string): Promise<Set<string>> {
  const rows = await db.select({ unit: jobs.unit }).from(jobs).where(and(eq(jobs.videoId, videoId), eq(jobs.status, 'COMPLETED'))).all();
  return new Set(rows.map((r) => r.unit));
}

export type ClaimResult =
  | { status: 'claimed'; job: JobRow }
  | { status: 'completed' }
  | { status: 'failed' }
  | { status: 'busy'; leaseRemainingMs: number };

export async function claimJob(db: Db, videoId: string, unit: string, leaseMs: number): Promise<ClaimResult> {
  const now = runtime().now();
  await ensureJob(db, videoId, unit);
  const claimed = await db
    .update(jobs)
    .set({ status: 'PROCESSING', attempts: sql`${jobs.attempts} + 1`, leaseUntil: now + leaseMs, startedAt: now, progress: 0, updatedAt: now })
    .where(and(byUnit(videoId, unit), or(eq(jobs.status, 'PENDING'), and(eq(jobs.status, 'PROCESSING'), lt(jobs.leaseUntil, now)))))
    .returning();
  if (claimed[0]) {
    await invalidateVideo(videoId);
    return { status: 'claimed', job: claimed[0] };
  }
  const row = await db.select().from(jobs).where(byUnit(videoId, unit)).get();
  if (!row || row.status === 'COMPLETED') return { status: 'completed' };
  if (row.status === 'FAILED') return { status: 'failed' };
  return { status: 'busy', leaseRemainingMs: Math.max(0, (row.leaseUntil ?? now) - now) };
}

/** Records progress and extends the lease — only while this claim still owns the row (same `startedAt`). */
export async function reportProgress(db: Db, job: JobRow, progress: number, leaseMs: number): Promise<boolean> {
  const now = runtime().now();
  const updated = await db
    .update(jobs)
    .set({ progress: Math.max(0, Math.min(1, progress)), leaseUntil: now + leaseMs, updatedAt: now })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, 'PROCESSING'), eq(jobs.startedAt, job.startedAt!)))
    .returning({ id: jobs.id });
  await invalidateVideo(job.videoId);
  return updated.length > 0;
}

/**
 * PROCESSING → COMPLETED for this claim only, storing the transcoder's result: a compare-and-set, so a completion
 * delivered twice (callback retries, a taken-over run finishing late) counts once. True if this call completed it.
 */
export async function completeClaim(db: Db, job: JobRow, result: unknown): Promise<boolean> {
  const now = runtime().now();
  const done = await db
    .update(jobs)
    .set({ status: 'COMPLETED', progress: 1, error: null, leaseUntil: null, completedAt: now, updatedAt: now, result: JSON.stringify(result) })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, 'PROCESSING'), eq(jobs.startedAt, job.startedAt!)))
    .returning({ id: jobs.id });
  await invalidateVideo(job.videoId);
  return done.length > 0;
}

/**
 * A running unit's partial result (the audio track: the leading segments already uploaded), stored on its row for
 * this claim only and only when it lists more segments than the one stored, so concurrent or late posts never
 * shrink it. The final result (completeClaim) replaces it. True if stored: fan-in has something new to publish.
 */
export async function recordPartial(db: Db, job: JobRow, partial: { segmentDurations: number[] }): Promise<boolean> {
  const stored = await db
    .update(jobs)
    .set({ result: JSON.stringify(partial), updatedAt: runtime().now() })
    .where(
      and(
        eq(jobs.id, job.id),
        eq(jobs.status, 'PROCESSING'),
        eq(jobs.startedAt, job.startedAt!),
        sql`(${jobs.result} IS NULL OR coalesce(json_array_length(${jobs.result}, '$.segmentDurations'), 0) < ${partial.segmentDurations.length})`,
      ),
    )
    .returning({ id: jobs.id });
  return stored.length > 0;
}

/** Dispatched units whose lease is live: instances running (or about to) across the platform. */
export async function runningUnits(db: Db): Promise<number> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(jobs)
    .where(and(eq(jobs.status, 'PROCESSING'), gt(jobs.leaseUntil, runtime().now())))
    .get();
  return row?.n ?? 0;
}

export async function completeJob(db: Db, job: JobRow): Promise<void> {
  const now = runtime().now();
  await db
    .update(jobs)
    .set({ status: 'COMPLETED', progress: 1, error: null, leaseUntil: null, completedAt: now, updatedAt: now })
    .where(eq(jobs.id, job.id));
  await invalidateVideo(job.videoId);
}

/** Transient failure: back to PENDING (the queue retries the message), keeping the error for display. */
export async function releaseJob(db: Db, job: JobRow, error: string): Promise<void> {
  const now = runtime().now();
  await db
    .update(jobs)
    .set({ status: 'PENDING', error: error.slice(0, 1000), leaseUntil: null, updatedAt: now })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, 'PROCESSING'), eq(jobs.startedAt, job.startedAt!)));
  await invalidateVideo(job.videoId);
}

export async function failJob(db: Db, videoId: string, unit: string, error: string): Promise<void> {
  const now = runtime().now();
  await db
    .update(jobs)
    .set({ status: 'FAILED', error: error.slice(0, 1000), leaseUntil: null, completedAt: now, updatedAt: now })
    .where(and(byUnit(videoId, unit), inArray(jobs.status, ['PENDING', 'PROCESSING'])));
  await invalidateVideo(videoId);
}

export async function getJob(db: Db, videoId: string, unit: string): Promise<JobRow | undefined> {
  return db.select().from(jobs).where(byUnit(videoId, unit)).get();
}

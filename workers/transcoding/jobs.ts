/**
 * `transcode_jobs`: one row per (video, unit). This module is the only writer of the table. Its state machine is the
 * shared leased-work one (workers/shared/leased-work.ts: claim, heartbeat, complete, release, fail, cancel); this
 * module adds what is particular to transcode units — rows created from a plan, partial results of a growing unit,
 * a creator's retry, the sweeper's touch — and invalidates the metadata cache on every change so the status API
 * shows it at once. A job that fails for good fails its video through the video state machine
 * (metadata/video-state.ts `failVideo`), which its callers do.
 *
 * Business rule (no phantom work): a deleted video has no unfinished rows. The `video.deleted` hook cancels what
 * exists when the video turns DELETED (`cancelJobsOfVideo`); a write that makes a row PENDING (a plan stored by an
 * analysis that finished after the delete, a claim's first insert, an analysis re-queue, a retry) is batched with
 * `endIfVideoDeleted`, which ends the video's rows in the same transaction if it is DELETED by then. Either that
 * sees DELETED, or the delete comes later and its hook ends them; no reader ever sees such a row PENDING.
 */
import { and, eq, exists, gt, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { invalidateVideo } from '../metadata/cache';
import type { JobRow } from '../metadata/serialize';
import { schema, type Db } from '../shared/db';
import { leasedWork } from '../shared/leased-work';
import { newId, runtime } from '../shared/runtime';

const jobs = schema.transcodeJobs;
const lease = leasedWork<typeof jobs, JobRow>(jobs);
const byId = (job: JobRow) => eq(jobs.id, job.id);

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
  const write = reset
    ? insert.onConflictDoUpdate({
        target: [jobs.videoId, jobs.unit],
        set: { status: sql`CASE WHEN ${jobs.status} = 'COMPLETED' THEN 'COMPLETED' ELSE 'PENDING' END`, leaseUntil: null, updatedAt: now },
      })
    : insert.onConflictDoNothing();
  await db.batch([write, endIfVideoDeleted(db, videoId)]);
}

/** The rule above, as the last statement of a write's batch: the video's unfinished rows end if it is DELETED. */
function endIfVideoDeleted(db: Db, videoId: string) {
  const deleted = db.select({ id: schema.videos.id }).from(schema.videos).where(and(eq(schema.videos.id, videoId), eq(schema.videos.status, 'DELETED')));
  return lease.cancelStatement(db, and(eq(jobs.videoId, videoId), exists(deleted)), 'the video was deleted');
}

/**
 * `ensureJob` for many units of one video at once (the plan after analysis): a few batched statements instead of a
 * round trip per unit, so planning a long video (hundreds of chunk units) does not delay its first chunk.
 */
export async function ensureJobs(db: Db, videoId: string, units: { unit: string; range?: { start: number; end: number | null } }[]): Promise<void> {
  const now = runtime().now();
  const rows = units.map((u) => ({ id: newId('job'), videoId, unit: u.unit, status: 'PENDING' as const, createdAt: now, updatedAt: now, rangeStart: u.range?.start ?? null, rangeEnd: u.range?.end ?? null }));
  // D1 binds at most 100 parameters per statement: 9 columns × 10 rows.
  const statements: BatchItem<'sqlite'>[] = [];
  for (let i = 0; i < rows.length; i += 10) statements.push(db.insert(jobs).values(rows.slice(i, i + 10)).onConflictDoNothing());
  if (statements.length === 0) return;
  const end: BatchItem<'sqlite'> = endIfVideoDeleted(db, videoId);
  await db.batch([statements[0]!, ...statements.slice(1), end]);
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
  await ensureJob(db, videoId, unit);
  const claimed = await lease.claim(db, byUnit(videoId, unit), leaseMs);
  if (claimed.status !== 'claimed') return claimed;
  await invalidateVideo(videoId);
  return { status: 'claimed', job: claimed.row };
}

/** Records progress and extends the lease — only while this claim still owns the row (same `startedAt`). */
export async function reportProgress(db: Db, job: JobRow, progress: number, leaseMs: number): Promise<boolean> {
  const owned = await lease.heartbeat(db, byId(job), job, progress, leaseMs);
  await invalidateVideo(job.videoId);
  return owned;
}

/**
 * PROCESSING → COMPLETED for this claim only, storing the transcoder's result: a compare-and-set, so a completion
 * delivered twice (callback retries, a taken-over run finishing late) counts once. True if this call completed it.
 */
export async function completeClaim(db: Db, job: JobRow, result?: unknown): Promise<boolean> {
  const done = await lease.complete(db, byId(job), job, result === undefined ? {} : { result: JSON.stringify(result) });
  await invalidateVideo(job.videoId);
  return done;
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

/** Transient failure: back to PENDING (the queue retries the message), keeping the error for display. */
export async function releaseJob(db: Db, job: JobRow, error: string): Promise<void> {
  await lease.release(db, byId(job), job, error);
  await invalidateVideo(job.videoId);
}

/** The unit can never succeed (or its retries are used up): FAILED, whoever runs it. */
export async function failJob(db: Db, videoId: string, unit: string, error: string): Promise<void> {
  await lease.fail(db, byUnit(videoId, unit), error);
  await invalidateVideo(videoId);
}

/** The video was deleted: every unit not yet finished is CANCELLED (no phantom work for dashboards and sweeps). */
export async function cancelJobsOfVideo(db: Db, videoId: string): Promise<number> {
  return lease.cancel(db, eq(jobs.videoId, videoId), 'the video was deleted');
}

/** The analysis of a fully uploaded original: its row PENDING again (a fresh upload of the same video re-runs it). */
export async function queueAnalysisJob(db: Db, videoId: string): Promise<void> {
  const now = runtime().now();
  const write = db
    .insert(jobs)
    .values({ id: newId('job'), videoId, unit: 'analyze', status: 'PENDING', createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [jobs.videoId, jobs.unit], set: { status: 'PENDING', error: null, updatedAt: now } });
  await db.batch([write, endIfVideoDeleted(db, videoId)]);
}

/** A creator's retry of a unit: a fresh start with the whole retry budget (attempts, error and progress reset). */
export async function resetJobForRetry(db: Db, videoId: string, unit: string, range?: { start: number; end: number | null }): Promise<void> {
  await ensureJob(db, videoId, unit, false, range);
  const write = db
    .update(jobs)
    .set({ status: 'PENDING', attempts: 0, error: null, progress: 0, leaseUntil: null, updatedAt: runtime().now() })
    .where(byUnit(videoId, unit));
  await db.batch([write, endIfVideoDeleted(db, videoId)]);
  await invalidateVideo(videoId);
}

/** The sweeper re-sent these PENDING rows' messages: touched, so the next sweep does not send them again at once. */
export async function touchPendingJobs(db: Db, ids: string[], now: number): Promise<void> {
  if (ids.length === 0) return;
  await db.update(jobs).set({ updatedAt: now }).where(and(inArray(jobs.id, ids), eq(jobs.status, 'PENDING')));
}

export async function getJob(db: Db, videoId: string, unit: string): Promise<JobRow | undefined> {
  return db.select().from(jobs).where(byUnit(videoId, unit)).get();
}

/** Every unit row of a video, deleted videos included (the operators' view: GET /internal/transcoding/videos/:id/jobs). */
export async function jobsOfVideo(db: Db, videoId: string): Promise<JobRow[]> {
  return db.select().from(jobs).where(eq(jobs.videoId, videoId)).orderBy(jobs.createdAt, jobs.unit).all();
}

/**
 * Cron sweeper (every 5 minutes) for work that lost its queue message:
 * - PENDING jobs untouched for `stalePendingMs` (e.g. `startProcessing` committed the row but the queue send
 *   failed, or a retry message was lost);
 * - PROCESSING jobs whose lease expired (the worker running them crashed and no redelivery is coming).
 * Each is re-sent; the consumer's claim compare-and-set makes a duplicate message harmless. Jobs of videos that
 * are no longer worked on (worked-on.ts) are left alone.
 */
import { and, eq, lt, or } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { touchPendingJobs } from './jobs';
import { enqueueTranscode, messageForUnit, type WorkMessage } from './messages';
import { workedOnCondition } from './worked-on';

const jobs = schema.transcodeJobs;

export async function sweepTranscodeJobs(env: Env, db: Db, config: Config, limit = 100): Promise<WorkMessage[]> {
  const now = runtime().now();
  const stale = await db
    .select({ id: jobs.id, videoId: jobs.videoId, unit: jobs.unit })
    .from(jobs)
    .innerJoin(schema.videos, eq(schema.videos.id, jobs.videoId))
    .where(
      and(
        workedOnCondition(),
        or(
          and(eq(jobs.status, 'PENDING'), lt(jobs.updatedAt, now - config.transcoding.stalePendingMs)),
          and(eq(jobs.status, 'PROCESSING'), lt(jobs.leaseUntil, now)),
        ),
      ),
    )
    .limit(limit)
    .all();
  const messages = stale.map((j) => messageForUnit(j.videoId, j.unit)).filter((m): m is WorkMessage => m !== null);
  if (messages.length === 0) return [];
  await enqueueTranscode(env, messages);
  // Touch the rows so the next sweep does not re-send them before the consumer had a chance.
  await touchPendingJobs(db, stale.map((j) => j.id), now);
  return messages;
}

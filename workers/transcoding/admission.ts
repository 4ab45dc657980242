/**
 * Admission of dispatched units: how many run at once, and which waiting one starts when an instance frees up.
 *
 * - A unit is held back (its message retried after `admissionRetrySec`) while `maxRunningUnits` units hold live
 *   leases — the container `max_instances` — or, with a local pool of transcoder processes (TRANSCODER_URL lists
 *   several), while no process has a free CPU slot for an encode (light units, audio and storyboard, need none).
 * - Work-conserving: when a unit completes or is released, its instance is free, so the oldest unit still waiting
 *   for admission is sent again at once (`wakeNextWaiting`) instead of idling until its retry comes round. Its
 *   delayed message stays queued; whichever copy arrives first claims the job (a compare-and-set) and the other
 *   finds it taken. Waiting units are served in plan order (job rows in insertion order): the audio track and the
 *   lowest rung's chunks first, so a video becomes playable before its top rungs are done.
 */
import { and, eq, like, lte, or, sql } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { runningUnits } from './jobs';
import { messageForUnit } from './messages';
import type { Transcoder } from './transcoder-client';
import type { DispatchedMessage } from './units';

const jobs = schema.transcodeJobs;

/**
 * A never-claimed unit is taken as waiting for admission once its row is this old: a message that is not held back
 * is consumed within a second or two of its send, so younger units are about to be claimed anyway (waking them
 * would only double the queue traffic of every completion).
 */
const QUEUED_MS = 5000;

/** Why `message` must wait for an instance now, or null when it may be dispatched. */
export async function admissionWait(db: Db, config: Config, transcoder: Transcoder, message: DispatchedMessage): Promise<string | null> {
  if ((await runningUnits(db)) >= config.transcoding.maxRunningUnits) return `${config.transcoding.maxRunningUnits} units are running`;
  if (message.type === 'encode' && transcoder.canStartEncode && !(await transcoder.canStartEncode())) return 'no transcoder process has a free CPU slot';
  return null;
}

/**
 * An instance was freed: sends the oldest dispatched unit that is waiting for admission (PENDING, never claimed,
 * for longer than QUEUED_MS: a unit released after an error waits out its backoff instead) of a PROCESSING video.
 * The storyboard is not woken here: it waits for the lowest rung, whose completion sends it. Returns the unit sent.
 */
export async function wakeNextWaiting(env: Env, db: Db): Promise<string | null> {
  const next = await db
    .select({ videoId: jobs.videoId, unit: jobs.unit })
    .from(jobs)
    .innerJoin(schema.videos, eq(schema.videos.id, jobs.videoId))
    .where(
      and(
        eq(jobs.status, 'PENDING'),
        eq(jobs.attempts, 0),
        lte(jobs.updatedAt, runtime().now() - QUEUED_MS),
        eq(schema.videos.status, 'PROCESSING'),
        or(eq(jobs.unit, 'audio'), like(jobs.unit, 'encode:%')),
      ),
    )
    .orderBy(jobs.createdAt, sql`${jobs}.rowid`)
    .limit(1)
    .get();
  const message = next ? messageForUnit(next.videoId, next.unit) : null;
  if (!next || !message) return null;
  await env.TRANSCODE_QUEUE.send(message, { contentType: 'json' });
  return next.unit;
}

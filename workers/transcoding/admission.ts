/**
 * Admission of dispatched units: how many run at once, and which waiting one starts when an instance frees up.
 *
 * - A unit is held back (its message retried after `admissionRetrySec`) while `maxRunningUnits` units hold live
 *   leases — the container `max_instances` — or, with a local pool of transcoder processes (TRANSCODER_URL lists
 *   several), while no process has a free CPU slot for an encode (light units, audio and storyboard, need none).
 * - Admission is a queue per video, in plan order (job rows in insertion order: the audio track, then the lowest
 *   rung's chunks in time order, then the other rung groups). A unit is admitted only if fewer of the video's units
 *   wait ahead of it than there are free places; otherwise it gives way: it is held back, and the message of the
 *   first unit waiting ahead of it is sent at once to take the free place. Without this, retried messages raced each
 *   other and, with two instances, the lowest rung's chunks 13 and 29 started before chunk 1 (a viewer of a video
 *   still processing then reached the end of chunk 0 before chunk 1 existed).
 * - Work-conserving: when a unit completes or is released, its instance is free, so the oldest unit still waiting
 *   for admission is sent again at once (`wakeNextWaiting`) instead of idling until its retry comes round.
 * - Every re-send leaves the unit's delayed message queued; whichever copy arrives first claims the job (a
 *   compare-and-set) and the other finds it taken. Each give-way sends a strictly older unit, so the chain ends.
 */
import { and, eq, like, lte, or, sql } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { runningUnits } from './jobs';
import { enqueueTranscode, messageForUnit } from './messages';
import type { Transcoder } from './transcoder-client';
import type { DispatchedMessage } from './units';

const jobs = schema.transcodeJobs;

/**
 * A never-claimed unit is taken as waiting for admission once its row is this old: a message that is not held back
 * is consumed within a second or two of its send, so younger units are about to be claimed anyway (waking them
 * would only double the queue traffic of every completion).
 */
const QUEUED_MS = 5000;

/** A unit waiting for admission: PENDING and never claimed (a unit released after an error waits out its backoff). */
const waiting = and(eq(jobs.status, 'PENDING'), eq(jobs.attempts, 0), or(eq(jobs.unit, 'audio'), eq(jobs.unit, 'ladder'), like(jobs.unit, 'encode:%')));

export type Admission = { status: 'admit' } | { status: 'wait'; reason: string; giveWayTo?: string };

/**
 * Whether `message` may be dispatched now. `wait` with `giveWayTo`: places are free, but as many of the video's units
 * wait ahead of it; the caller holds it back and sends that unit's message (`sendUnit`).
 */
export async function admit(db: Db, config: Config, transcoder: Transcoder, message: DispatchedMessage, unit: string): Promise<Admission> {
  const places = config.transcoding.maxRunningUnits - (await runningUnits(db));
  if (places <= 0) return { status: 'wait', reason: `${config.transcoding.maxRunningUnits} units are running` };
  // The complexity probe encodes too: it needs a CPU slot like a chunk.
  const usesCpu = message.type === 'encode' || message.type === 'ladder';
  const slots = usesCpu && transcoder.freeEncodeSlots ? await transcoder.freeEncodeSlots() : Infinity;
  if (slots <= 0) return { status: 'wait', reason: 'no transcoder process has a free CPU slot' };
  // The video's units ahead of this one in plan order, as many as could matter.
  const ahead = await db
    .select({ unit: jobs.unit })
    .from(jobs)
    .where(and(eq(jobs.videoId, message.videoId), waiting, sql`${jobs}.rowid < (SELECT rowid FROM ${jobs} WHERE ${jobs.videoId} = ${message.videoId} AND ${jobs.unit} = ${unit})`))
    .orderBy(sql`${jobs}.rowid`)
    .limit(Math.min(places, 100))
    .all();
  if (ahead.length >= places) return { status: 'wait', reason: `${ahead.length} units of the video wait ahead of it`, giveWayTo: ahead[0]!.unit };
  // The CPU slots of a local pool go to encodes only: light units ahead do not take them.
  const encodesAhead = ahead.filter((a) => a.unit.startsWith('encode:') || a.unit === 'ladder');
  if (encodesAhead.length >= slots) return { status: 'wait', reason: `${encodesAhead.length} encodes of the video wait ahead of it`, giveWayTo: encodesAhead[0]!.unit };
  return { status: 'admit' };
}

/** Sends `unit`'s message again now (its own copy stays queued; the first to arrive claims it). */
export async function sendUnit(env: Env, videoId: string, unit: string): Promise<boolean> {
  const message = messageForUnit(videoId, unit);
  if (!message) return false;
  await enqueueTranscode(env, message);
  return true;
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
    .where(and(waiting, lte(jobs.updatedAt, runtime().now() - QUEUED_MS), eq(schema.videos.status, 'PROCESSING')))
    .orderBy(jobs.createdAt, sql`${jobs}.rowid`)
    .limit(1)
    .get();
  if (!next || !(await sendUnit(env, next.videoId, next.unit))) return null;
  return next.unit;
}

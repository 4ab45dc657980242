/**
 * Completion and progress of dispatched units, reported by the transcoder (`CallbackBody`): locally it POSTs to
 * `/internal/transcoding/callback`, from a container to the `callback.internal` host that outbound interception
 * hands to `handleTranscodeCallback` — the same code either way, behind the INTERNAL_TOKEN bearer.
 *
 * Exactly-once under at-least-once delivery:
 * - only the current claim (job id + `startedAt`) may report; an older, taken-over run gets 409 and stops;
 * - `result` completes the row with a compare-and-set: a repeated completion finds it COMPLETED and is a no-op
 *   (200, `duplicate`), so fan-in runs once per chunk, and fan-in itself is idempotent (outputs.ts);
 * - a video that is no longer worked on (deleted, failed; worked-on.ts) answers 410: the transcoder aborts the job;
 * - a `progress` may carry a `partial` result (the audio track's segments uploaded so far): the unit kind stores it
 *   (never shrinking) and fan-in publishes it, so players get the growing track;
 * - a unit that ends (completed, released or failed) frees its instance: the oldest unit waiting for admission is sent at
 *   once (admission.ts);
 * - a transient `error` releases the job and re-sends its message with backoff, until the attempts run out
 *   (then the job and the video fail with the reason); a permanent one fails them at once — except a unit whose
 *   kind carries on without it (the complexity probe: the video keeps the fixed ladder; units.ts `unitFailed`).
 */
import { countJobUsage } from '../metering/operations';
import { eq } from 'drizzle-orm';
import type { CallbackBody } from '../../containers/transcoder/src/protocol';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { loadConfig } from '../shared/config';
import { errorJson, statusOf, type ErrorCode } from '../shared/errors';
import { openDb, schema } from '../shared/db';
import { wakeNextWaiting } from './admission';
import { completeClaim, releaseJob, reportProgress } from './jobs';
import { enqueueTranscode, messageForUnit } from './messages';
import { transcodeBackoff } from './consumer';
import { isDispatched, unitFailed, unitKinds } from './units';
import { isWorkedOn } from './worked-on';

export type CallbackAnswer = { status: ContentfulStatusCode; body: Record<string, unknown> };

const errorAnswer = (code: ErrorCode, message: string): CallbackAnswer => ({ status: statusOf(code), body: { ...errorJson(code, message) } });

function parseBody(body: unknown): CallbackBody | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  const e = b.event as Record<string, unknown> | undefined;
  if (typeof b.jobId !== 'string' || typeof b.claim !== 'number' || typeof e !== 'object' || e === null) return null;
  if (e.type === 'progress' && typeof e.progress === 'number') return b as unknown as CallbackBody;
  if (e.type === 'result' && 'result' in e) return b as unknown as CallbackBody;
  if (e.type === 'error' && typeof e.message === 'string' && typeof e.permanent === 'boolean') return b as unknown as CallbackBody;
  return null;
}

export async function handleTranscodeCallback(env: Env, raw: unknown): Promise<CallbackAnswer> {
  const body = parseBody(raw);
  if (!body) return errorAnswer('bad_request', 'not a transcoder callback');
  const db = openDb(env.DB);
  const config = loadConfig(env);
  const job = await db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.id, body.jobId)).get();
  if (!job) return errorAnswer('not_found', 'no such job');
  if (job.status === 'COMPLETED') return { status: 200, body: { status: 'duplicate' } };
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, job.videoId)).get();
  if (!video || !isWorkedOn(video, job.unit)) return errorAnswer('gone', `video is ${video?.status ?? 'gone'}`);
  if (job.status !== 'PROCESSING' || job.startedAt !== body.claim) return errorAnswer('stale_claim', 'this run no longer owns the job');

  const { event } = body;
  switch (event.type) {
    case 'progress': {
      const owned = await reportProgress(db, job, event.progress, config.transcoding.jobLeaseMs);
      if (!owned) return errorAnswer('stale_claim', 'this run no longer owns the job');
      const message = event.partial === undefined ? null : messageForUnit(job.videoId, job.unit);
      if (message && isDispatched(message)) {
        const kind = unitKinds[message.type] as (typeof unitKinds)['audio'];
        await kind.partial?.({ env, db, config, video, job }, event.partial);
      }
      return { status: 200, body: { status: 'ok' } };
    }
    case 'result': {
      if (!(await completeClaim(db, job, event.result))) return { status: 200, body: { status: 'duplicate' } };
      countJobUsage(event.usage);
      const message = messageForUnit(job.videoId, job.unit);
      if (message && isDispatched(message)) {
        const kind = unitKinds[message.type] as (typeof unitKinds)['audio'];
        await kind.completed({ env, db, config, video, job });
      }
      await wakeNextWaiting(env, db);
      return { status: 200, body: { status: 'completed' } };
    }
    case 'error': {
      const message = messageForUnit(job.videoId, job.unit);
      const ctx = { env, db, config, video, job };
      if (event.permanent) {
        const goesOn = await unitFailed(ctx, message, event.message);
        await wakeNextWaiting(env, db);
        return { status: 200, body: { status: goesOn ? 'failed; the video goes on' : 'failed' } };
      }
      await releaseJob(db, job, event.message);
      await wakeNextWaiting(env, db);
      if (!message || job.attempts >= config.transcoding.maxAttempts) {
        const goesOn = await unitFailed(ctx, message, event.message, `Processing failed after ${job.attempts} attempt(s) (${job.unit}): ${event.message}`);
        return { status: 200, body: { status: goesOn ? 'failed; the video goes on' : 'failed' } };
      }
      // Sent at once; the consumer holds it back until the backoff since this error has passed (see consumer.ts).
      await enqueueTranscode(env, message);
      return { status: 200, body: { status: 'retrying', afterSeconds: transcodeBackoff(job.attempts, config) } };
    }
  }
}

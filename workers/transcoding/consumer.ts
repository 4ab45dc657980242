/**
 * Consumer of `transcode-jobs` (and of its dead-letter queue). No invocation waits for an encode: analysis (a
 * probe, seconds) runs inline; every other unit is claimed, dispatched to its own transcoder instance (202) and
 * left with the queue as its watchdog (retried after the lease), and its progress and completion come back through
 * the callback route (callback.ts). If the run is lost (instance gone, callback undeliverable), the redelivery finds
 * the lease expired and takes the unit over; if the unit completed, it is acked.
 * Every message is acked or retried explicitly:
 *
 * - unparseable (poison) body → forwarded to `transcode-jobs-dlq` at once and acked (retrying cannot fix it);
 * - job done now, already COMPLETED, permanently FAILED, or its video gone/failed → ack;
 * - job held by a live lease elsewhere → retry after the lease's remaining time (the holder may yet crash);
 * - transient failure (transcoder unreachable or killed, storage error) → job back to PENDING, retry with
 *   exponential backoff `base · 2^(attempts-1)` capped; after `maxAttempts` deliveries → forwarded to the DLQ;
 * - permanent failure (the input is not a processable video) → job and video FAILED with the reason, ack.
 *
 * The DLQ consumer marks the job and its video FAILED with the last recorded error, so nothing retries forever.
 */
import { eq } from 'drizzle-orm';
import type { AnalyzeResult } from '../../containers/transcoder/src/protocol';
import { loadConfig, type Config } from '../shared/config';
import { openDb, schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { checkAnalysed } from '../lifecycle';
import { failVideo } from '../metadata/video-state';
import { deleteR2Prefix } from '../metadata/delete';
import { deleteOriginal } from '../shared/original';
import type { JobRow, VideoRow } from '../metadata/serialize';
import { admit, sendUnit } from './admission';
import { recordLadderDecision, recordSourceFacts } from '../metadata/repo';
import { backoffSeconds } from '../shared/leased-work';
import { claimJob, completeClaim, failJob, getJob, releaseJob, reportProgress } from './jobs';
import { ladderSubject } from './ladder';
import { planAfterAnalysis, sendPlanned } from './plan';
import { enqueueTranscode, enqueueTranscodeDeadLetter, parseTranscodeMessage, unitOf, type TranscodeMessage, type WorkMessage } from './messages';
import { callbackSpec, dispatchTranscoderJob, runTranscoderJob, transcoderFor, type JobOutcome, type Transcoder } from './transcoder-client';
import { isDispatched, unitFailed, unitKinds, type DispatchedMessage } from './units';
import { isWorkedOn } from './worked-on';

export interface ConsumerDeps {
  transcoder: Transcoder;
}

type Outcome =
  | { status: 'ack'; note?: string }
  | { status: 'retry'; reason: string }
  | { status: 'wait'; delaySeconds: number }
  /** Dispatched: the message comes back after `delaySeconds` as the unit's watchdog. */
  | { status: 'dispatched'; delaySeconds: number };

interface Ctx {
  env: Env;
  db: Db;
  config: Config;
  deps: ConsumerDeps;
  video: VideoRow;
  job: JobRow;
}

export const transcodeBackoff = (attempts: number, config: Config) => backoffSeconds(attempts, config.transcoding.retryBaseDelaySec, config.transcoding.retryMaxDelaySec);

/** Progress writes are throttled: one D1 write (and lease extension) per 2 s per job at most. */
function progressWriter(ctx: Ctx): (fraction: number) => Promise<void> {
  let last = 0;
  return async (fraction) => {
    const now = runtime().now();
    if (now - last < 2000) return;
    last = now;
    await reportProgress(ctx.db, ctx.job, fraction, ctx.config.transcoding.jobLeaseMs);
  };
}

function instanceName(message: WorkMessage): string {
  return `${message.videoId}:${unitOf(message)}`;
}

async function settle<R>(ctx: Ctx, outcome: JobOutcome<R>, onResult: (result: R) => Promise<void>): Promise<Outcome> {
  if (outcome.status === 'ok') {
    await onResult(outcome.result);
    return { status: 'ack' };
  }
  if (outcome.permanent) {
    await failJob(ctx.db, ctx.video.id, ctx.job.unit, outcome.message);
    await failVideo(ctx.env, ctx.db, ctx.video.id, outcome.message);
    return { status: 'ack', note: `permanent failure: ${outcome.message}` };
  }
  await releaseJob(ctx.db, ctx.job, outcome.message);
  return { status: 'retry', reason: outcome.message };
}

/**
 * Analysis, then the plan (plan.ts): the audio track once, every chunk × rung group (the lowest rung's chunks first,
 * so the first chunks become playable early) — or, for a per-title ladder, the lowest rung's chunks and the
 * complexity probe, which plans the other groups — and the thumbnails. Job rows (with each chunk's range) first,
 * then messages, then the analyze job completes: a crash anywhere in between redoes the analysis, and the upserts
 * and the claim compare-and-set make the repeated sends harmless.
 */
async function analyzeUnit(ctx: Ctx, message: Extract<TranscodeMessage, { type: 'analyze' }>): Promise<Outcome> {
  const outcome = await runTranscoderJob<AnalyzeResult>(ctx.deps.transcoder, '/v1/analyze', { sourceKey: keys.original(message.videoId) }, instanceName(message), progressWriter(ctx));
  return settle(ctx, outcome, async (facts) => {
    await recordSourceFacts(ctx.db, message.videoId, facts);
    // A registered check (e.g. a direct upload's maxDurationSeconds) may refuse the analysed source.
    const refusal = await checkAnalysed(ctx.env, message.videoId, { duration: facts.duration });
    if (refusal) {
      await failJob(ctx.db, message.videoId, ctx.job.unit, refusal);
      await failVideo(ctx.env, ctx.db, message.videoId, refusal);
      return;
    }
    const subject = ladderSubject({ ...ctx.video, width: facts.width, height: facts.height });
    if (!subject) throw new Error('analysis recorded no picture size');
    const { units, decision } = planAfterAnalysis(ctx.config, message.videoId, subject, facts.duration);
    if (decision && !subject.decision) await recordLadderDecision(ctx.db, message.videoId, decision);
    await sendPlanned(ctx.env, ctx.db, message.videoId, units);
    await completeClaim(ctx.db, ctx.job);
  });
}

/** Claimed unit → its transcoder instance; returns once the instance accepted it. */
async function dispatchUnit(ctx: Ctx, message: DispatchedMessage): Promise<Outcome> {
  const kind = unitKinds[message.type] as (typeof unitKinds)['audio'];
  const prepared = await kind.prepare(ctx, message as never);
  if (prepared.status === 'not-yet') {
    await releaseJob(ctx.db, ctx.job, prepared.reason);
    return { status: 'retry', reason: prepared.reason };
  }
  if (prepared.status === 'invalid') {
    await failJob(ctx.db, ctx.video.id, ctx.job.unit, prepared.reason);
    return { status: 'ack', note: prepared.reason };
  }
  const body = { ...prepared.body, callback: callbackSpec(ctx.config, ctx.job.id, ctx.job.startedAt!, ctx.job.attempts) };
  const outcome = await dispatchTranscoderJob(ctx.deps.transcoder, prepared.path, body, instanceName(message));
  if (outcome.status === 'failed') {
    await releaseJob(ctx.db, ctx.job, outcome.message);
    return { status: 'retry', reason: outcome.message };
  }
  // The watchdog: this message comes back once the lease could have expired (see the file comment).
  return { status: 'dispatched', delaySeconds: Math.min(43_200, Math.ceil(ctx.config.transcoding.jobLeaseMs / 1000) + 1) };
}

/** A deleted video's prefix, swept again after the uploads that were in flight at deletion have landed. */
async function purge(env: Env, db: Db, config: Config, videoId: string): Promise<Outcome> {
  const video = await db.select({ status: schema.videos.status, deletedAt: schema.videos.deletedAt }).from(schema.videos).where(eq(schema.videos.id, videoId)).get();
  if (video && video.status !== 'DELETED') return { status: 'ack', note: `video is ${video.status}; not purged` };
  const wait = (video?.deletedAt ?? 0) + config.transcoding.purgeDelaySec * 1000 - runtime().now();
  if (wait > 0) return { status: 'wait', delaySeconds: Math.ceil(wait / 1000) };
  await deleteR2Prefix(env.MEDIA, keys.videoPrefix(videoId));
  await deleteOriginal(env.MEDIA, videoId);
  return { status: 'ack', note: 'purged' };
}

async function processMessage(env: Env, db: Db, config: Config, deps: ConsumerDeps, message: TranscodeMessage): Promise<Outcome> {
  if (message.type === 'purge') return purge(env, db, config, message.videoId);
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, message.videoId)).get();
  if (!video) return { status: 'ack', note: 'unknown video' };
  // Only PROCESSING videos are worked on (and a READY live recording's storyboard: worked-on.ts): a DELETED or
  // FAILED video's leftover messages are dropped (retrying a rendition moves the video back to PROCESSING first).
  const unit = unitOf(message);
  if (!isWorkedOn(video, unit)) return { status: 'ack', note: `video is ${video.status}` };
  if (isDispatched(message)) {
    const current = await getJob(db, video.id, unit);
    if (current?.status === 'COMPLETED' || current?.status === 'FAILED') return { status: 'ack', note: `job already ${current.status}` };
    // Backoff after a reported transient error: the re-sent message waits (queue retry delays, not delayed sends).
    if (current?.status === 'PENDING' && current.error && current.attempts > 0) {
      const wait = current.updatedAt + transcodeBackoff(current.attempts, config) * 1000 - runtime().now();
      if (wait > 0) return { status: 'wait', delaySeconds: Math.ceil(wait / 1000) };
    }
    // Admission: at most `maxRunningUnits` instances at once (the container max_instances); see admission.ts.
    if (current?.status !== 'PROCESSING') {
      const admission = await admit(db, config, deps.transcoder, message, unit);
      if (admission.status === 'wait') {
        if (admission.giveWayTo) await sendUnit(env, video.id, admission.giveWayTo);
        return { status: 'wait', delaySeconds: config.transcoding.admissionRetrySec };
      }
    }
    // A unit that needs another's output (the storyboard needs the lowest rung) is not claimed before it exists: the
    // message is dropped, and the unit it waits for sends a fresh one when it completes (units.ts; the sweeper
    // re-sends a PENDING job whose message was lost). No polling: wrangler dev's queue broker stalled under
    // repeated delayed redeliveries.
    const blocked = current?.status === 'PROCESSING' ? null : await unitKinds[message.type].blockedBy?.({ env, db, config, video });
    if (blocked) return { status: 'ack', note: blocked };
  }
  const claim = await claimJob(db, video.id, unit, config.transcoding.jobLeaseMs);
  if (claim.status === 'completed' || claim.status === 'failed') return { status: 'ack', note: `job already ${claim.status}` };
  if (claim.status === 'busy') return { status: 'wait', delaySeconds: Math.ceil(claim.leaseRemainingMs / 1000) + 1 };
  const ctx: Ctx = { env, db, config, deps, video, job: claim.job };
  try {
    return message.type === 'analyze' ? await analyzeUnit(ctx, message) : await dispatchUnit(ctx, message);
  } catch (err) {
    const reason = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    console.error(`transcode ${unit} for ${video.id} threw`, err);
    await releaseJob(db, claim.job, reason).catch(() => undefined);
    return { status: 'retry', reason };
  }
}

export async function handleTranscodeBatch(batch: MessageBatch<unknown>, env: Env, deps: ConsumerDeps = { transcoder: transcoderFor(env, loadConfig(env)) }): Promise<void> {
  const config = loadConfig(env);
  const db = openDb(env.DB);
  for (const msg of batch.messages) {
    const message = parseTranscodeMessage(msg.body);
    if (!message) {
      console.error(`poison message ${msg.id} on ${batch.queue}: forwarding to the dead-letter queue`);
      await enqueueTranscodeDeadLetter(env, msg.body);
      msg.ack();
      continue;
    }
    const outcome = await processMessage(env, db, config, deps, message);
    if (outcome.status === 'ack') {
      msg.ack();
    } else if (outcome.status === 'dispatched') {
      // Redelivered as the watchdog, within the retry budget (past it, the sweeper watches the lease instead).
      if (msg.attempts < config.transcoding.maxAttempts) msg.retry({ delaySeconds: outcome.delaySeconds });
      else msg.ack();
    } else if (outcome.status === 'wait') {
      // Waiting (a live lease elsewhere, or admission) is not a failure: past the retry budget, a fresh copy waits.
      if (msg.attempts >= config.transcoding.maxAttempts) {
        await enqueueTranscode(env, message, { delaySeconds: outcome.delaySeconds });
        msg.ack();
      } else msg.retry({ delaySeconds: outcome.delaySeconds });
    } else if (msg.attempts >= config.transcoding.maxAttempts && message.type !== 'purge') {
      console.error(`${unitOf(message)} for ${message.videoId} failed ${msg.attempts} times: dead-lettering (${outcome.reason})`);
      await enqueueTranscodeDeadLetter(env, message);
      msg.ack();
    } else {
      msg.retry({ delaySeconds: transcodeBackoff(msg.attempts, config) });
    }
  }
}

/** `transcode-jobs-dlq`: the job and its video fail with the last recorded reason; then the message is done. */
export async function handleDeadLetterBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = openDb(env.DB);
  for (const msg of batch.messages) {
    const message = parseTranscodeMessage(msg.body);
    if (!message) {
      console.error(`dead-lettered poison message ${msg.id}: ${JSON.stringify(msg.body).slice(0, 500)}`);
      msg.ack();
      continue;
    }
    if (message.type === 'purge') {
      msg.ack();
      continue;
    }
    const unit = unitOf(message);
    const job = await getJob(db, message.videoId, unit);
    if (job?.status === 'COMPLETED') {
      msg.ack();
      continue;
    }
    const last = job?.error ?? 'no error recorded';
    const reason = `Processing failed after ${job?.attempts ?? 0} attempt(s) (${unit}): ${last}`;
    const video = await db.select().from(schema.videos).where(eq(schema.videos.id, message.videoId)).get();
    if (job && video) await unitFailed({ env, db, config: loadConfig(env), video, job }, message, last, reason);
    else {
      await failJob(db, message.videoId, unit, last);
      await failVideo(env, db, message.videoId, reason);
    }
    msg.ack();
  }
}

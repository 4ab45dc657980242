/**
 * Consumer of `transcode-jobs` (and of its dead-letter queue). Every message is acked or retried explicitly:
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
import type { AnalyzeResult, EncodeRequest, EncodeResult, ThumbnailsRequest, ThumbnailsResult } from '../../containers/transcoder/src/protocol';
import { loadConfig, type Config } from '../shared/config';
import { openDb, schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { invalidateVideo } from '../metadata/cache';
import { checkAnalysed, onVideoFailed } from '../lifecycle';
import type { JobRow, VideoRow } from '../metadata/serialize';
import { claimJob, completeJob, ensureJob, failJob, failVideo, getJob, releaseJob, reportProgress } from './jobs';
import { encodeGroups, planLadder } from './ladder';
import { parseTranscodeMessage, unitOf, type TranscodeMessage } from './messages';
import { maybeMarkReady, recordRendition, writeMasterCopy } from './outputs';
import { runTranscoderJob, transcoderFor, type JobOutcome, type Transcoder } from './transcoder-client';

export interface ConsumerDeps {
  transcoder: Transcoder;
}

type Outcome = { status: 'ack'; note?: string } | { status: 'retry'; reason: string } | { status: 'wait'; delaySeconds: number };

interface Ctx {
  env: Env;
  db: Db;
  config: Config;
  deps: ConsumerDeps;
  video: VideoRow;
  job: JobRow;
}

export function backoffSeconds(attempts: number, config: Config): number {
  const { retryBaseDelaySec, retryMaxDelaySec } = config.transcoding;
  return Math.min(retryMaxDelaySec, Math.round(retryBaseDelaySec * 2 ** Math.max(0, attempts - 1)));
}

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

function instanceName(message: TranscodeMessage): string {
  return `${message.videoId}:${unitOf(message)}`;
}

async function settle<R>(ctx: Ctx, outcome: JobOutcome<R>, onResult: (result: R) => Promise<void>): Promise<Outcome> {
  if (outcome.status === 'ok') {
    await onResult(outcome.result);
    return { status: 'ack' };
  }
  if (outcome.permanent) {
    await failJob(ctx.db, ctx.video.id, ctx.job.unit, outcome.message);
    if (await failVideo(ctx.db, ctx.video.id, outcome.message)) await onVideoFailed(ctx.env, ctx.video.id);
    return { status: 'ack', note: `permanent failure: ${outcome.message}` };
  }
  await releaseJob(ctx.db, ctx.job, outcome.message);
  return { status: 'retry', reason: outcome.message };
}

const handlers: { [K in TranscodeMessage['type']]: (ctx: Ctx, message: Extract<TranscodeMessage, { type: K }>) => Promise<Outcome> } = {
  async analyze(ctx, message) {
    const outcome = await runTranscoderJob<AnalyzeResult>(ctx.deps.transcoder, '/v1/analyze', { sourceKey: keys.original(message.videoId) }, instanceName(message), progressWriter(ctx));
    return settle(ctx, outcome, async (facts) => {
      const now = runtime().now();
      await ctx.db
        .update(schema.videos)
        .set({
          duration: facts.duration,
          width: facts.width,
          height: facts.height,
          rotation: facts.rotation,
          frameRate: facts.frameRate,
          hasAudio: facts.hasAudio,
          videoCodec: facts.videoCodec,
          audioCodec: facts.audioCodec,
          updatedAt: now,
        })
        .where(eq(schema.videos.id, message.videoId));
      // A registered check (e.g. a direct upload's maxDurationSeconds) may refuse the analysed source.
      const refusal = await checkAnalysed(ctx.env, message.videoId, { duration: facts.duration });
      if (refusal) {
        await failJob(ctx.db, message.videoId, ctx.job.unit, refusal);
        if (await failVideo(ctx.db, message.videoId, refusal)) await onVideoFailed(ctx.env, message.videoId);
        return;
      }
      // Job rows first, then messages, then the analyze job completes: a crash anywhere in between redoes the
      // analysis, and the upserts and the claim compare-and-set make the repeated sends harmless.
      const plan = planLadder(ctx.config.transcoding.ladder, facts.width, facts.height, ctx.config.transcoding);
      const followUps: TranscodeMessage[] = [
        ...encodeGroups(plan, ctx.config.transcoding.firstRungSeparately).map((rungs): TranscodeMessage => ({ type: 'encode', videoId: message.videoId, rungs })),
        { type: 'thumbnails', videoId: message.videoId },
      ];
      for (const m of followUps) await ensureJob(ctx.db, m.videoId, unitOf(m));
      const pending: TranscodeMessage[] = [];
      for (const m of followUps) if ((await getJob(ctx.db, m.videoId, unitOf(m)))?.status !== 'COMPLETED') pending.push(m);
      if (pending.length) await ctx.env.TRANSCODE_QUEUE.sendBatch(pending.map((body) => ({ body, contentType: 'json' as const })));
      await completeJob(ctx.db, ctx.job);
    });
  },

  async encode(ctx, message) {
    const { video, config } = ctx;
    if (!video.width || !video.height || !video.duration) {
      await releaseJob(ctx.db, ctx.job, 'waiting for analysis');
      return { status: 'retry', reason: 'video has not been analysed yet' };
    }
    const plan = planLadder(config.transcoding.ladder, video.width, video.height, config.transcoding);
    const rungs = message.rungs.map((name) => plan.find((r) => r.name === name));
    if (rungs.some((r) => !r)) {
      const reason = `rendition(s) ${message.rungs.join(', ')} are not in this video's ladder`;
      await failJob(ctx.db, video.id, ctx.job.unit, reason);
      return { status: 'ack', note: reason };
    }
    const request: EncodeRequest = {
      sourceKey: keys.original(video.id),
      rungs: rungs.map((r) => ({ ...r!, outputPrefix: keys.renditionPrefix(video.id, r!.name) })),
      segmentDurationSec: config.transcoding.segmentDurationSec,
      audioBitrate: config.transcoding.audioBitrate,
      x264Preset: config.transcoding.x264Preset,
      sourceDuration: video.duration,
      sourceHasAudio: video.hasAudio ?? false,
      sourceFrameRate: video.frameRate ?? 30,
      maxFrameRate: config.transcoding.maxFrameRate,
    };
    const outcome = await runTranscoderJob<EncodeResult>(ctx.deps.transcoder, '/v1/encode', request, instanceName(message), progressWriter(ctx));
    return settle(ctx, outcome, async (result) => {
      for (const r of result.renditions) await recordRendition(ctx.env, ctx.db, video.id, r);
      await completeJob(ctx.db, ctx.job);
      await writeMasterCopy(ctx.env, ctx.db, video.id);
      await maybeMarkReady(ctx.env, ctx.db, config, video.id);
    });
  },

  async thumbnails(ctx, message) {
    const { video, config } = ctx;
    if (!video.width || !video.height || !video.duration) {
      await releaseJob(ctx.db, ctx.job, 'waiting for analysis');
      return { status: 'retry', reason: 'video has not been analysed yet' };
    }
    const t = config.transcoding.thumbnails;
    const intervalSec = Math.max(t.intervalSec, Math.ceil(video.duration / t.maxTiles));
    const tileHeight = Math.max(2, Math.round((t.tileWidth * video.height) / video.width / 2) * 2);
    const request: ThumbnailsRequest = {
      sourceKey: keys.original(video.id),
      outputPrefix: keys.thumbnailsPrefix(video.id),
      sourceDuration: video.duration,
      intervalSec,
      tileWidth: t.tileWidth,
      tileHeight,
      columns: t.columns,
      rows: t.rows,
      posterMaxHeight: t.posterMaxHeight,
    };
    const outcome = await runTranscoderJob<ThumbnailsResult>(ctx.deps.transcoder, '/v1/thumbnails', request, instanceName(message), progressWriter(ctx));
    return settle(ctx, outcome, async () => {
      await completeJob(ctx.db, ctx.job);
      await maybeMarkReady(ctx.env, ctx.db, config, video.id);
    });
  },
};

async function processMessage(env: Env, db: Db, config: Config, deps: ConsumerDeps, message: TranscodeMessage): Promise<Outcome> {
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, message.videoId)).get();
  if (!video) return { status: 'ack', note: 'unknown video' };
  // Only PROCESSING videos are worked on: a DELETED or FAILED video's leftover messages are dropped (retrying a
  // rendition moves the video back to PROCESSING first).
  if (video.status !== 'PROCESSING') return { status: 'ack', note: `video is ${video.status}` };
  const unit = unitOf(message);
  const claim = await claimJob(db, video.id, unit, config.transcoding.jobLeaseMs);
  if (claim.status === 'completed' || claim.status === 'failed') return { status: 'ack', note: `job already ${claim.status}` };
  if (claim.status === 'busy') return { status: 'wait', delaySeconds: Math.ceil(claim.leaseRemainingMs / 1000) + 1 };
  const ctx: Ctx = { env, db, config, deps, video, job: claim.job };
  try {
    // The map is exhaustive over `type`; the cast only re-links each message to its own handler.
    const handler = handlers[message.type] as (ctx: Ctx, m: TranscodeMessage) => Promise<Outcome>;
    return await handler(ctx, message);
  } catch (err) {
    const reason = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    console.error(`transcode ${unit} for ${video.id} threw`, err);
    await releaseJob(db, claim.job, reason).catch(() => undefined);
    return { status: 'retry', reason };
  }
}

export async function handleTranscodeBatch(batch: MessageBatch<unknown>, env: Env, deps: ConsumerDeps = { transcoder: transcoderFor(env) }): Promise<void> {
  const config = loadConfig(env as unknown as Record<string, unknown>);
  const db = openDb(env.DB);
  for (const msg of batch.messages) {
    const message = parseTranscodeMessage(msg.body);
    if (!message) {
      console.error(`poison message ${msg.id} on ${batch.queue}: forwarding to the dead-letter queue`);
      await env.TRANSCODE_DLQ.send(msg.body, { contentType: 'json' });
      msg.ack();
      continue;
    }
    const outcome = await processMessage(env, db, config, deps, message);
    if (outcome.status === 'ack') {
      msg.ack();
    } else if (outcome.status === 'wait') {
      if (msg.attempts >= config.transcoding.maxAttempts) msg.ack(); // the sweeper takes over if that lease expires
      else msg.retry({ delaySeconds: outcome.delaySeconds });
    } else if (msg.attempts >= config.transcoding.maxAttempts) {
      console.error(`${unitOf(message)} for ${message.videoId} failed ${msg.attempts} times: dead-lettering (${outcome.reason})`);
      await env.TRANSCODE_DLQ.send(message, { contentType: 'json' });
      msg.ack();
    } else {
      msg.retry({ delaySeconds: backoffSeconds(msg.attempts, config) });
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
    const unit = unitOf(message);
    const job = await getJob(db, message.videoId, unit);
    if (job?.status === 'COMPLETED') {
      msg.ack();
      continue;
    }
    const last = job?.error ?? 'no error recorded';
    const reason = `Processing failed after ${job?.attempts ?? 0} attempt(s) (${unit}): ${last}`;
    await failJob(db, message.videoId, unit, last);
    if (await failVideo(db, message.videoId, reason)) await onVideoFailed(env, message.videoId);
    await invalidateVideo(message.videoId);
    msg.ack();
  }
}

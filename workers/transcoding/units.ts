/**
 * The dispatched unit kinds (encode chunk, audio, complexity probe, thumbnails): how each one's transcoder request is built from
 * its job row and the video's facts, and what its result does once it comes back through the callback.
 * A new kind of work (e.g. an MP4 download) is one more entry here plus its message type: the consumer, the
 * callback route, leases, retries and the sweeper handle every kind the same way.
 */
import type { AudioRequest, AudioResult, EncodeRequest, ThumbnailsRequest } from '../../containers/transcoder/src/protocol';
import { ladderUnit } from './ladder-unit';
import { schema } from '../shared/db';
import { AUDIO_RENDITION, keys } from '../shared/storage-keys';
import { storyboardIntervalSec } from '../shared/storyboard';
import { and, eq } from 'drizzle-orm';
import type { VideoRow } from '../metadata/serialize';
import { chunkFromRange } from './chunks';
import { awaitsProbe, ladderSubject, videoLadder } from './ladder';
import { enqueueTranscode, type WorkMessage } from './messages';
import { failJob, recordPartial } from './jobs';
import { failVideo } from '../metadata/video-state';
import { maybeMarkReady, refreshRenditions } from './outputs';
import type { DispatchedMessage, Prepared, UnitCtx, UnitKind } from './unit-kind';

export type { DispatchedMessage, Prepared, UnitCtx, UnitKind } from './unit-kind';

const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** The shape of an `AudioResult` (partial or final): what fan-in reads from the row. */
export function isAudioResult(v: unknown): v is AudioResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const durations = r.segmentDurations;
  const sizes = r.segmentSizes;
  return (
    typeof r.codecs === 'string' && /^mp4a\.40\.\d{1,2}$/.test(r.codecs) &&
    Array.isArray(durations) && durations.length > 0 && durations.every(positive) &&
    Array.isArray(sizes) && sizes.length === durations.length && sizes.every(positive) &&
    positive(r.bandwidth) && positive(r.averageBandwidth) && positive(r.totalBytes)
  );
}

const analysed = (video: VideoRow): video is VideoRow & { width: number; height: number; duration: number } =>
  Boolean(video.width && video.height && video.duration);

/** The lowest rung of the video's ladder and its rendition row (null until a chunk of it is in). */
async function lowestRung(ctx: Omit<UnitCtx, 'job'>): Promise<{ name: string; complete: boolean; segmentCount: number } | null> {
  const { video, config, db } = ctx;
  const subject = ladderSubject(video);
  if (!subject) return null;
  const low = videoLadder(config, subject)[0];
  if (!low) return null;
  const row = await db
    .select({ complete: schema.renditions.complete, segmentCount: schema.renditions.segmentCount })
    .from(schema.renditions)
    .where(and(eq(schema.renditions.videoId, video.id), eq(schema.renditions.name, low.name)))
    .get();
  return { name: low.name, complete: row?.complete ?? false, segmentCount: row?.segmentCount ?? 0 };
}

/**
 * Rebuilds the renditions (fan-in) and acts on what that call finalised. Every caller goes through here: a rung may
 * be finalised by a chunk's completion or by an audio partial that finally covers it (the rung's chunks were all in
 * and waited for the audio), and either way the storyboard (made from the lowest rung) must be sent once.
 */
async function publish(ctx: UnitCtx): Promise<boolean> {
  const outcome = await refreshRenditions(ctx.env, ctx.db, ctx.config, ctx.video.id);
  if (outcome.status !== 'ok') return false;
  // The lowest rung just became final: the storyboard (made from it) can start now.
  const low = await lowestRung(ctx);
  if (low && outcome.finalised.includes(low.name)) await enqueueTranscode(ctx.env, { type: 'thumbnails', videoId: ctx.video.id });
  return true;
}

async function fanIn(ctx: UnitCtx): Promise<void> {
  if (await publish(ctx)) await maybeMarkReady(ctx.env, ctx.db, ctx.config, ctx.video.id);
}

export const unitKinds: { [K in DispatchedMessage['type']]: UnitKind<Extract<DispatchedMessage, { type: K }>> } = {
  encode: {
    prepare({ video, config, job }, message) {
      const subject = ladderSubject(video);
      if (!analysed(video) || !subject) return { status: 'not-yet', reason: 'video has not been analysed yet' };
      const plan = videoLadder(config, subject);
      const rungs = message.rungs.map((name) => plan.find((r) => r.name === name));
      if (rungs.some((r) => !r)) return { status: 'invalid', reason: `rendition(s) ${message.rungs.join(', ')} are not in this video's ladder` };
      if (awaitsProbe(subject) && rungs.some((r) => r!.crf === undefined)) return { status: 'not-yet', reason: 'waiting for the complexity probe to choose the CRF' };
      const d = config.transcoding.segmentDurationSec;
      // The row's range is the plan; a row from before chunking (no range) is the whole timeline.
      const chunk = chunkFromRange(message.chunk, job.rangeStart ?? 0, job.rangeStart === null ? null : job.rangeEnd, d);
      const body: EncodeRequest = {
        sourceKey: keys.original(video.id),
        rungs: rungs.map((r) => ({ ...r!, outputPrefix: keys.renditionPrefix(video.id, r!.name) })),
        chunk,
        segmentDurationSec: d,
        ...(subject.packaging === 'cmaf' ? { packaging: 'cmaf' as const } : {}),
        x264Preset: config.transcoding.x264Preset,
        ...(rungs.some((r) => r!.codec !== undefined) ? { hevcPreset: config.transcoding.hevcPreset, av1CpuUsed: config.transcoding.av1CpuUsed } : {}),
        sourceDuration: video.duration,
        sourceFrameRate: video.frameRate ?? 30,
        maxFrameRate: config.transcoding.maxFrameRate,
      };
      return { status: 'ready', path: '/v1/encode', body: { ...body } };
    },
    completed: fanIn,
  },

  audio: {
    prepare({ video, config }) {
      if (!analysed(video)) return { status: 'not-yet', reason: 'video has not been analysed yet' };
      const body: AudioRequest = {
        sourceKey: keys.original(video.id),
        outputPrefix: keys.renditionPrefix(video.id, AUDIO_RENDITION),
        segmentDurationSec: config.transcoding.segmentDurationSec,
        audioBitrate: config.transcoding.audioBitrate,
        sourceDuration: video.duration,
        sourceHasAudio: video.hasAudio ?? false,
        readRate: config.transcoding.audioReadRate,
        ...(video.packaging === 'cmaf' ? { packaging: 'cmaf' as const } : {}),
      };
      return { status: 'ready', path: '/v1/audio', body: { ...body } };
    },
    completed: fanIn,
    /**
     * The segments uploaded so far: stored on the row and published as a growing audio playlist, so the first
     * video chunks play before the whole source's audio is encoded (time to first playable stays flat with length).
     */
    async partial(ctx, partial) {
      if (!isAudioResult(partial)) return;
      if (await recordPartial(ctx.db, ctx.job, partial)) await publish(ctx);
    },
  },

  ladder: ladderUnit,

  /**
   * The storyboard frames are decoded from the lowest rung's segments (decoded anyway by nobody else, and a small
   * fraction of the source's decoding cost: a 720p camera file costs about half a CPU-second per second to decode),
   * so the unit starts once that rung is finalised (its message before then is dropped, and the rung's finalisation
   * sends a new one); the poster still comes from the source.
   */
  thumbnails: {
    async blockedBy(ctx) {
      if (ctx.video.liveInputId) return null;
      const low = await lowestRung(ctx);
      return low && !low.complete ? `waiting for ${low.name}: the storyboard is made from its segments` : null;
    },
    async prepare(ctx) {
      const { video, config } = ctx;
      if (video.liveInputId) return recordingStoryboard(ctx);
      if (!analysed(video)) return { status: 'not-yet', reason: 'video has not been analysed yet' };
      const low = await lowestRung(ctx);
      const frames = low?.complete && low.segmentCount > 0 ? { name: low.name, segmentCount: low.segmentCount, packaging: video.packaging } : null;
      return thumbnailsRequest(video.id, config, { duration: video.duration, width: video.width, height: video.height }, frames, keys.original(video.id));
    },
    async completed(ctx) {
      if (!ctx.video.liveInputId) await maybeMarkReady(ctx.env, ctx.db, ctx.config, ctx.video.id);
    },
    /** A recording plays without its storyboard (its poster is cut from its segments on request). */
    async failed(ctx) {
      return ctx.video.liveInputId !== null;
    },
  },
};

/**
 * A live recording's storyboard (READY already; worked-on.ts): its frames are decoded from its lowest rung, and
 * no poster is made (there is no original; the poster is cut from the segments on request: workers/frames).
 */
async function recordingStoryboard(ctx: UnitCtx): Promise<Prepared> {
  const { video, config, db } = ctx;
  const rows = await db
    .select({ name: schema.renditions.name, width: schema.renditions.width, height: schema.renditions.height, segmentCount: schema.renditions.segmentCount, packaging: schema.renditions.packaging })
    .from(schema.renditions)
    .where(and(eq(schema.renditions.videoId, video.id), eq(schema.renditions.kind, 'video'), eq(schema.renditions.complete, true)));
  const low = rows.filter((r) => r.segmentCount > 0).sort((a, b) => a.height - b.height)[0];
  if (!low || !video.duration) return { status: 'invalid', reason: 'the recording has no complete rung to make a storyboard from' };
  return thumbnailsRequest(video.id, config, { duration: video.duration, width: low.width, height: low.height }, low);
}

/**
 * The transcoder's thumbnails request: the storyboard's grid and tiles (`size` gives their aspect), its frames decoded
 * from the rung `frames` when given (CMAF: its init segment first, which makes the stream one fragmented MP4), else
 * from the source; a poster from `sourceKey` when given.
 */
function thumbnailsRequest(
  videoId: string, config: UnitCtx['config'], size: { duration: number; width: number; height: number },
  frames: { name: string; segmentCount: number; packaging: VideoRow['packaging'] } | null, sourceKey?: string,
): Prepared {
  const t = config.transcoding.thumbnails;
  const cmaf = frames?.packaging === 'cmaf';
  const framesFrom = frames
    ? [...(cmaf ? [keys.init(videoId, frames.name)] : []), ...Array.from({ length: frames.segmentCount }, (_, n) => keys.segment(videoId, frames.name, n, frames.packaging))]
    : undefined;
  const body: ThumbnailsRequest = {
    ...(sourceKey ? { sourceKey } : {}),
    outputPrefix: keys.thumbnailsPrefix(videoId),
    sourceDuration: size.duration,
    intervalSec: storyboardIntervalSec(size.duration, t),
    tileWidth: t.tileWidth,
    tileHeight: Math.max(2, Math.round((t.tileWidth * size.height) / size.width / 2) * 2),
    columns: t.columns,
    rows: t.rows,
    posterMaxHeight: t.posterMaxHeight,
    ...(framesFrom ? { framesFrom } : {}),
    ...(cmaf ? { framesPackaging: 'cmaf' as const } : {}),
  };
  return { status: 'ready', path: '/v1/thumbnails', body: { ...body } };
}

/**
 * A unit failed for good with `reason`: its kind may carry on without it (the complexity probe: the fixed ladder);
 * otherwise the job and the video fail. Returns whether the video goes on.
 */
export async function unitFailed(ctx: UnitCtx, message: WorkMessage | null, reason: string, videoReason = reason): Promise<boolean> {
  const kind = message && isDispatched(message) ? (unitKinds[message.type] as UnitKind<DispatchedMessage>) : null;
  await failJob(ctx.db, ctx.video.id, ctx.job.unit, reason);
  if (kind?.failed && (await kind.failed(ctx, reason))) return true;
  await failVideo(ctx.env, ctx.db, ctx.video.id, videoReason);
  return false;
}

export function isDispatched(message: WorkMessage): message is DispatchedMessage {
  return message.type !== 'analyze';
}

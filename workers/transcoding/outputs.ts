/**
 * What finished jobs leave behind, and when a video is READY.
 *
 * A rendition row is upserted on (video_id, name) from the finished chunks (fan-in, `refreshRenditions`); when
 * its last chunk is in, segments beyond the final count (from an earlier, longer run) are deleted — so a redone
 * chunk overwrites the same keys and leaves no duplicates or stale segments. The first row makes the video
 * playable (progressive availability); READY needs every planned rung finalised, the audio rendition and the
 * thumbnails. The PROCESSING → READY move is the state machine's compare-and-set (metadata/video-state.ts), so
 * `video.ready` is emitted once per readiness.
 */
import { and, eq, sql } from 'drizzle-orm';
import { invalidateVideo } from '../metadata/cache';
import { acceptsOutputs } from '../metadata/delete';
import { failVideo, markReady } from '../metadata/video-state';
import { buildMasterPlaylist, buildMediaPlaylist, HLS_CONTENT_TYPE, toPlayable } from '../playback/manifest';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { AUDIO_RENDITION, keys, parseSegmentFileName } from '../shared/storage-keys';
import type { AudioResult, EncodeResult, RenditionResult } from '../../containers/transcoder/src/protocol';
import { ladderSubject, videoLadder } from './ladder';
import type { VideoRow } from '../metadata/serialize';
import { parseEncodeUnit } from './messages';

/** Deletes `segment_N.ts` objects with N ≥ count under a rendition's prefix. */
export async function deleteStaleSegments(bucket: R2Bucket, videoId: string, rendition: string, count: number): Promise<number> {
  const prefix = keys.renditionPrefix(videoId, rendition);
  const stale: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) {
      const n = parseSegmentFileName(o.key.slice(prefix.length));
      if (n !== null && n >= count) stale.push(o.key);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  for (let i = 0; i < stale.length; i += 1000) await bucket.delete(stale.slice(i, i + 1000));
  return stale.length;
}

type RenditionInsert = typeof schema.renditions.$inferInsert;

/**
 * Upserts a rendition row, never shrinking it: a refresh that read fewer finished chunks than one already applied
 * (two completions racing) cannot take segments away from the playlist.
 */
async function upsertRendition(db: Db, row: Omit<RenditionInsert, 'createdAt' | 'complete'>): Promise<boolean> {
  const { videoId: _v, name: _n, ...set } = row;
  const written = await db
    .insert(schema.renditions)
    .values({ ...row, complete: false, createdAt: runtime().now() })
    .onConflictDoUpdate({ target: [schema.renditions.videoId, schema.renditions.name], set, setWhere: sql`excluded.segment_count >= ${schema.renditions.segmentCount}` })
    .returning({ name: schema.renditions.name });
  return written.length > 0;
}

/** complete false → true, once: the caller that wins writes the final (ENDLIST) playlist and drops stale segments. */
async function finalise(db: Db, videoId: string, name: string): Promise<boolean> {
  const moved = await db
    .update(schema.renditions)
    .set({ complete: true })
    .where(and(eq(schema.renditions.videoId, videoId), eq(schema.renditions.name, name), eq(schema.renditions.complete, false)))
    .returning({ name: schema.renditions.name });
  return moved.length > 0;
}

async function writePlaylistCopy(env: Env, videoId: string, name: string, durations: number[], complete: boolean, packaging: RenditionInsert['packaging']): Promise<void> {
  await env.MEDIA.put(keys.mediaPlaylist(videoId, name), buildMediaPlaylist({ segmentDurations: durations, complete, packaging }), { httpMetadata: { contentType: HLS_CONTENT_TYPE } });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** How far the audio's segment ends may fall short of a video boundary and still cover it (one AAC frame is 21 ms). */
const AUDIO_COVER_SLACK_SEC = 0.1;
const peak = (sizes: number[], durations: number[]) => Math.max(0, ...sizes.map((s, k) => Math.ceil((s * 8) / Math.max(durations[k]!, 0.001))));

function parseResult<T>(json: string | null): T | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as T;
  } catch {
    return null;
  }
}

export type RefreshOutcome = { status: 'ok'; finalised: string[] } | { status: 'failed'; reason: string };

/**
 * Fan-in. Rebuilds every rung's rendition row and playlist from the COMPLETED chunk jobs (their stored results),
 * so it is idempotent and order-free: any completion, repeated or concurrent, may call it.
 * - A rung's playlist is the contiguous prefix of finished chunks (a growing EVENT playlist: the first chunks play
 *   while the rest encode); when every chunk is in, it is finalised exactly once (VOD, ENDLIST).
 * - The audio rendition grows the same way: while its unit runs, the row holds the partial result it reported (the
 *   segments already uploaded) as an EVENT playlist; its completion finalises it once.
 * - Every variant references the audio, so a rung's row appears only once the audio covers the rung's first chunk
 *   (or is complete): the first chunk plays with its sound, and the audio encode (up to TRANSCODE_AUDIO_READ_RATE× real
 *   time) stays ahead.
 * - Segment numbers must continue across chunks (`firstSegment` of each chunk = segments before it); a chunk past
 *   the end of the streams contributes none.
 * - A finished rung much shorter than the analysed duration means the file is truncated: the video fails.
 */
export async function refreshRenditions(env: Env, db: Db, config: Config, videoId: string): Promise<RefreshOutcome> {
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, videoId)).get();
  if (!video || video.status !== 'PROCESSING' || !video.width || !video.height) return { status: 'ok', finalised: [] };
  const jobs = await db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, videoId)).all();
  // The audio job's result: final once COMPLETED, before that the partial one it reported (segments uploaded so far).
  const audioJob = jobs.find((j) => j.unit === 'audio' && (j.status === 'COMPLETED' || j.status === 'PROCESSING' || j.status === 'PENDING'));
  const audio = parseResult<AudioResult>(audioJob?.result ?? null);
  if (!audioJob || !audio || audio.segmentDurations.length === 0) return { status: 'ok', finalised: [] };
  const audioComplete = audioJob.status === 'COMPLETED';
  const audioSec = sum(audio.segmentDurations);
  const finalised: string[] = [];

  const packaging = video.packaging;
  const audioGrew = await upsertRendition(db, {
    videoId, name: AUDIO_RENDITION, kind: 'audio', packaging, width: 0, height: 0, bandwidth: audio.bandwidth, averageBandwidth: audio.averageBandwidth,
    codecs: audio.codecs, frameRate: null, segmentCount: audio.segmentDurations.length, segmentDurations: JSON.stringify(audio.segmentDurations), totalBytes: audio.totalBytes,
  });
  if (audioComplete && (await finalise(db, videoId, AUDIO_RENDITION))) {
    await writePlaylistCopy(env, videoId, AUDIO_RENDITION, audio.segmentDurations, true, packaging);
    await deleteStaleSegments(env.MEDIA, videoId, AUDIO_RENDITION, audio.segmentDurations.length);
    finalised.push(AUDIO_RENDITION);
  } else if (!audioComplete && audioGrew) {
    await writePlaylistCopy(env, videoId, AUDIO_RENDITION, audio.segmentDurations, false, packaging);
  }

  const encodes = jobs.map((j) => ({ job: j, unit: parseEncodeUnit(j.unit) })).filter((e) => e.unit !== null);
  const chunkCount = Math.max(0, ...encodes.map((e) => e.unit!.chunk + 1));
  for (const rung of plannedRungs(config, video)) {
    const byChunk = new Map<number, { r: RenditionResult; firstSegment: number }>();
    for (const { job, unit } of encodes) {
      if (job.status !== 'COMPLETED' || !unit!.rungs.includes(rung.name)) continue;
      const result = parseResult<EncodeResult>(job.result);
      const r = result?.renditions.find((x) => x.name === rung.name);
      if (result && r) byChunk.set(unit!.chunk, { r, firstSegment: result.chunk.firstSegment });
    }
    const durations: number[] = [];
    const sizes: number[] = [];
    let first: RenditionResult | null = null;
    let done = 0;
    for (; done < chunkCount; done++) {
      const c = byChunk.get(done);
      if (!c) break;
      if (c.r.segmentDurations.length === 0) continue;
      if (c.firstSegment !== durations.length) {
        return fail(env, db, videoId, `The video has a gap in ${rung.name} at chunk ${done}: expected segment ${durations.length}, got ${c.firstSegment}.`);
      }
      first ??= c.r;
      durations.push(...c.r.segmentDurations);
      sizes.push(...c.r.segmentSizes);
    }
    if (!first || durations.length === 0) continue;
    // CMAF: one init segment per rung in R2, written by every chunk; they must all have written the same bytes.
    const inits = new Set([...byChunk.values()].filter((c) => c.r.segmentDurations.length > 0).map((c) => c.r.initSha256 ?? ''));
    if (packaging === 'cmaf' && inits.size > 1) {
      return fail(env, db, videoId, `The chunks of ${rung.name} wrote different init segments; its segments cannot be played as one stream.`);
    }
    // Not before the audio covers the first chunk (AAC frames end within a frame of the video's boundaries).
    if (!audioComplete && audioSec < sum(first.segmentDurations) - AUDIO_COVER_SLACK_SEC) continue;
    const complete = done === chunkCount;
    const total = sum(durations);
    if (complete && video.duration && total < video.duration * 0.9 - 0.5) {
      return fail(env, db, videoId, `Only ${total.toFixed(1)} s of the ${video.duration.toFixed(1)} s video could be decoded; the file looks truncated or corrupt.`);
    }
    const totalBytes = sum(sizes);
    const grew = await upsertRendition(db, {
      videoId, name: rung.name, kind: 'video', packaging, width: first.width, height: first.height,
      bandwidth: peak(sizes, durations) + audio.bandwidth,
      averageBandwidth: Math.ceil((totalBytes * 8) / Math.max(total, 0.001)) + audio.averageBandwidth,
      codecs: `${first.codecs.split(',')[0]},${audio.codecs}`, frameRate: first.frameRate,
      segmentCount: durations.length, segmentDurations: JSON.stringify(durations), totalBytes,
    });
    if (complete && (await finalise(db, videoId, rung.name))) {
      await writePlaylistCopy(env, videoId, rung.name, durations, true, packaging);
      await deleteStaleSegments(env.MEDIA, videoId, rung.name, durations.length);
      finalised.push(rung.name);
    } else if (!complete && grew) {
      await writePlaylistCopy(env, videoId, rung.name, durations, false, packaging);
    }
  }
  await invalidateVideo(videoId);
  await writeMasterCopy(env, db, videoId);
  return { status: 'ok', finalised };
}

async function fail(env: Env, db: Db, videoId: string, reason: string): Promise<RefreshOutcome> {
  await failVideo(env, db, videoId, reason);
  return { status: 'failed', reason };
}

/**
 * Rewrites `videos/{id}/master.m3u8` from the current rows with playback's manifest module: a convenience copy,
 * byte-identical to what playback serves for a video without caption or extra audio tracks and with an undetermined
 * original language (D1 rows are the contract; playback never reads this object).
 */
export async function writeMasterCopy(env: Env, db: Db, videoId: string): Promise<void> {
  if (!(await acceptsOutputs(env.DB, videoId))) return;
  const rows = await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)).all();
  const playable = rows.map(toPlayable).filter((r) => r !== null);
  if (!playable.some((r) => r.kind === 'video')) return;
  await env.MEDIA.put(keys.masterPlaylist(videoId), buildMasterPlaylist(playable), { httpMetadata: { contentType: HLS_CONTENT_TYPE } });
}

/** The video's rungs (every codec), from its analysed size, its ladder settings and the configured ladder. */
function plannedRungs(config: Config, video: VideoRow) {
  const subject = ladderSubject(video);
  return subject ? videoLadder(config, subject) : [];
}

/** Names of the rungs this video must have to be READY. */
export function plannedRungNames(config: Config, video: VideoRow): string[] {
  return plannedRungs(config, video).map((r) => r.name);
}

/** PROCESSING → READY once every planned rung has a row and the thumbnails are done; true if this call moved it. */
export async function maybeMarkReady(env: Env, db: Db, config: Config, videoId: string): Promise<boolean> {
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, videoId)).get();
  if (!video || video.status !== 'PROCESSING') return false;
  const planned = plannedRungNames(config, video);
  if (planned.length === 0) return false;
  const rows = await db.select({ name: schema.renditions.name, complete: schema.renditions.complete }).from(schema.renditions).where(eq(schema.renditions.videoId, videoId)).all();
  const have = new Set(rows.filter((r) => r.complete).map((r) => r.name));
  // Every rung finalised, and the audio rendition they reference.
  if (!planned.every((name) => have.has(name)) || !have.has(AUDIO_RENDITION)) return false;
  const thumbs = await db
    .select({ status: schema.transcodeJobs.status })
    .from(schema.transcodeJobs)
    .where(and(eq(schema.transcodeJobs.videoId, videoId), eq(schema.transcodeJobs.unit, 'thumbnails')))
    .get();
  if (thumbs?.status !== 'COMPLETED') return false;
  return markReady(env, db, videoId);
}

/** A live broadcast's rung as its ingest published it (workers/live): every segment so far, in order. */
export interface LiveRung {
  videoId: string;
  name: string;
  width: number;
  height: number;
  codecs: string;
  segmentDurations: number[];
  totalBytes: number;
  peakBandwidth: number;
  discontinuities: number[];
  windowStart: number;
  /** The first segment the rung does not have (the broadcast dropped it while live); null: it has every one. */
  gapFrom: number | null;
}

/**
 * Writes a live rung's row (this module is the renditions table's writer). While live it is not complete: an
 * ENDLIST-less, growing playlist; `complete` makes it the recording's VOD rung and writes its playlist copy.
 */
export async function recordLiveRung(env: Env, db: Db, rung: LiveRung, complete: boolean): Promise<void> {
  // The average is over the segments it has: a dropped rung's gaps are listed but hold no bytes.
  const seconds = sum(rung.gapFrom === null ? rung.segmentDurations : rung.segmentDurations.slice(0, rung.gapFrom));
  const row = {
    videoId: rung.videoId, name: rung.name, kind: 'video' as const, width: rung.width, height: rung.height,
    bandwidth: Math.max(1, Math.round(rung.peakBandwidth)), averageBandwidth: Math.max(1, Math.round(seconds > 0 ? (rung.totalBytes * 8) / seconds : 0)),
    codecs: rung.codecs, frameRate: null, segmentCount: rung.segmentDurations.length, segmentDurations: JSON.stringify(rung.segmentDurations),
    totalBytes: rung.totalBytes, discontinuities: rung.discontinuities.length ? JSON.stringify(rung.discontinuities) : null, windowStart: complete ? 0 : rung.windowStart,
    gapFrom: complete ? null : rung.gapFrom,
  };
  const { videoId: _v, name: _n, ...set } = row;
  await db
    .insert(schema.renditions)
    .values({ ...row, complete, createdAt: runtime().now() })
    .onConflictDoUpdate({ target: [schema.renditions.videoId, schema.renditions.name], set: { ...set, complete } });
  if (complete) {
    await env.MEDIA.put(keys.mediaPlaylist(rung.videoId, rung.name), buildMediaPlaylist({ segmentDurations: rung.segmentDurations, discontinuities: rung.discontinuities, complete: true }), { httpMetadata: { contentType: HLS_CONTENT_TYPE } });
  }
}

/**
 * A live rung the broadcast dropped (workers/live/ladder.ts), once the broadcast is over: its row goes, so the
 * recording's master does not list it (while live it stays, its playlist growing with gaps).
 */
export async function removeLiveRung(db: Db, videoId: string, name: string): Promise<void> {
  await db.delete(schema.renditions).where(and(eq(schema.renditions.videoId, videoId), eq(schema.renditions.name, name)));
}

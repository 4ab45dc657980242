/**
 * Thumbnails at any time: `/v/{id}/t/{token}/thumbnails/at.jpg?time=12.5&width=640`.
 *
 * - Canonical form: the time snaps to the nearest point of the storyboard's grid (every 2 s, at most 400 points
 *   whatever the length: shared/storyboard.ts), then to that point's frame (frame = round(t · fps)); the width to the
 *   nearest of `frames.widths` (capped at the top rung's width; the height keeps the aspect, even). The edge cache
 *   key is `/v/{id}/thumbnails/at_f{frame}_w{width}.jpg`, so `time=12.5` and `time=12.9` share one entry, and no
 *   query can make a video hold more than 401 × 7 frames: a one-hour film (a point every 9 s) offers that many cuts,
 *   not the 750,000 distinct (frame, width) pairs of exact times.
 * - Cost: a frame that is neither in the edge cache nor in R2 is cut by the transcoder, and spends one of the
 *   requesting address's `frames.cutsPerWindow` (views/allowances.ts, 429 with Retry-After past it). Cached and
 *   stored frames are free.
 * - Origin: on a miss the frame is first looked up in R2 (`videos/{id}/frames/…`, written by an earlier cut, in any
 *   location), else cut by the transcoder (`POST /v1/frame`): it reads the one segment holding that time, from the
 *   smallest rung at least as wide as asked, through the storage gateway, and decodes from the segment's opening
 *   keyframe to the frame (`-ss` after the segment start: exact, not the nearest keyframe). The JPEG is written to R2
 *   and served; R2 copies live under the video's prefix, so they go with the video.
 * - A time past the end is a 400 (the last frame is `duration − 1/fps`); clips use their own timeline.
 * - The poster: when the creator set `posterTime` (PATCH /v1/videos/:id), for a clip, or for a live broadcast and its
 *   recording, `thumbnails/poster.jpg` is this frame at that time instead of the transcoder's poster.
 */
import { apiError, badRequest } from '../shared/errors';
import type { Config } from '../shared/config';
import { keys, publicPaths } from '../shared/storage-keys';
import { codecOfCodecs } from '../shared/rendition-names';
import type { OriginObject } from '../playback/edge-cache';
import type { PlayableRendition } from '../playback/manifest';
import { lifetime } from '../playback/objects';
import type { PlaybackObject } from '../playback/paths';
import type { PlaybackState } from '../playback/state';
import { transcoderFor } from '../transcoding/transcoder-client';
import { addStoredBytes } from '../metadata/repo';
import { openDb } from '../shared/db';
import { storyboardIntervalSec } from '../shared/storyboard';
import { takeFrameAllowance } from '../views/allowances';

export interface FrameSpec {
  frame: number;
  /** The frame's time on the video's timeline, seconds. */
  time: number;
  width: number;
  height: number;
  rendition: PlayableRendition;
  segmentKey: string;
  /** CMAF: the rendition's init segment, read before the segment. */
  initKey?: string;
  /** Seconds from the segment's start to the frame. */
  offset: number;
}

const even = (x: number) => Math.max(2, Math.round(x / 2) * 2);

/**
 * Frames are cut from the H.264 rungs (every video has them; the other codecs only add rungs of the same sizes),
 * except a live rung with gaps (dropped by its broadcast), which does not have every segment.
 */
const h264Rungs = (state: PlaybackState) =>
  [...state.renditions.values()].filter((r) => r.kind === 'video' && codecOfCodecs(r.codecs) === 'h264' && r.gapFrom === undefined);

function topRung(state: PlaybackState): PlayableRendition {
  const rungs = h264Rungs(state).sort((a, b) => a.width - b.width);
  const top = rungs[rungs.length - 1];
  if (!top) throw apiError('conflict', 'video has no finished rendition to cut a frame from');
  return top;
}

/** The canonical width for `asked` (or the default), capped at what the video has. */
export function canonicalWidth(asked: number | null, topWidth: number, config: Config): number {
  const widths: readonly number[] = config.frames.widths;
  const target = asked ?? config.frames.defaultWidth;
  let best = widths[0]!;
  for (const w of widths) if (Math.abs(w - target) < Math.abs(best - target) || (Math.abs(w - target) === Math.abs(best - target) && w > best)) best = w;
  if (best <= topWidth) return best;
  const fitting = widths.filter((w) => w <= topWidth);
  return fitting.length ? fitting[fitting.length - 1]! : even(topWidth);
}

/**
 * The frame for `time` at about `askedWidth`. `snap: 'grid'` (anyone's at.jpg) rounds the time to the storyboard's
 * grid first; `'frame'` (the creator's chosen poster time) keeps the exact frame.
 */
export function frameSpec(state: PlaybackState, time: number, askedWidth: number | null, config: Config, snap: 'grid' | 'frame'): FrameSpec {
  const top = topRung(state);
  const fps = top.frameRate && top.frameRate > 0 ? top.frameRate : (state.video.frameRate ?? 30);
  const duration = top.segmentDurations.reduce((a, b) => a + b, 0);
  if (!Number.isFinite(time) || time < 0) throw badRequest('time must be a non-negative number of seconds');
  if (time > duration) throw badRequest(`time ${time} is past the end of the video (${Math.round(duration * 1000) / 1000} s)`);
  const step = storyboardIntervalSec(duration, config.transcoding.thumbnails);
  const wanted = snap === 'grid' ? Math.round(time / step) * step : time;
  // One frame of margin before the very last: written durations are rounded to the millisecond.
  const lastFrame = Math.max(0, Math.ceil(duration * fps - 1e-6) - 2);
  const frame = Math.min(Math.round(wanted * fps), lastFrame);
  const at = frame / fps;
  const width = canonicalWidth(askedWidth, top.width, config);
  // The smallest rung at least as wide as the frame: least to read and decode, no upscaling.
  const rendition = h264Rungs(state).sort((a, b) => a.width - b.width).find((r) => r.width >= width) ?? top;
  const height = even((width * rendition.height) / rendition.width);
  let start = 0;
  let index = 0;
  while (index < rendition.segmentDurations.length - 1 && start + rendition.segmentDurations[index]! <= at) start += rendition.segmentDurations[index++]!;
  const segmentKey = keys.segment(state.segmentsOf, rendition.name, (rendition.firstSegment ?? 0) + index, rendition.packaging);
  const initKey = rendition.packaging === 'cmaf' ? keys.init(state.segmentsOf, rendition.name) : undefined;
  return { frame, time: at, width, height, rendition, segmentKey, ...(initKey ? { initKey } : {}), offset: Math.max(0, at - start) };
}

export const frameCacheKeyPath = (videoId: string, spec: FrameSpec) => publicPaths.frame(videoId, spec.frame, spec.width);

/**
 * Poster frame, at the poster width: the creator's `posterTime`; unless set, a clip's first frame, and for a live
 * broadcast or its recording (no original, so no transcoder poster) the frame the transcoder would pick for a file:
 * at 10 % of the duration, at most 10 s in (containers/transcoder/src/thumbnails.ts).
 */
export function posterSpec(state: PlaybackState, config: Config): FrameSpec | null {
  const { posterTime, clipOf, liveInputId } = state.video;
  if (posterTime === null && !clipOf && !liveInputId) return null;
  const duration = topRung(state).segmentDurations.reduce((a, b) => a + b, 0);
  const time = posterTime ?? (clipOf ? 0 : Math.min(duration * 0.1, 10));
  return frameSpec(state, Math.min(time, duration), config.frames.posterWidth, config, 'frame');
}

function jpeg(body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>, size: number, cacheControl: string, etag: string): OriginObject {
  const stream = body instanceof Uint8Array ? new Response(body).body! : body;
  return {
    body: stream,
    headers: new Headers({ 'Content-Type': 'image/jpeg', 'Content-Length': String(size), 'Cache-Control': cacheControl, ETag: etag }),
  };
}

/**
 * The frame's JPEG: from R2 when an earlier request cut it, else cut now by the transcoder and stored. A cut on
 * behalf of a client (`client`: its allowance key) spends that client's frame allowance first; the creator's
 * chosen poster (one frame per posterTime they set) does not.
 */
export async function produceFrame(env: Env, config: Config, videoId: string, spec: FrameSpec, cacheControl: string, client: string | null): Promise<OriginObject> {
  const key = keys.frame(videoId, spec.frame, spec.width);
  const stored = await env.MEDIA.get(key);
  if (stored) return jpeg(stored.body, stored.size, cacheControl, stored.httpEtag);
  if (client !== null) await takeFrameAllowance(env, config, client);
  const body = { segmentKey: spec.segmentKey, ...(spec.initKey ? { initKey: spec.initKey } : {}), offset: Math.round(spec.offset * 1000) / 1000, width: spec.width, height: spec.height };
  let res: Response;
  try {
    res = await transcoderFor(env, config).post('/v1/frame', body, `frame:${videoId}`);
  } catch (err) {
    throw apiError('unavailable', `frame extraction is unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (res.status !== 200 || res.headers.get('Content-Type') !== 'image/jpeg') {
    const text = (await res.text().catch(() => '')).slice(0, 200);
    throw apiError('frame_failed', `the transcoder could not cut the frame (${res.status}): ${text}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const written = await env.MEDIA.put(key, bytes, { httpMetadata: { contentType: 'image/jpeg' } });
  await addStoredBytes(openDb(env.DB), videoId, bytes.byteLength);
  return jpeg(bytes, bytes.byteLength, cacheControl, written?.httpEtag ?? `"f${spec.frame}w${spec.width}"`);
}

type FrameObject = Extract<PlaybackObject, { kind: 'frame' }>;

/** `thumbnails/at.jpg`: the canonical frame, cached like the rest of the video; a cut spends `client`'s allowance. */
export function produceFrameObject(env: Env, config: Config, state: PlaybackState, object: FrameObject, client: string): Promise<OriginObject> {
  return produceFrame(env, config, object.videoId, frameSpec(state, object.time, object.width, config, 'grid'), lifetime(state, config), client);
}

/** `thumbnails/poster.jpg` when the creator chose a poster time (or the video is a clip); null otherwise. */
export function producePoster(env: Env, config: Config, state: PlaybackState): Promise<OriginObject> | null {
  const spec = posterSpec(state, config);
  return spec ? produceFrame(env, config, state.video.id, spec, config.frames.posterCacheControl, null) : null;
}

export function frameCacheKey(state: PlaybackState, object: FrameObject, config: Config): string {
  return frameCacheKeyPath(object.videoId, frameSpec(state, object.time, object.width, config, 'grid'));
}

/**
 * Cache warming and purging.
 *
 * - `video.ready`: the master (and a CMAF video's DASH manifest and init segments), every media playlist and the
 *   first `warmFirstSeconds` (30 s) of every rung, so the first viewers start from the cache. READY playlists replace the short-lived copies cached while processing.
 * - Trending (cron, every 5 min): the top `trendingCount` (100) videos by views over the last 24 h, at the
 *   `trendingRenditions` (720p, 1080p) they have, for the first half of their segments (the production design: most viewers do
 *   not finish). Objects already cached cost one cache lookup, no R2 read. A run touches at most
 *   `warmBudgetPerRun` objects, which keeps it inside the Workers subrequest limit.
 * - Deletion: the Cache API has no prefix purge, so every key the video could have is deleted explicitly, from
 *   its renditions rows (playlists, segments) and its thumbnails listing in R2.
 *
 * The Cache API is per location: warming and purging act on the location where they run. Other locations fill
 * on first request and, for a deleted video, stop finding it in R2 (its objects are deleted right after).
 */
import type { Config } from '../shared/config';
import { openDb } from '../shared/db';
import { keys } from '../shared/storage-keys';
import { trendingVideoIds } from '../views/trending';
import { cacheUrl, purge, warm } from './edge-cache';
import { segmentsCovering } from './manifest';
import type { PlaybackExtensions } from './extensions';
import { assertPlayable, produceObject } from './objects';
import { canonicalPath, type PlaybackObject } from './paths';
import { forgetPlaybackState, loadPlaybackState, type PlaybackState } from './state';

export interface WarmReport {
  filled: number;
  present: number;
  failed: number;
}

interface WarmItem {
  object: PlaybackObject;
  state: PlaybackState;
  /** Playlists of a READY video overwrite whatever (short-lived) copy is cached. */
  replace: boolean;
}

async function runWarm(env: Env, config: Config, extensions: PlaybackExtensions, items: WarmItem[]): Promise<WarmReport> {
  const report: WarmReport = { filled: 0, present: 0, failed: 0 };
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        const outcome = await warm(cacheUrl(canonicalPath(item.object)), () => produceObject(env, config, extensions, item.state, item.object), item.replace);
        report[outcome]++;
      } catch (err) {
        report.failed++;
        console.warn(`warming ${canonicalPath(item.object)} failed`, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, config.playback.warmConcurrency) }, worker));
  return report;
}

const isCmaf = (state: PlaybackState) => [...state.renditions.values()].some((r) => r.packaging === 'cmaf');

/** The master, the DASH manifest of a CMAF video, and the media playlists of `rungs`. */
function playlistItems(state: PlaybackState, rungs: string[]): WarmItem[] {
  const replace = state.video.status === 'READY';
  const videoId = state.video.id;
  return [
    { object: { kind: 'master', videoId }, state, replace },
    ...(isCmaf(state) ? [{ object: { kind: 'dash', videoId }, state, replace } satisfies WarmItem] : []),
    ...rungs.map((rendition): WarmItem => ({ object: { kind: 'media', videoId, rendition }, state, replace })),
  ];
}

/** The first `count` segments of a rung, after its init segment (CMAF). */
function segmentItems(state: PlaybackState, rendition: string, count: number): WarmItem[] {
  const packaging = state.renditions.get(rendition)?.packaging ?? 'ts';
  const init: WarmItem[] = packaging === 'cmaf' ? [{ object: { kind: 'init', videoId: state.video.id, rendition }, state, replace: false }] : [];
  return init.concat(
    Array.from({ length: count }, (_, index): WarmItem => ({
      object: { kind: 'segment', videoId: state.video.id, rendition, index, packaging },
      state,
      replace: false,
    })),
  );
}

async function playableState(env: Env, videoId: string): Promise<PlaybackState | null> {
  forgetPlaybackState(videoId);
  const state = await loadPlaybackState(openDb(env.DB), videoId);
  try {
    return assertPlayable(state);
  } catch {
    return null;
  }
}

export async function warmVideo(env: Env, config: Config, extensions: PlaybackExtensions, videoId: string): Promise<WarmReport> {
  const state = await playableState(env, videoId);
  if (!state) return { filled: 0, present: 0, failed: 0 };
  const rungs = [...state.renditions.values()];
  const items = playlistItems(state, rungs.map((r) => r.name));
  for (const r of rungs) items.push(...segmentItems(state, r.name, segmentsCovering(r.segmentDurations, config.playback.warmFirstSeconds)));
  return runWarm(env, config, extensions, items);
}

export async function warmTrending(env: Env, config: Config, extensions: PlaybackExtensions, nowMs: number): Promise<WarmReport & { videos: number; truncated: boolean }> {
  const ids = await trendingVideoIds(openDb(env.DB), nowMs, config.playback.trendingCount);
  const items: WarmItem[] = [];
  const budget = config.playback.warmBudgetPerRun;
  let videos = 0;
  for (const id of ids) {
    if (items.length >= budget) break;
    const state = await playableState(env, id);
    if (!state) continue;
    const rungs = config.playback.trendingRenditions.filter((name) => state.renditions.has(name));
    if (rungs.length === 0) continue;
    videos++;
    items.push(...playlistItems(state, rungs));
    for (const name of rungs) {
      const count = state.renditions.get(name)!.segmentDurations.length;
      items.push(...segmentItems(state, name, Math.max(1, Math.floor(count * config.playback.trendingWarmFraction))));
    }
  }
  const truncated = items.length > budget;
  if (truncated) console.warn(`trending warm: budget of ${budget} objects reached; warming the first ${budget} of ${items.length}`);
  return { ...(await runWarm(env, config, extensions, items.slice(0, budget))), videos, truncated };
}

/** Every cache key a video can have. Run before its R2 objects are deleted (thumbnails are listed from R2). */
export async function purgeVideo(env: Env, videoId: string): Promise<number> {
  forgetPlaybackState(videoId);
  const state = await loadPlaybackState(openDb(env.DB), videoId);
  const paths: string[] = [canonicalPath({ kind: 'master', videoId })];
  if (state && isCmaf(state)) paths.push(canonicalPath({ kind: 'dash', videoId }));
  for (const r of state?.renditions.values() ?? []) {
    paths.push(canonicalPath({ kind: 'media', videoId, rendition: r.name }));
    if (r.packaging === 'cmaf') paths.push(canonicalPath({ kind: 'init', videoId, rendition: r.name }));
    r.segmentDurations.forEach((_, index) => paths.push(canonicalPath({ kind: 'segment', videoId, rendition: r.name, index, packaging: r.packaging })));
  }
  const thumbnails = new Set(['poster.jpg', 'storyboard.vtt']);
  const prefix = keys.thumbnailsPrefix(videoId);
  let cursor: string | undefined;
  do {
    const page = await env.MEDIA.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) thumbnails.add(o.key.slice(prefix.length));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  for (const file of thumbnails) paths.push(canonicalPath({ kind: 'thumbnail', videoId, file }));
  return purge(paths.map(cacheUrl));
}

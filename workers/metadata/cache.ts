/**
 * Cache-aside metadata cache (the production design's `video:meta:{id}`), on the Workers Cache API.
 *
 * - TTL: 1 h ± 10% jitter, so entries written together do not expire together.
 * - Stampede protection: concurrent misses for the same video in this isolate share one D1 load (single-flight);
 *   a later reader waits for the first one's load for at most `FOLLOWER_WAIT_MS` (the load is another request's
 *   promise: shared/shared-work.ts), and only if it has not landed by then reads D1 itself.
 * - Invalidation: every write to a video, its renditions or its jobs calls `invalidateVideo`.
 * - Degradation: if the cache throws, reads fall through to D1 (the production design's circuit-breaker fallback).
 *
 * The Cache API is per data centre: an edit invalidates the local copy at once, other locations within the TTL.
 * Status changes that players depend on (READY, DELETED) are read from D1 by playback routes, not from here.
 */
import { runtime } from '../shared/runtime';
import { waitAtMost } from '../shared/shared-work';
import type { Config } from '../shared/config';
import type { VideoRecord } from './serialize';

const CACHE_NAME = 'video-meta';
const cacheUrl = (videoId: string) => `https://video-meta.internal/v1/${encodeURIComponent(videoId)}`;

/**
 * Loads in flight, one per video. An invalidation marks the video's current load stale (and forgets it), so a load
 * that started before an edit never writes its result back. Entries live only while their load runs: nothing here
 * grows with the number of videos an isolate has seen.
 */
interface Flight {
  promise: Promise<VideoRecord | null>;
  stale: boolean;
}
const inFlight = new Map<string, Flight>();

/** How long a reader waits for another request's load of the same video before it reads D1 itself. */
const FOLLOWER_WAIT_MS = 1000;

export type Loader = (videoId: string) => Promise<VideoRecord | null>;

/** TTL in seconds with uniform ±jitter. */
export function jitteredTtl(baseSec: number, jitterFraction: number, random = runtime().random): number {
  return Math.max(1, Math.round(baseSec * (1 + jitterFraction * (random() * 2 - 1))));
}

async function openCache(): Promise<Cache | null> {
  try {
    return await caches.open(CACHE_NAME);
  } catch (err) {
    console.warn('metadata cache unavailable', err);
    return null;
  }
}

async function readCached(videoId: string): Promise<VideoRecord | null | undefined> {
  const cache = await openCache();
  if (!cache) return undefined;
  try {
    const hit = await cache.match(cacheUrl(videoId));
    return hit ? ((await hit.json()) as VideoRecord) : undefined;
  } catch (err) {
    console.warn('metadata cache read failed', err);
    return undefined;
  }
}

async function writeCached(videoId: string, record: VideoRecord, ttlSec: number): Promise<void> {
  const cache = await openCache();
  if (!cache) return;
  try {
    await cache.put(
      cacheUrl(videoId),
      new Response(JSON.stringify(record), {
        headers: { 'Content-Type': 'application/json', 'Cache-Control': `max-age=${ttlSec}` },
      }),
    );
  } catch (err) {
    console.warn('metadata cache write failed', err);
  }
}

export async function getVideoRecord(videoId: string, load: Loader, config: Config): Promise<VideoRecord | null> {
  const cached = await readCached(videoId);
  if (cached) return cached;

  const pending = inFlight.get(videoId);
  if (pending) {
    const shared = await waitAtMost(pending.promise, FOLLOWER_WAIT_MS);
    return shared === 'timeout' ? load(videoId) : shared;
  }

  const flight: Flight = { promise: Promise.resolve(null), stale: false };
  flight.promise = (async () => {
    // Double-check: another request may have filled the cache while this one was reading it.
    const again = await readCached(videoId);
    if (again) return again;
    const record = await load(videoId);
    if (record && !flight.stale) {
      const { ttlSec, jitterFraction } = config.metadataCache;
      await writeCached(videoId, record, jitteredTtl(ttlSec, jitterFraction));
    }
    return record;
  })().finally(() => {
    if (inFlight.get(videoId) === flight) inFlight.delete(videoId);
  });
  inFlight.set(videoId, flight);
  return flight.promise;
}

export async function invalidateVideo(videoId: string): Promise<void> {
  const flight = inFlight.get(videoId);
  if (flight) flight.stale = true;
  inFlight.delete(videoId);
  const cache = await openCache();
  try {
    await cache?.delete(cacheUrl(videoId));
  } catch (err) {
    console.warn('metadata cache invalidation failed', err);
  }
}

import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { api } from './helpers';
import { addRendition, playableVideo, setStatus, signedBase, signedMasterPath } from './playback-fixtures';
import { onVideoReady } from '../../workers/lifecycle';
import { handleScheduled, CRON_EVERY_5_MIN } from '../../workers/scheduled';
import { cacheUrl } from '../../workers/playback/edge-cache';
import { trendingVideoIds } from '../../workers/views/trending';
import { openDb, schema } from '../../workers/shared/db';
import { keys, publicPaths } from '../../workers/shared/storage-keys';
import { defaults } from '../../workers/shared/config';

const cache = () => (caches as unknown as { default: Cache }).default;

async function xcache(path: string): Promise<string | null> {
  const res = await api(path);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return res.headers.get('X-Cache');
}

async function isCached(path: string): Promise<boolean> {
  const hit = await cache().match(cacheUrl(path));
  await hit?.body?.cancel();
  return hit !== undefined;
}

const HOUR = 3600;

async function addViews(videoId: string, hourBucketSec: number, views: number): Promise<void> {
  await openDb(env.DB).insert(schema.viewAggregates).values({ videoId, hourBucket: hourBucketSec, viewCount: views, uniqueViewers: views });
}

describe('video.ready warming', () => {
  it('prefetches the manifests and the first 30 s of every rung', async () => {
    const twoSec = Array.from({ length: 20 }, () => 2); // 40 s: 15 segments cover the first 30 s
    const { id } = await playableVideo({
      rungs: [
        { name: '240p', height: 240, durations: twoSec },
        { name: '360p', height: 360, durations: twoSec },
      ],
    });
    await onVideoReady(env, id);
    const base = signedBase(await signedMasterPath(id));
    expect(await xcache(`${base}master.m3u8`)).toBe('HIT');
    for (const rung of ['240p', '360p']) {
      expect(await xcache(`${base}${rung}/playlist.m3u8`)).toBe('HIT');
      expect(await xcache(`${base}${rung}/segment_0000.ts`)).toBe('HIT');
      expect(await xcache(`${base}${rung}/segment_0014.ts`)).toBe('HIT');
      expect(await xcache(`${base}${rung}/segment_0015.ts`)).toBe('MISS');
    }
  });

  it('replaces the short-lived playlists cached while processing with the final ones', async () => {
    const { id } = await playableVideo({ status: 'PROCESSING', rungs: [{ name: '240p', height: 240, durations: [2, 2] }] });
    const base = signedBase(await signedMasterPath(id));
    const processing = await api(`${base}master.m3u8`);
    // (A viewer's GET of the master carries its playback session and is no-store; HEAD shows the object's lifetime.)
    expect((await api(`${base}master.m3u8`, { method: 'HEAD' })).headers.get('Cache-Control')).toBe(defaults.playback.processingCacheControl);
    expect(await processing.text()).not.toContain('360p');

    await addRendition(id, { name: '360p', height: 360, durations: [2, 2] });
    await setStatus(id, 'READY');
    await onVideoReady(env, id);
    const ready = await api(`${base}master.m3u8`);
    expect(ready.headers.get('X-Cache')).toBe('HIT');
    expect((await api(`${base}master.m3u8`, { method: 'HEAD' })).headers.get('Cache-Control')).toBe(defaults.playback.segmentCacheControl);
    expect(await ready.text()).toContain('360p/playlist.m3u8');
  });

  it('does nothing for a video that cannot be played', async () => {
    const { id } = await playableVideo({ status: 'FAILED' });
    await onVideoReady(env, id);
    expect(await isCached(publicPaths.master(id))).toBe(false);
  });
});

describe('trending', () => {
  it('ranks READY, non-private videos by views in the last 24 hours', async () => {
    const now = Date.UTC(2030, 0, 2, 12, 30);
    const hour = Math.floor(now / 1000 / HOUR) * HOUR;
    const a = await playableVideo();
    const b = await playableVideo();
    const c = await playableVideo();
    const old = await playableVideo();
    const hidden = await playableVideo({ visibility: 'private' });
    const failed = await playableVideo({ status: 'FAILED' });
    await addViews(a.id, hour, 10);
    await addViews(a.id, hour - 23 * HOUR, 5); // oldest bucket still inside the window: a = 15
    await addViews(b.id, hour - HOUR, 40);
    await addViews(c.id, hour - 2 * HOUR, 15); // ties with a; id breaks the tie
    await addViews(old.id, hour - 24 * HOUR, 1000); // outside the window
    await addViews(hidden.id, hour, 500);
    await addViews(failed.id, hour, 500);
    await addViews(a.id, hour + HOUR, 999); // a future bucket does not count
    const ids = await trendingVideoIds(openDb(env.DB), now, 100);
    expect(ids).toEqual([b.id, ...[a.id, c.id].sort()]);
    expect(await trendingVideoIds(openDb(env.DB), now, 1)).toEqual([b.id]);
    expect(await trendingVideoIds(openDb(env.DB), now, 0)).toEqual([]);
  });

  it('the 5-minute cron warms trending videos at 720p and 1080p for the first half of their segments', async () => {
    const ten = Array.from({ length: 10 }, () => 6);
    const { id } = await playableVideo({
      rungs: [
        { name: '240p', height: 240, durations: ten },
        { name: '720p', height: 720, durations: ten },
        { name: '1080p', height: 1080, durations: ten },
      ],
    });
    const cold = await playableVideo({ rungs: [{ name: '720p', height: 720, durations: ten }] });
    await addViews(id, Math.floor(Date.now() / 1000 / HOUR) * HOUR, 1_000_000);

    const ctx = createExecutionContext();
    await handleScheduled(createScheduledController({ cron: CRON_EVERY_5_MIN, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);

    for (const rung of ['720p', '1080p']) {
      expect(await isCached(publicPaths.mediaPlaylist(id, rung))).toBe(true);
      for (let i = 0; i < 5; i++) expect(await isCached(publicPaths.segment(id, rung, i))).toBe(true);
      expect(await isCached(publicPaths.segment(id, rung, 5))).toBe(false);
    }
    expect(await isCached(publicPaths.segment(id, '240p', 0))).toBe(false);
    expect(await isCached(publicPaths.segment(cold.id, '720p', 0))).toBe(false);
  });
});

describe('deletion', () => {
  it('purges every cached object of a deleted video', async () => {
    const { id, token } = await playableVideo();
    await env.MEDIA.put(keys.thumbnail(id, 'poster.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    await env.MEDIA.put(keys.thumbnail(id, 'sprite_3.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    const base = signedBase(await signedMasterPath(id));
    const paths = [
      publicPaths.master(id),
      publicPaths.mediaPlaylist(id, '240p'),
      publicPaths.segment(id, '240p', 0),
      publicPaths.segment(id, '360p', 2),
      publicPaths.thumbnail(id, 'poster.jpg'),
      publicPaths.thumbnail(id, 'sprite_3.jpg'),
    ];
    for (const p of paths) await xcache(p.replace(`/v/${id}/`, base));
    for (const p of paths) expect(await isCached(p)).toBe(true);

    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    for (const p of paths) expect(await isCached(p)).toBe(false);
    // The viewer's still-valid URL now finds nothing.
    expect((await api(`${base}240p/segment_0000.ts`)).status).toBe(404);
    expect((await api(`${base}master.m3u8`)).status).toBe(404);
  });
});

/**
 * Thumbnails at any time snap to the storyboard's grid (workers/frames/frame.ts, shared/storyboard.ts), inside
 * workerd: however long the video, `thumbnails/at.jpg` can name at most (grid points × widths) frames, and times on
 * the same grid point are one cached object. The frames here are stored in R2 beforehand, as an earlier cut leaves
 * them, so no transcoder is involved; cutting and the per-address allowance run end to end in
 * test/node/hardening-e2e.test.ts.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { api } from './helpers';
import { playableVideo, signedBase, signedMasterPath } from './playback-fixtures';
import { openDb, schema } from '../../workers/shared/db';
import { defaults, loadConfig } from '../../workers/shared/config';
import { keys } from '../../workers/shared/storage-keys';
import { frameCacheKey } from '../../workers/frames/frame';
import { loadPlaybackState } from '../../workers/playback/state';

async function videoOf(seconds: number, segment = 6) {
  const durations = Array.from({ length: Math.ceil(seconds / segment) }, (_, i) => Math.min(segment, seconds - i * segment));
  const video = await playableVideo({ rungs: [{ name: '1080p', height: 1080, durations }], segmentSize: 16 });
  await openDb(env.DB).update(schema.videos).set({ duration: seconds, width: 1920, height: 1080, frameRate: 30 }).where(eq(schema.videos.id, video.id));
  return video;
}

describe('frames at any time: the grid', () => {
  it('a one-hour video offers at most 401 times × 7 widths, not one frame per 1/30 s', async () => {
    const { id } = await videoOf(3600);
    const state = (await loadPlaybackState(openDb(env.DB), id))!;
    const config = loadConfig(env);
    const keysSeen = new Set<string>();
    // Every quarter second of the hour, at widths from tiny to huge.
    for (let quarter = 0; quarter <= 4 * 3600; quarter += 1) {
      for (const width of [100, 300, 320, 500, 700, 1000, 1300, 1920, 4000]) {
        keysSeen.add(frameCacheKey(state, { kind: 'frame', videoId: id, time: quarter / 4, width }, config));
      }
    }
    const step = Math.max(defaults.transcoding.thumbnails.intervalSec, Math.ceil(3600 / defaults.transcoding.thumbnails.maxTiles));
    expect(step).toBe(9);
    expect(keysSeen.size).toBeLessThanOrEqual((3600 / step + 1) * defaults.frames.widths.length);
    // Each key is a frame on the grid: frame numbers are multiples of step × fps (or the last frame).
    const frames = new Set([...keysSeen].map((k) => Number(/at_f(\d+)_w/.exec(k)![1])));
    const lastFrame = Math.max(...frames);
    for (const f of frames) if (f !== lastFrame) expect(f % (step * 30), `frame ${f}`).toBe(0);
  });

  it('times on one grid point share one stored frame and one cache entry', async () => {
    const { id } = await videoOf(12, 2);
    // 12 s: the grid is every 2 s; 5.1 s and 6.9 s both round to 6 s = frame 180 at 30 fps.
    const jpeg = new TextEncoder().encode('jpeg of frame 180 at 320');
    await env.MEDIA.put(keys.frame(id, 180, 320), jpeg, { httpMetadata: { contentType: 'image/jpeg' } });
    const base = signedBase(await signedMasterPath(id));
    const first = await api(`${base}thumbnails/at.jpg?time=5.1&width=320`);
    expect(first.status, await first.clone().text()).toBe(200);
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(jpeg);
    const second = await api(`${base}thumbnails/at.jpg?time=6.9&width=300`);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(jpeg);
  });

  it('a creator-chosen poster keeps its exact frame', async () => {
    const { id, token } = await videoOf(12, 2);
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { posterTime: 5.1 } })).status).toBe(200);
    // 5.1 s at 30 fps is frame 153, at the poster width (1280).
    const jpeg = new TextEncoder().encode('poster frame 153');
    await env.MEDIA.put(keys.frame(id, 153, 1280), jpeg, { httpMetadata: { contentType: 'image/jpeg' } });
    const base = signedBase(await signedMasterPath(id));
    const poster = await api(`${base}thumbnails/poster.jpg`);
    expect(poster.status, await poster.clone().text()).toBe(200);
    expect(new Uint8Array(await poster.arrayBuffer())).toEqual(jpeg);
  });
});

/**
 * Stats figures: the current hour is live before its flush; all-time uniques ≥ every hour's. Detailed stats are the
 * creator's alone; the public count stays on the video object.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, newCreator } from './helpers';
import { fakeClock, ownerStats, playableVideo, viewJson } from './views-helpers';
import { forgetShardPlan } from '../../workers/views/routing';

let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

type Stats = { views: number; uniqueViewers: number; hourly: { hour: string; views: number; uniqueViewers: number }[] };
const stats = async (id: string): Promise<Stats> => (await ownerStats(id)).json<Stats>();

describe('GET /v1/videos/:id/stats', () => {
  it("shows the current hour's unflushed views and viewers in the hourly series", async () => {
    const t0 = Date.UTC(2026, 0, 9, 14, 20);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    for (const v of ['h1', 'h2', 'h3']) expect((await viewJson(id, { viewerId: v, watchDuration: 40 })).body).toEqual({ counted: true });
    const s = await stats(id);
    expect(s.views).toBe(3);
    const current = s.hourly.find((p) => p.hour === new Date(Date.UTC(2026, 0, 9, 14)).toISOString());
    expect(current).toEqual({ hour: '2026-01-09T14:00:00.000Z', views: 3, uniqueViewers: 3 });
    expect(s.hourly.reduce((sum, p) => sum + p.views, 0)).toBe(3);
  });

  it('never reports fewer all-time unique viewers than any single hour had', async () => {
    const t0 = Date.UTC(2026, 0, 10, 10, 5);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    expect((await viewJson(id, { viewerId: 'only', watchDuration: 40 })).body).toEqual({ counted: true });
    // An earlier hour whose per-shard estimates summed above the all-time sketch's estimate of the union.
    const earlier = Date.UTC(2026, 0, 10, 8) / 1000;
    await env.DB.prepare('INSERT INTO view_aggregates (video_id, hour_bucket, view_count, unique_viewers) VALUES (?, ?, ?, ?)')
      .bind(id, earlier, 2300, 2204)
      .run();
    const s = await stats(id);
    const busiest = Math.max(...s.hourly.map((p) => p.uniqueViewers));
    expect(busiest).toBe(2204);
    expect(s.uniqueViewers).toBeGreaterThanOrEqual(busiest);
  });

  it.each(['public', 'unlisted', 'private'] as const)("are the creator's alone for a %s video: 404 to anyone else, the count stays public", async (visibility) => {
    const { id, token } = await playableVideo(120);
    // A private video cannot be watched by others; the others have one view to show.
    const viewed = visibility === 'private' ? 0 : 1;
    if (viewed) expect((await viewJson(id, { viewerId: 'someone', watchDuration: 40 })).body).toEqual({ counted: true });
    await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { visibility } });
    const stranger = await newCreator('stranger');
    for (const res of [await api(`/v1/videos/${id}/stats`), await api(`/v1/videos/${id}/stats`, { token: stranger.token })]) {
      expect(res.status).toBe(404);
      // The same answer as for a video that does not exist: nothing to tell the two apart.
      expect(await res.json()).toEqual(await (await api('/v1/videos/vid_nope00000000000/stats')).json());
    }
    const own = await ownerStats(id);
    expect(own.status).toBe(200);
    expect(await own.json<Stats>()).toMatchObject({ views: viewed, uniqueViewers: viewed });
    if (visibility !== 'private') expect(await (await api(`/v1/videos/${id}`)).json<{ viewCount: number }>()).toMatchObject({ viewCount: expect.any(Number) });
  });
});

/**
 * QoE reports: startup percentiles merged from shards and hours (sketch counts added, never a mean of means), rates,
 * breakdowns by country (request.cf) and by browser / OS family (User-Agent), the creator-only reads and the report
 * over all of a creator's videos.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api } from './helpers';
import { fakeClock, playableVideo, sessionFor } from './views-helpers';
import { beaconJson, CHROME_LINUX, record, report, runShardAlarms, SAFARI_IPHONE } from './qoe-helpers';
import { defaults } from '../../workers/shared/config';
import { forgetShardPlan } from '../../workers/views/routing';
import { bucketValueMs, startupBucket } from '../../workers/views/qoe/sketch';

const HOUR = 3_600_000;
let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

/** The nearest-rank quantile of raw values, as the sketch reports it (the middle of that value's bucket). */
function expectedQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(bucketValueMs(startupBucket(sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!)));
}

describe('QoE reports', () => {
  it('merges startup sketches across 32 shards and two hours into exact-bucket percentiles', async () => {
    const t0 = Date.UTC(2026, 2, 10, 8, 30);
    clock = fakeClock(t0);
    const { id, token } = await playableVideo(120);
    // A hot video promoted long ago: sessions spread over the 32 shards.
    await env.DB.prepare('INSERT INTO view_shard_configs (video_id, shard_count, promoted_at) VALUES (?, ?, ?)').bind(id, defaults.views.hotVideoShards, t0 - 10 * HOUR).run();
    forgetShardPlan();
    // Hour 8: 60 quick starts; hour 9: 40 slow ones. A mean of the two hours' medians would say ≈ 2.6 s.
    const hour8 = Array.from({ length: 60 }, (_, i) => 300 + i * 10);
    const hour9 = Array.from({ length: 40 }, (_, i) => 4000 + i * 50);
    for (const [i, startupMs] of hour8.entries()) await beaconJson(id, [record(await sessionFor(id, 60_000 + i), { startupMs })]);
    clock.set(t0 + HOUR);
    for (const [i, startupMs] of hour9.entries()) await beaconJson(id, [record(await sessionFor(id, 60_000 + i), { startupMs })]);

    // Hour 8's cells are flushed to D1; hour 9's are still live in the shards: the report adds both.
    await runShardAlarms(id, defaults.views.hotVideoShards);
    const range = `?from=${Date.UTC(2026, 2, 10, 8)}&to=${Date.UTC(2026, 2, 10, 10)}`;
    const r = await report(`/v1/videos/${id}/qoe${range}`, token);
    const all = [...hour8, ...hour9];
    expect(r.totals.views).toBe(100);
    expect(r.totals.startupP50Ms).toBe(expectedQuantile(all, 0.5));
    expect(r.totals.startupP95Ms).toBe(expectedQuantile(all, 0.95));
    expect(r.hourly.map((h) => [h.views, h.startupP50Ms])).toEqual([
      [60, expectedQuantile(hour8, 0.5)],
      [40, expectedQuantile(hour9, 0.5)],
    ]);
    // Every percentile is within the sketch's ±4.9 % of the raw one.
    const raw = [...all].sort((a, b) => a - b)[49]!;
    expect(Math.abs(r.totals.startupP50Ms! - raw) / raw).toBeLessThan(0.05);
  }, 120_000);

  it('breaks the figures down by country and by browser / OS family', async () => {
    const { id, token } = await playableVideo(120);
    const send = async (country: string | undefined, userAgent: string, over: Parameters<typeof record>[1]) =>
      beaconJson(id, [record(await sessionFor(id, 120_000), over)], { country, userAgent });
    await send('DE', CHROME_LINUX, { startupMs: 500 });
    await send('DE', SAFARI_IPHONE, { startupMs: 4000, rebufferCount: 2, stalledMs: 2000 });
    await send('fr', CHROME_LINUX, { startupMs: null, exitBeforeStart: true, watchedMs: 0, averageBitrate: null });
    await send(undefined, SAFARI_IPHONE, { failure: 'network' });

    const byCountry = (await report(`/v1/videos/${id}/qoe?by=country`, token)).breakdown!;
    expect(byCountry.by).toBe('country');
    expect(byCountry.groups.map((g) => [g.key, g.views, g.rebufferCount, g.exitsBeforeStart, g.failures])).toEqual([
      ['DE', 2, 2, 0, 0],
      ['FR', 1, 0, 1, 0],
      ['unknown', 1, 0, 0, 1],
    ]);
    const byBrowser = (await report(`/v1/videos/${id}/qoe?by=browser`, token)).breakdown!;
    expect(byBrowser.groups.map((g) => [g.key, g.views, g.exitBeforeStartRate, g.failureRate])).toEqual([
      ['Chrome / Linux', 2, 0.5, 0],
      ['Safari / iOS', 2, 0, 0.5],
    ]);
    const totals = (await report(`/v1/videos/${id}/qoe`, token)).totals;
    expect(totals).toMatchObject({ views: 4, startedViews: 3, exitBeforeStartRate: 0.25, failureRate: 0.25, rebufferRatio: 0.033333 }); // 2 s stalled over 60 s watched, rounded to six decimals
  });

  it('is for the video creator only, and refuses bad queries', async () => {
    const { id, token } = await playableVideo(120);
    const other = await playableVideo(120);
    expect((await api(`/v1/videos/${id}/qoe`)).status).toBe(401);
    expect((await api(`/v1/videos/${id}/qoe`, { token: other.token })).status).toBe(403);
    expect((await api('/v1/videos/vid_unknown0000000/qoe', { token })).status).toBe(404);
    for (const [query, message] of [
      ['?by=city', /by must be country or browser/],
      ['?from=yesterday', /from must be an ISO 8601 time/],
      [`?from=${Date.now()}&to=${Date.now() - HOUR}`, /from must be before to/],
      [`?from=${Date.now() - 40 * 24 * HOUR}`, /at most 744 hours/],
    ] as const) {
      const res = await api(`/v1/videos/${id}/qoe${query}`, { token });
      expect(res.status, query).toBe(400);
      expect((await res.json<{ error: { message: string } }>()).error.message, query).toMatch(message);
    }
    expect((await api('/v1/qoe')).status).toBe(401);
  });

  it("adds up a creator's videos after the flush, with the most viewed first, and nobody else's", async () => {
    const t0 = Date.UTC(2026, 2, 11, 14, 10);
    clock = fakeClock(t0);
    const a = await playableVideo(120);
    const b = await playableVideo(120, a.token);
    const stranger = await playableVideo(120);
    for (let i = 0; i < 3; i++) await beaconJson(a.id, [record(await sessionFor(a.id, 60_000), { startupMs: 1000 })]);
    await beaconJson(b.id, [record(await sessionFor(b.id, 60_000), { startupMs: 2000, failure: 'media' })]);
    await beaconJson(stranger.id, [record(await sessionFor(stranger.id, 60_000))]);
    const range = `?from=${Date.UTC(2026, 2, 11, 14)}&to=${Date.UTC(2026, 2, 11, 15)}&by=browser`;
    // Before the flush the platform-wide report (D1 only) has nothing yet.
    expect((await report(`/v1/qoe${range}`, a.token)).totals.views).toBe(0);
    clock.set(Date.UTC(2026, 2, 11, 15, 3));
    for (const id of [a.id, b.id, stranger.id]) await runShardAlarms(id);
    const r = await report(`/v1/qoe${range}`, a.token);
    expect(r.totals).toMatchObject({ views: 4, failures: 1, failureRate: 0.25 });
    expect(r.videos!.map((v) => [v.videoId, v.views])).toEqual([
      [a.id, 3],
      [b.id, 1],
    ]);
    expect(r.breakdown!.groups.map((g) => g.key)).toEqual(['Chrome / Linux']);
  });
});

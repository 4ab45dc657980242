import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from 'cloudflare:test';
import { api } from './helpers';
import { fakeClock, playableVideo, viewCount, viewJson } from './views-helpers';
import { forgetShardPlan, shardIndexFor, shardStub } from '../../workers/views/routing';
import { hashViewer, ViewerSketch } from '../../workers/views/hll';
import { consumeViewEvents, type ViewAnalyticsEvent } from '../../workers/views/analytics';
import { handleScheduled, CRON_HOURLY } from '../../workers/scheduled';
import { defaults } from '../../workers/shared/config';

const HOUR = 3_600_000;
const SHARDS = defaults.views.shards;
let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

const shards = (videoId: string, n = SHARDS) => Array.from({ length: n }, (_, i) => shardStub(env, videoId, i));

async function countViews(videoId: string, viewers: string[], watch = 40): Promise<void> {
  for (const viewerId of viewers) {
    const res = await viewJson(videoId, { viewerId, watchDuration: watch });
    expect(res.body, viewerId).toEqual({ counted: true });
  }
}

async function stats(videoId: string, query = '') {
  const res = await api(`/v1/videos/${videoId}/stats${query}`);
  expect(res.status).toBe(200);
  return res.json<{ views: number; uniqueViewers: number; hourly: { hour: string; views: number; uniqueViewers: number }[] }>();
}

/** Runs every shard's alarm once (the end-of-hour flush when the clock is past the hour). */
async function runAlarms(videoId: string): Promise<void> {
  for (const stub of shards(videoId)) await runDurableObjectAlarm(stub);
}

describe('ViewCounter shards', () => {
  it('spreads viewers over shards and merges their HyperLogLogs into one unique count', async () => {
    const { id } = await playableVideo(120);
    const viewers = Array.from({ length: 160 }, (_, i) => `viewer-${i}`);
    await countViews(id, viewers);

    const snaps = await Promise.all(shards(id).map((s) => s.snapshot()));
    const used = snaps.filter((s) => s.pendingViews > 0);
    expect(used.length).toBe(SHARDS);
    expect(snaps.reduce((sum, s) => sum + s.pendingViews, 0)).toBe(160);
    // Each shard holds exactly the viewers routed to it.
    for (let i = 0; i < SHARDS; i++) {
      expect(snaps[i]!.pendingViews).toBe(viewers.filter((v) => shardIndexFor(v, SHARDS) === i).length);
    }
    // The merge is the register-wise max: identical to one sketch fed every viewer.
    const merged = new ViewerSketch(defaults.views.hllPrecision);
    for (const s of snaps) if (s.registers) merged.merge(s.registers);
    const direct = new ViewerSketch(defaults.views.hllPrecision);
    for (const v of viewers) direct.add(hashViewer(v));
    expect(merged.registers()).toEqual(direct.registers());

    const s = await stats(id);
    expect(s.views).toBe(160);
    expect(Math.abs(s.uniqueViewers - 160) / 160).toBeLessThan(0.02);
  });

  it('flushes at the end of the hour into videos.view_count and view_aggregates, exactly once', async () => {
    const t0 = Date.UTC(2026, 0, 6, 9, 15);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    await countViews(id, Array.from({ length: 40 }, (_, i) => `f-${i}`));
    clock.set(t0 + 10 * 60_000);
    await countViews(id, Array.from({ length: 10 }, (_, i) => `g-${i}`));

    // Before the hour ends the alarm only drains analytics; nothing reaches D1.
    await runAlarms(id);
    expect(await viewCount(id)).toBe(0);
    expect((await stats(id)).views).toBe(50);

    clock.set(Date.UTC(2026, 0, 6, 10, 2));
    await runAlarms(id);
    expect(await viewCount(id)).toBe(50);
    const agg = await env.DB.prepare('SELECT hour_bucket, view_count, unique_viewers FROM view_aggregates WHERE video_id = ?')
      .bind(id)
      .all<{ hour_bucket: number; view_count: number; unique_viewers: number }>();
    expect(agg.results).toEqual([{ hour_bucket: Date.UTC(2026, 0, 6, 9) / 1000, view_count: 50, unique_viewers: 50 }]);
    // Nothing pending, nothing registered: a second flush adds nothing.
    for (const stub of shards(id)) expect(await stub.flush()).toEqual({ status: 'ok', seq: null, views: 0 });
    expect(await viewCount(id)).toBe(50);
    const pending = await env.DB.prepare('SELECT COUNT(*) AS n FROM view_pending_shards WHERE video_id = ?').bind(id).first<{ n: number }>();
    expect(pending?.n).toBe(0);

    const s = await stats(id, `?from=${Date.UTC(2026, 0, 6, 8)}&to=${Date.UTC(2026, 0, 6, 11)}`);
    expect(s.views).toBe(50);
    expect(s.hourly).toEqual([
      { hour: '2026-01-06T08:00:00.000Z', views: 0, uniqueViewers: 0 },
      { hour: '2026-01-06T09:00:00.000Z', views: 50, uniqueViewers: 50 },
      { hour: '2026-01-06T10:00:00.000Z', views: 0, uniqueViewers: 0 },
    ]);
  });

  it('does not double count when a flush crashes between the D1 write and the delta reset', async () => {
    const t0 = Date.UTC(2026, 0, 7, 14, 5);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    // Every viewer routes to one shard, so other shards' alarms (which the runtime may fire at any moment after the
    // injected clock jumps) have nothing to flush and cannot change the totals asserted below.
    const victimIndex = shardIndexFor('crash-0', SHARDS);
    const viewers = Array.from({ length: 2000 }, (_, i) => `crash-${i}`)
      .filter((v) => shardIndexFor(v, SHARDS) === victimIndex)
      .slice(0, 16);
    await countViews(id, viewers);
    const victim = shardStub(env, id, victimIndex);
    const victimViews = viewers.length;

    await runInDurableObject(victim, (instance) => {
      instance.faults.afterD1Write = () => {
        throw new Error('injected crash after D1 write');
      };
    });
    clock.set(t0 + HOUR);
    expect(await runDurableObjectAlarm(victim)).toBe(true);
    // D1 has the victim's views, and the victim still holds its batch (as after a real crash).
    expect(await viewCount(id)).toBe(victimViews);
    expect((await victim.snapshot()).inflight).toEqual({ seq: 1, views: victimViews });
    // Stats see the batch as applied (view_flushes has seq 1) and do not add it again.
    expect((await stats(id)).views).toBe(viewers.length);

    // A view arriving meanwhile goes to a fresh pending delta, not into the stuck batch.
    const late = viewers.length;
    const lateViewer = Array.from({ length: 200 }, (_, i) => `late-${i}`).find((v) => shardIndexFor(v, SHARDS) === victimIndex)!;
    await countViews(id, [lateViewer]);

    await runInDurableObject(victim, (instance) => {
      instance.faults.afterD1Write = undefined;
    });
    clock.advance(60_000); // past the retry backoff
    expect(await runDurableObjectAlarm(victim)).toBe(true); // the retry replays seq 1: a no-op in D1
    expect(await viewCount(id)).toBe(victimViews);
    expect((await victim.snapshot()).inflight).toBeNull();
    expect((await victim.flush()).status).toBe('ok'); // seq 2: the late view
    await runAlarms(id);
    expect(await viewCount(id)).toBe(late + 1);
    expect((await stats(id)).views).toBe(late + 1);
    const flushes = await env.DB.prepare('SELECT last_seq FROM view_flushes WHERE shard_id = ?').bind(`${id}#${victimIndex}`).first<{ last_seq: number }>();
    expect(flushes?.last_seq).toBe(2);
  });

  it('expires dedup entries by alarm (bounded storage) and counts the viewer again after 30 minutes', async () => {
    const t0 = Date.UTC(2026, 0, 8, 8, 0);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    await countViews(id, ['again']);
    const stub = shardStub(env, id, shardIndexFor('again', SHARDS));
    const dedupRows = () =>
      runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM dedup').one().n);
    expect(await dedupRows()).toBe(1);

    clock.set(t0 + 20 * 60_000);
    await runDurableObjectAlarm(stub);
    expect(await dedupRows()).toBe(1); // still inside the window
    expect((await viewJson(id, { viewerId: 'again', watchDuration: 40 })).body).toEqual({ counted: false, reason: 'duplicate' });

    clock.set(t0 + 31 * 60_000);
    await runDurableObjectAlarm(stub);
    expect(await dedupRows()).toBe(0);
    expect((await viewJson(id, { viewerId: 'again', watchDuration: 40 })).body).toEqual({ counted: true });
    expect((await stats(id)).views).toBe(2);
    expect((await stats(id)).uniqueViewers).toBe(1);
  });

  it('keeps dedup across a promotion to more shards (old shard claims for the new one)', async () => {
    const t0 = Date.UTC(2026, 0, 9, 12, 0);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    const hot = defaults.views.hotVideoShards;
    // Viewers whose shard changes when the count goes from 8 to 32.
    const movers = Array.from({ length: 400 }, (_, i) => `m-${i}`).filter((v) => shardIndexFor(v, hot) >= SHARDS).slice(0, 6);
    const [before, fresh] = [movers.slice(0, 3), movers.slice(3)];
    await countViews(id, before);

    await env.DB.prepare('INSERT INTO view_shard_configs (video_id, shard_count, promoted_at) VALUES (?, ?, ?)').bind(id, hot, t0 + 1000).run();
    forgetShardPlan();
    clock.set(t0 + 5 * 60_000);
    // Seen before the promotion on their old shard: still duplicates on their new shard.
    for (const v of before) expect((await viewJson(id, { viewerId: v, watchDuration: 40 })).body).toEqual({ counted: false, reason: 'duplicate' });
    // New viewers count on the new shard; a stale isolate routing them by the old count is refused by the old shard.
    await countViews(id, fresh);
    for (const v of fresh) {
      const oldIndex = shardIndexFor(v, SHARDS);
      const stale = await shardStub(env, id, oldIndex).record({ videoId: id, shardIndex: oldIndex, shardCount: SHARDS, promotedAt: null, viewerId: v, watchDuration: 40 });
      expect(stale).toEqual({ status: 'duplicate' });
    }
    const s = await stats(id);
    expect(s.views).toBe(6);
    expect(s.uniqueViewers).toBe(6);
  });

  it('promotes a video to the hot shard count once a base shard gets hot', async () => {
    const { id } = await playableVideo(120);
    const stub = shardStub(env, id, 0);
    const n = defaults.views.hotShardViewsPerMinute;
    for (let i = 0; i < n; i++) {
      const r = await stub.record({ videoId: id, shardIndex: 0, shardCount: SHARDS, promotedAt: null, viewerId: `hot-${i}`, watchDuration: 40 });
      expect(r.status).toBe('counted');
    }
    const row = await env.DB.prepare('SELECT shard_count FROM view_shard_configs WHERE video_id = ?').bind(id).first<{ shard_count: number }>();
    expect(row?.shard_count).toBe(defaults.views.hotVideoShards);
    expect((await stats(id)).views).toBe(n);
  });

  it('the hourly cron flushes shards whose alarm never ran', async () => {
    const t0 = Date.UTC(2026, 0, 10, 3, 30);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    await countViews(id, ['c1', 'c2', 'c3']);
    clock.set(t0 + 2 * HOUR);
    const ctx = createExecutionContext();
    await handleScheduled(createScheduledController({ cron: CRON_HOURLY, scheduledTime: clock.now() }), env, ctx);
    const { waitOnExecutionContext } = await import('cloudflare:test');
    await waitOnExecutionContext(ctx);
    expect(await viewCount(id)).toBe(3);
    expect((await stats(id)).views).toBe(3);
  });
});

describe('GET /v1/videos/:id/stats', () => {
  it('validates the range', async () => {
    const { id } = await playableVideo(120);
    expect((await api(`/v1/videos/${id}/stats?from=yesterday`)).status).toBe(400);
    expect((await api(`/v1/videos/${id}/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`)).status).toBe(400);
    expect((await api(`/v1/videos/${id}/stats?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`)).status).toBe(400);
    expect((await api('/v1/videos/vid_nope00000000000/stats')).status).toBe(404);
    const s = await stats(id);
    expect(s).toMatchObject({ views: 0, uniqueViewers: 0 });
    expect(s.hourly.length).toBeGreaterThanOrEqual(48);
  });
});

describe('analytics events', () => {
  it('shards send counted views to the queue in batches from their outbox', async () => {
    const { id } = await playableVideo(120);
    await countViews(id, ['a1', 'a2', 'a3']);
    const stub = shardStub(env, id, shardIndexFor('a1', SHARDS));
    const outbox = () => runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n);
    expect(await outbox()).toBeGreaterThan(0);
    await runDurableObjectAlarm(stub);
    expect(await outbox()).toBe(0);
  });

  it('the consumer appends NDJSON batches to R2 under analytics/, idempotently', async () => {
    const at = Date.UTC(2026, 0, 11, 16, 20);
    const event = (i: number): ViewAnalyticsEvent => ({ type: 'view', videoId: 'vid_x', viewer: `h${i}`, shard: 1, increment: 1, watchDuration: 40, at });
    const messages = [0, 1, 2].map((i) => ({ id: `m${i}`, timestamp: new Date(at), attempts: 1, body: event(i) as unknown }));
    messages.push({ id: 'bad', timestamp: new Date(at), attempts: 1, body: { type: 'nope' } });
    for (let round = 0; round < 2; round++) {
      const batch = createMessageBatch('view-events', messages);
      const ctx = createExecutionContext();
      await consumeViewEvents(batch, env);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks.length + (result.ackAll ? messages.length : 0)).toBeGreaterThan(0);
    }
    const listed = await env.MEDIA.list({ prefix: 'analytics/view-events/dt=2026-01-11/hour=16/' });
    expect(listed.objects).toHaveLength(1);
    const text = await (await env.MEDIA.get(listed.objects[0]!.key))!.text();
    expect(text.trim().split('\n').map((l) => JSON.parse(l))).toEqual([event(0), event(1), event(2)]);
  });
});

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
import { fakeClock, ownerStats, playableVideo, sessionFor, viewCount, viewJson } from './views-helpers';

/** A direct shard call's session: a fresh id, valid for the day. */
const oneSession = () => ({ sessionId: crypto.randomUUID(), sessionExpiresAt: Date.now() + 86_400_000 });
import { forgetShardPlan, handoverEnds, sessionShardFor, shardIndexFor, shardStub } from '../../workers/views/routing';
import { hashViewer, ViewerSketch } from '../../workers/views/hll';
import { consumeViewEvents, type ViewAnalyticsEvent } from '../../workers/views/analytics';
import { handleScheduled, CRON_HOURLY } from '../../workers/scheduled';
import { defaults, loadConfig } from '../../workers/shared/config';
import { faultsOf } from './test-objects';

const HOUR = 3_600_000;
const SHARDS = defaults.views.shards;
const HOT = defaults.views.hotVideoShards;
let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

const shards = (videoId: string, n: number = SHARDS) => Array.from({ length: n }, (_, i) => shardStub(env, videoId, i));

/** Counts each (distinct) viewer once, 8 beacons in flight at a time (a loaded machine makes one at a time slow). */
async function countViews(videoId: string, viewers: string[], watch = 40): Promise<void> {
  for (let i = 0; i < viewers.length; i += 8) {
    await Promise.all(
      viewers.slice(i, i + 8).map(async (viewerId) => {
        const res = await viewJson(videoId, { viewerId, watchDuration: watch });
        expect(res.body, viewerId).toEqual({ counted: true });
      }),
    );
  }
}

async function stats(videoId: string, query = '') {
  const res = await ownerStats(videoId, query);
  expect(res.status).toBe(200);
  return res.json<{ views: number; uniqueViewers: number; hourly: { hour: string; views: number; uniqueViewers: number }[] }>();
}

/** Promotes a video to the hot shard count at `at`, as a hot base shard would, and drops cached plans. */
async function promote(videoId: string, at: number): Promise<void> {
  await env.DB.prepare('INSERT INTO view_shard_configs (video_id, shard_count, promoted_at) VALUES (?, ?, ?)').bind(videoId, HOT, at).run();
  forgetShardPlan();
}

/** Runs every shard's alarm once (the end-of-hour flush when the clock is past the hour). */
async function runAlarms(videoId: string): Promise<void> {
  for (const stub of shards(videoId)) await runDurableObjectAlarm(stub);
}

describe('ViewCounter shards', () => {
  it("spreads a hot video's viewers over shards and merges their HyperLogLogs into one unique count", async () => {
    const { id } = await playableVideo(120);
    // Promoted long ago (no handover window left): viewers route straight over the hot shard count.
    await promote(id, Date.now() - 3 * HOUR);
    const viewers = Array.from({ length: 320 }, (_, i) => `viewer-${i}`);
    await countViews(id, viewers);

    const snaps = await Promise.all(shards(id, HOT).map((s) => s.snapshot()));
    const used = snaps.filter((s) => s.pendingViews > 0);
    expect(used.length).toBe(HOT);
    expect(snaps.reduce((sum, s) => sum + s.pendingViews, 0)).toBe(320);
    // Each shard holds exactly the viewers routed to it.
    for (let i = 0; i < HOT; i++) {
      expect(snaps[i]!.pendingViews).toBe(viewers.filter((v) => shardIndexFor(v, HOT) === i).length);
    }
    // The merge is the register-wise max: identical to one sketch fed every viewer.
    const merged = new ViewerSketch(defaults.views.hllPrecision);
    for (const s of snaps) if (s.registers) merged.merge(s.registers);
    const direct = new ViewerSketch(defaults.views.hllPrecision);
    for (const v of viewers) direct.add(hashViewer(v));
    expect(merged.registers()).toEqual(direct.registers());

    const s = await stats(id);
    expect(s.views).toBe(320);
    expect(Math.abs(s.uniqueViewers - 320) / 320).toBeLessThan(0.02);
  }, 180_000); // 320 beacons and 32 new shards: slow on a loaded 2-core machine

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
      faultsOf(instance).afterD1Write = () => {
        throw new Error('injected crash after D1 write');
      };
    });
    clock.set(t0 + HOUR);
    expect(await runDurableObjectAlarm(victim)).toBe(true);
    // D1 has the victim's views, and the victim still holds its batch (as after a real crash).
    expect(await viewCount(id)).toBe(victimViews);
    expect((await victim.snapshot()).inflight).toMatchObject({ seq: 1, views: victimViews });
    // Stats see the batch as applied (view_flushes has seq 1) and do not add it again.
    expect((await stats(id)).views).toBe(viewers.length);

    // A view arriving meanwhile goes to a fresh pending delta, not into the stuck batch.
    const late = viewers.length;
    const lateViewer = Array.from({ length: 200 }, (_, i) => `late-${i}`).find((v) => shardIndexFor(v, SHARDS) === victimIndex)!;
    await countViews(id, [lateViewer]);

    await runInDurableObject(victim, (instance) => {
      faultsOf(instance).afterD1Write = undefined;
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

  it('keeps dedup across a promotion: new shards pull the old shard\'s live entries once, stale routes are forwarded', async () => {
    const t0 = Date.UTC(2026, 0, 9, 12, 0);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    // Viewers whose shard changes when the count goes from the base count to the hot count.
    const movers = Array.from({ length: 400 }, (_, i) => `m-${i}`).filter((v) => shardIndexFor(v, HOT) >= SHARDS);
    const target = shardIndexFor(movers[0]!, HOT);
    const sameTarget = movers.filter((v) => shardIndexFor(v, HOT) === target);
    const [before, fresh, stale] = [sameTarget.slice(0, 2), sameTarget.slice(2, 4), movers.filter((v) => shardIndexFor(v, HOT) !== target).slice(0, 3)];
    await countViews(id, [...before, ...stale]);

    await promote(id, t0 + 1000);
    clock.set(t0 + 5 * 60_000);
    // Seen before the promotion on their old shard: still duplicates on their new shard.
    for (const v of before) expect((await viewJson(id, { viewerId: v, watchDuration: 40 })).body).toEqual({ counted: false, reason: 'duplicate' });
    const newShard = shardStub(env, id, target);
    const handedOver = () => runInDurableObject(newShard, (_i, state) => state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'handover_done'").toArray()[0]?.value ?? 0);
    expect(await handedOver()).toBe(1);
    const newShardEntries = () => runInDurableObject(newShard, (_i, state) => state.storage.sql.exec<{ viewer: string }>('SELECT viewer FROM dedup ORDER BY viewer').toArray().map((r) => r.viewer));
    // It holds its own viewers' entries only (the other movers' entries went to their own new shards, or stay old).
    expect(await newShardEntries()).toEqual([...before].sort());

    // New viewers count on the new shard; a stale isolate routing them by the old count reaches the old shard,
    // which forwards to the new shard instead of deciding: duplicate, and nothing is added to the old shard.
    await countViews(id, fresh);
    const oldShard = shardStub(env, id, shardIndexFor(fresh[0]!, SHARDS));
    const oldPending = (await oldShard.snapshot()).pendingViews;
    for (const v of fresh) {
      const oldIndex = shardIndexFor(v, SHARDS);
      const staleRoute = await shardStub(env, id, oldIndex).record({ videoId: id, shardIndex: oldIndex, shardCount: SHARDS, promotedAt: null, viewerId: v, watchDuration: 40, ...oneSession() });
      expect(staleRoute).toEqual({ status: 'duplicate' });
    }
    // A viewer first seen through a stale route after the handover is counted by its new shard, once.
    const late = Array.from({ length: 400 }, (_, i) => `late-${i}`).find((v) => shardIndexFor(v, HOT) === target)!;
    const lateOld = shardIndexFor(late, SHARDS);
    const viaStale = await shardStub(env, id, lateOld).record({ videoId: id, shardIndex: lateOld, shardCount: SHARDS, promotedAt: null, viewerId: late, watchDuration: 40, ...oneSession() });
    expect(viaStale).toEqual({ status: 'counted', increment: 1 });
    expect((await viewJson(id, { viewerId: late, watchDuration: 40 })).body).toEqual({ counted: false, reason: 'duplicate' });
    expect((await oldShard.snapshot()).pendingViews).toBe(oldPending);
    expect((await newShard.snapshot()).pendingViews).toBe(fresh.length + 1);
    // The other movers seen before the promotion are still duplicates on their own new shards.
    for (const v of stale) expect((await viewJson(id, { viewerId: v, watchDuration: 40 })).body).toEqual({ counted: false, reason: 'duplicate' });

    const s = await stats(id);
    expect(s.views).toBe(before.length + stale.length + fresh.length + 1);
    expect(s.uniqueViewers).toBe(before.length + stale.length + fresh.length + 1);
  });

  it('after the handover window a new shard decides alone, and dedup still expires normally', async () => {
    const t0 = Date.UTC(2026, 0, 9, 15, 0);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    const v = Array.from({ length: 400 }, (_, i) => `w-${i}`).find((x) => shardIndexFor(x, HOT) >= SHARDS)!;
    await countViews(id, [v]);
    await promote(id, t0 + 1000);
    // Past the handover window (the longest-lived entry, a playback session, plus the routing TTL): the old entries
    // have expired, so the view counts again on the new shard without any pull.
    clock.set(handoverEnds(t0 + 1000, loadConfig({})) + 1);
    expect((await viewJson(id, { viewerId: v, watchDuration: 40 })).body).toEqual({ counted: true });
    expect((await viewJson(id, { viewerId: v, watchDuration: 40 })).body).toEqual({ counted: false, reason: 'duplicate' });
    const newShard = shardStub(env, id, shardIndexFor(v, HOT));
    expect(await runInDurableObject(newShard, (_i, state) => state.storage.sql.exec("SELECT 1 FROM meta WHERE key = 'handover_done'").toArray().length)).toBe(0);
    expect((await stats(id)).views).toBe(2);
  });

  it('a promoted video: one session counts one view whatever viewer ids (and shards) it is sent with', async () => {
    const { id } = await playableVideo(120);
    await promote(id, Date.now() - 3 * HOUR);
    const session = await sessionFor(id);
    // Viewer ids on shards other than the session's own, and on it.
    const sessionShard = sessionShardFor(session.split('.')[1]!, HOT);
    const viewers = Array.from({ length: 400 }, (_, i) => `id-${i}`);
    const elsewhere = viewers.filter((v) => shardIndexFor(v, HOT) !== sessionShard).slice(0, 3);
    const home = viewers.find((v) => shardIndexFor(v, HOT) === sessionShard)!;
    expect((await viewJson(id, { viewerId: elsewhere[0], watchDuration: 40, session })).body).toEqual({ counted: true });
    for (const viewerId of [...elsewhere.slice(1), home]) {
      expect((await viewJson(id, { viewerId, watchDuration: 40, session })).body, viewerId).toEqual({ counted: false, reason: 'session_used' });
    }
    // A view that did not count gives its session back: a viewer inside its dedup window spends nothing.
    const second = await sessionFor(id);
    expect((await viewJson(id, { viewerId: elsewhere[0], watchDuration: 40, session: second })).body).toEqual({ counted: false, reason: 'duplicate' });
    expect((await viewJson(id, { viewerId: elsewhere[1], watchDuration: 40, session: second })).body).toEqual({ counted: true });
    expect((await stats(id)).views).toBe(2);
  });

  it('a session used before a promotion stays used after it (new shards pull sessions with the handover)', async () => {
    const t0 = Date.UTC(2026, 0, 9, 18, 0);
    clock = fakeClock(t0);
    const { id } = await playableVideo(120);
    const session = await sessionFor(id, 60_000);
    const sid = session.split('.')[1]!;
    const first = Array.from({ length: 400 }, (_, i) => `pre-${i}`).find((v) => shardIndexFor(v, HOT) !== sessionShardFor(sid, HOT))!;
    expect((await viewJson(id, { viewerId: first, watchDuration: 40, session })).body).toEqual({ counted: true });
    await promote(id, t0 + 1000);
    clock.set(t0 + 5 * 60_000);
    const other = Array.from({ length: 400 }, (_, i) => `post-${i}`).find((v) => shardIndexFor(v, HOT) !== sessionShardFor(sid, HOT) && shardIndexFor(v, HOT) !== shardIndexFor(first, HOT))!;
    expect((await viewJson(id, { viewerId: other, watchDuration: 40, session })).body).toEqual({ counted: false, reason: 'session_used' });
  });

  it('promotes a video to the hot shard count once a base shard gets hot', async () => {
    const { id } = await playableVideo(120);
    const stub = shardStub(env, id, 0);
    const n = defaults.views.hotShardViewsPerMinute;
    for (let i = 0; i < n; i++) {
      const r = await stub.record({ videoId: id, shardIndex: 0, shardCount: SHARDS, promotedAt: null, viewerId: `hot-${i}`, watchDuration: 40, ...oneSession() });
      expect(r.status).toBe('counted');
    }
    const row = await env.DB.prepare('SELECT shard_count FROM view_shard_configs WHERE video_id = ?').bind(id).first<{ shard_count: number }>();
    expect(row?.shard_count).toBe(HOT);
    // The promoter knows at once: an event still routed by the old count for a viewer that moved is forwarded.
    const mover = Array.from({ length: 400 }, (_, i) => `after-${i}`).find((v) => shardIndexFor(v, HOT) !== 0)!;
    expect(await stub.record({ videoId: id, shardIndex: 0, shardCount: SHARDS, promotedAt: null, viewerId: mover, watchDuration: 40, ...oneSession() })).toEqual({ status: 'counted', increment: 1 });
    expect((await stub.snapshot()).pendingViews).toBe(n);
    expect((await shardStub(env, id, shardIndexFor(mover, HOT)).snapshot()).pendingViews).toBe(1);
    expect((await stats(id)).views).toBe(n + 1);
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
    expect((await ownerStats(id, '?from=yesterday')).status).toBe(400);
    expect((await ownerStats(id, '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(400);
    expect((await ownerStats(id, '?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(400);
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

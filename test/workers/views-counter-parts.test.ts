/**
 * The ViewCounter's capabilities on their own (workers/views/counter/), each over a real shard's SQLite store
 * through the `CounterHost` interface, with a clock the test moves and failing dependencies injected through it.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { loadConfig } from '../../workers/shared/config';
import type { ViewAnalyticsEvent } from '../../workers/views/analytics';
import { Dedup } from '../../workers/views/counter/dedup';
import { Flusher, type FlushTarget } from '../../workers/views/counter/flusher';
import { HllState } from '../../workers/views/counter/hll-state';
import { HOUR_MS, hourBucket, Meta, type AlarmTask, type CounterHost } from '../../workers/views/counter/host';
import { Outbox, type AnalyticsSink } from '../../workers/views/counter/outbox';
import { QoeLedger } from '../../workers/views/counter/qoe-ledger';
import { ViewerRateLimit } from '../../workers/views/counter/rate-limit';
import { AlarmScheduler } from '../../workers/views/counter/scheduler';
import type { FlushBatch } from '../../workers/views/flush';
import { shardStub } from '../../workers/views/routing';

const defaultConfig = loadConfig({});

const T0 = Date.UTC(2026, 0, 20, 10, 15);
let nextShard = 0;

/** Runs `fn` inside a shard nobody else uses, with a host over its store and a clock at `clock.t`. */
function withHost<R>(fn: (host: CounterHost, clock: { t: number }) => Promise<R> | R): Promise<R> {
  const stub = shardStub(env, `vid_parts${String(++nextShard).padStart(10, '0')}`, 0);
  return runInDurableObject(stub, (_i, state) => {
    const clock = { t: T0 };
    const host: CounterHost = {
      sql: state.storage.sql,
      config: defaultConfig,
      transaction: (f) => state.storage.transactionSync(f),
      now: () => clock.t,
    };
    return fn(host, clock);
  });
}

const event = (i: number): ViewAnalyticsEvent => ({ type: 'view', videoId: 'vid_x', viewer: `h${i}`, shard: 0, increment: 1, watchDuration: 40, at: T0 });

describe('Dedup', () => {
  it('counts a viewer once per window and a session once, and sweeps only expired entries', () =>
    withHost(async (host, clock) => {
      const dedup = new Dedup(host);
      const window = defaultConfig.views.dedupWindowMs;
      expect(dedup.claim('v1', 's1', T0 + window, T0)).toBe('fresh');
      expect(dedup.claim('v1', 's2', T0 + window, T0 + 1)).toBe('duplicate');
      expect(dedup.claim('v2', 's1', T0 + window, T0 + 2)).toBe('session_used');
      expect(dedup.nextDue()).toBe(T0 + window);
      // After the window the same viewer counts again (before any sweep: the expiry is checked, not the sweep).
      expect(dedup.claim('v1', 's3', T0 + 2 * window, T0 + window)).toBe('fresh');
      clock.t = T0 + window + 1;
      await dedup.onAlarm(clock.t);
      expect(host.sql.exec('SELECT viewer FROM dedup').toArray()).toEqual([{ viewer: 'v1' }]);
      expect(host.sql.exec('SELECT session FROM sessions ORDER BY session').toArray()).toEqual([{ session: 's3' }]);
      // Within the sweep interval nothing is swept, and the next due time waits for the interval.
      expect(dedup.nextDue()).toBe(T0 + 2 * window);
      host.sql.exec("INSERT INTO dedup (viewer, expires_at) VALUES ('old', ?)", clock.t);
      expect(dedup.nextDue()).toBe(clock.t + defaultConfig.views.dedupSweepIntervalMs);
      await dedup.onAlarm(clock.t + 1000);
      expect(host.sql.exec("SELECT 1 FROM dedup WHERE viewer = 'old'").toArray()).toHaveLength(1);
    }));

  it('a handover import keeps the later expiry and returns only live entries', () =>
    withHost((host) => {
      const dedup = new Dedup(host);
      dedup.claim('a', 's-a', T0 + 10, T0);
      host.transaction(() => dedup.importEntries([{ viewer: 'a', expiresAt: T0 + 5 }, { viewer: 'b', expiresAt: T0 + 20 }, { viewer: 'c', expiresAt: T0 - 1 }]));
      const live = dedup.liveEntries(T0).sort((x, y) => x.viewer.localeCompare(y.viewer));
      expect(live).toEqual([
        { viewer: 'a', expiresAt: T0 + defaultConfig.views.dedupWindowMs },
        { viewer: 'b', expiresAt: T0 + 20 },
      ]);
    }));
});

describe('Outbox', () => {
  it('keeps events when the queue fails and sends them, in order, once it works', () =>
    withHost(async (host, clock) => {
      let failing = true;
      const sent: ViewAnalyticsEvent[] = [];
      const sink: AnalyticsSink = {
        sendBatch: async (messages) => {
          if (failing) throw new Error('queue unavailable');
          for (const m of messages) sent.push(m.body);
        },
      };
      const outbox = new Outbox(host, sink);
      host.transaction(() => [0, 1, 2].forEach((i) => outbox.append(event(i), T0)));
      expect(outbox.nextDue(T0)).toBe(T0 + defaultConfig.views.analyticsMaxDelayMs);
      await outbox.onAlarm();
      expect(host.sql.exec('SELECT COUNT(*) AS n FROM outbox').one().n).toBe(3);
      // A failed send is not retried sooner than a second later, however late the oldest event is.
      clock.t = T0 + 10 * defaultConfig.views.analyticsMaxDelayMs;
      expect(outbox.nextDue(clock.t)).toBe(clock.t + 1000);
      failing = false;
      await outbox.onAlarm();
      expect(sent).toEqual([event(0), event(1), event(2)]);
      expect(outbox.nextDue(clock.t)).toBeNull();
      // A restarted object picks its row count up from storage: a batch is ready once `analyticsBatchSize` rows wait.
      const batch = defaultConfig.views.analyticsBatchSize;
      host.transaction(() => {
        for (let i = 0; i < batch - 1; i++) outbox.append(event(i), clock.t);
      });
      expect(new Outbox(host, sink).batchReady).toBe(false);
      host.transaction(() => outbox.append(event(batch), clock.t));
      expect(new Outbox(host, sink).batchReady).toBe(true);
    }));
});

describe('Flusher', () => {
  function flusherWith(host: CounterHost, target: FlushTarget) {
    const meta = new Meta(host.sql);
    const hll = new HllState(host);
    return { flusher: new Flusher(host, meta, hll, new QoeLedger(host), target, () => ({ videoId: 'vid_parts', shardIndex: 0 })), hll };
  }

  it('keeps a batch whose D1 write failed, retries it after the backoff, and replays the same seq', () =>
    withHost(async (host, clock) => {
      const applied: FlushBatch[] = [];
      let failNext = true;
      const target: FlushTarget = {
        apply: async (batch) => {
          applied.push(batch);
          if (failNext) throw new Error('D1 unavailable');
        },
        register: async () => {},
        unregister: async () => {},
      };
      const { flusher, hll } = flusherWith(host, target);
      const hour = hourBucket(T0);
      host.transaction(() => {
        flusher.add(hour, 1);
        flusher.add(hour, 1);
        hll.add('v1', hour);
        hll.add('v2', hour);
      });
      const due = flusher.nextDue()!;
      expect(due).toBeGreaterThanOrEqual(hour * 1000 + HOUR_MS);
      clock.t = due;
      await flusher.onAlarm(clock.t);
      expect(applied).toHaveLength(1);
      expect(flusher.snapshot()).toMatchObject({ pendingViews: 0, inflight: { seq: 1, views: 2 } });
      expect(flusher.nextDue()).toBe(clock.t + 30_000);

      // A view after the failure goes to a fresh pending hour, not into the stuck batch.
      host.transaction(() => flusher.add(hourBucket(clock.t), 1));
      failNext = false;
      clock.t += 30_000;
      await flusher.onAlarm(clock.t);
      expect(applied.map((b) => b.seq)).toEqual([1, 1]);
      expect(applied[1]!.hours).toEqual([{ hour, views: 2, uniques: 2 }]);
      expect(flusher.snapshot()).toMatchObject({ pendingViews: 1, inflight: null });
      // The flushed, closed hour's registers are gone; the all-time ones stay.
      expect(host.sql.exec('SELECT COUNT(*) AS n FROM hll WHERE scope = ?', hour).one().n).toBe(0);
      expect(hll.allTimeRegisters()).not.toBeNull();
      expect((await flusher.flush()).status).toBe('ok');
      expect(applied.map((b) => b.seq)).toEqual([1, 1, 2]);
    }));

  it('shares one running flush between concurrent callers', () =>
    withHost(async (host) => {
      let calls = 0;
      const target: FlushTarget = { apply: async () => void calls++, register: async () => {}, unregister: async () => {} };
      const { flusher } = flusherWith(host, target);
      host.transaction(() => flusher.add(hourBucket(T0), 3));
      const [a, b] = await Promise.all([flusher.flush(), flusher.flush()]);
      expect(a).toEqual({ status: 'ok', seq: 1, views: 3 });
      expect(b).toEqual(a);
      expect(calls).toBe(1);
    }));
});

describe('AlarmScheduler', () => {
  it('gives every task its turn (a failing one does not stop the rest) and sets the earliest next deadline', async () => {
    const set: number[] = [];
    let alarm: number | null = null;
    const store = { getAlarm: async () => alarm, setAlarm: async (at: number) => void set.push((alarm = at)) };
    const ran: string[] = [];
    const task = (name: string, due: number | null, fail = false): AlarmTask => ({
      onAlarm: async () => {
        ran.push(name);
        if (fail) throw new Error(`${name} failed`);
      },
      nextDue: () => due,
    });
    const now = 1_000_000;
    const scheduler = new AlarmScheduler(store, [task('a', now + 5000, true), task('b', null), task('c', now + 2000)], () => now);
    const before = Date.now();
    await scheduler.onAlarm();
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(set).toHaveLength(1);
    // The delay is carried over to the wall clock.
    expect(set[0]! - before).toBeGreaterThanOrEqual(2000);
    expect(set[0]! - before).toBeLessThan(2000 + 60_000);
    // A later wake does not move the alarm; an earlier one does.
    await scheduler.wake(now + 9000);
    expect(set).toHaveLength(1);
    await scheduler.wake(now);
    expect(set).toHaveLength(2);
  });
});

describe('ViewerRateLimit', () => {
  it('allows the per-minute budget, then answers the seconds left in the window', () => {
    const limit = new ViewerRateLimit(2);
    expect([limit.take('v', 0), limit.take('v', 1000), limit.take('v', 15_000)]).toEqual([0, 0, 45]);
    expect(limit.take('other', 15_000)).toBe(0);
    expect(limit.take('v', 60_000)).toBe(0);
  });
});

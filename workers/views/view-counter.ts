/**
 * One shard of a video's view counter (SQLite-backed Durable Object, named `{videoId}#{index}`).
 *
 * A shard owns a disjoint slice of the video's viewers (see routing.ts) and keeps, in its own storage:
 * - `dedup`: viewer → window expiry. Business rule: one view per (viewer, video) per 30 minutes, the production design's window,
 *   long enough to absorb reloads and replays, short enough that a real rewatch later in the day counts. Entries are
 *   swept by alarm, so storage is bounded by the viewers of the last 30 minutes (lookups also check the expiry, so
 *   correctness never depends on the sweep having run).
 * - `pending`: exact views per hour since the last flush; `flush_batch`: the snapshot being applied to D1.
 * - `hll`: HyperLogLog registers (only the non-zero ones) of all-time viewers (scope 0) and of each unflushed hour
 *   (scope = hour start); all-time registers survive flushes, so unique viewers are never lost.
 * - `outbox`: analytics events waiting to be sent to the queue in a batch.
 * - `sessions`: playback sessions that already counted a view → when they expire. Business rule: one view per
 *   playback session, on top of the per-viewer window, so one session cannot count under many made-up viewer ids.
 *   Checked in the same transaction as the viewer dedup; swept with it. (A session is decided by the shard of the
 *   viewer it is used with: on a promoted video, one session used under ids that land on different shards could
 *   count once per shard; the per-address view allowance bounds that too.)
 * A per-viewer rate limit lives in memory: a flood from one viewer is refused (429) before it touches storage.
 * A counted view is one local transaction: the dedup upsert (which is also the duplicate check), the pending count,
 * the HLL registers the viewer raised (usually none once a sketch fills) and the outbox row.
 * Promotion (see routing.ts): `meta.promoted_to` on an old shard makes it forward stale-routed events;
 * `meta.handover_done` on a new shard records that it pulled its viewers' dedup entries from the old shard.
 */
import { DurableObject } from 'cloudflare:workers';
import { loadConfig, type Config } from '../shared/config';
import { openDb } from '../shared/db';
import { runtime } from '../shared/runtime';
import { viewerDigest, type ViewAnalyticsEvent } from './analytics';
import { applyFlush, registerPending, unregisterPending } from './flush';
import { hashViewer, sketchFromRows, ViewerSketch } from './hll';
import { handoverSource, promoteVideo, shardIndexFor, shardStub, type ShardPlan } from './routing';

const HOUR_MS = 3_600_000;
const ALL_TIME = 0;
const OUTBOX_MAX = 100_000;
const RETRY_FLUSH_MS = 30_000;

export const hourBucket = (ms: number): number => Math.floor(ms / HOUR_MS) * 3600;

export interface ShardIdentity {
  videoId: string;
  shardIndex: number;
}

export interface RecordInput extends ShardIdentity, ShardPlan {
  viewerId: string;
  watchDuration: number;
  /** The beacon's playback session and when it stops being accepted (ms). */
  sessionId: string;
  sessionExpiresAt: number;
}

export type RecordResult =
  | { status: 'counted'; increment: number }
  | { status: 'duplicate' }
  | { status: 'session_used' }
  | { status: 'rate_limited'; retryAfterSec: number }
  | { status: 'failed'; error: string };

export type HandoverResult =
  | { status: 'ok'; entries: { viewer: string; expiresAt: number }[] }
  | { status: 'failed'; error: string };

export type FlushResult = { status: 'ok'; seq: number | null; views: number } | { status: 'failed'; error: string };

export interface ShardSnapshot {
  /** Views not yet in any flush batch. */
  pendingViews: number;
  /** The batch being applied to D1, if a flush is under way or crashed before clearing it. */
  inflight: { seq: number; views: number; hours: { hour: number; views: number }[] } | null;
  /** Unflushed views per hour (the current hour's figures before its flush), with the hour's unique viewers. */
  hours: { hour: number; views: number; uniques: number }[];
  /** All-time viewer registers, or null when the shard has never counted anyone. */
  registers: Uint8Array | null;
}

/** Test seam: lets a test crash a flush between the D1 write and the local reset. */
export interface FlushFaults {
  afterD1Write?: () => void;
}

export class ViewCounter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly config: Config;
  private identity: ShardIdentity | null = null;
  private allTime: ViewerSketch;
  private readonly hourSketches = new Map<number, ViewerSketch>();
  private readonly rate = new Map<string, { windowStart: number; count: number }>();
  private minute = { start: 0, accepted: 0 };
  private promoted = false;
  /** This old shard's promotion (from `meta`), once it knows of it: it then forwards stale-routed events. */
  private promotion: { shardCount: number; promotedAt: number } | null = null;
  /** Whether this new shard has its viewers' dedup entries from the old shard (from `meta`). */
  private handedOver = false;
  private handover: Promise<RecordResult | null> | null = null;
  /** Rows in `outbox` (memory; loaded from storage on start). */
  private outboxSize: number;
  /** Whether this pending period is registered in D1 (memory only: after a restart we simply register again). */
  private registered = false;
  private alarmAt: number | null = null;
  private lastSweep = 0;
  private draining = false;
  private flushing: Promise<FlushResult> | null = null;
  /** After a failed flush, when to try again (runtime clock); a batch found after a restart is retried at once. */
  private flushRetryAt = 0;
  faults: FlushFaults = {};

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.config = loadConfig(env as unknown as Record<string, unknown>);
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dedup (viewer TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup (expires_at);
      CREATE TABLE IF NOT EXISTS pending (hour INTEGER PRIMARY KEY, views INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS hll (scope INTEGER NOT NULL, idx INTEGER NOT NULL, val INTEGER NOT NULL,
        PRIMARY KEY (scope, idx)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS flush_batch (seq INTEGER NOT NULL, hour INTEGER NOT NULL, views INTEGER NOT NULL,
        uniques INTEGER NOT NULL, generation INTEGER NOT NULL, PRIMARY KEY (seq, hour));
      CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS sessions (session TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
    `);
    const videoId = this.meta('video_id');
    const shardIndex = this.meta('shard_index');
    if (typeof videoId === 'string' && typeof shardIndex === 'number') this.identity = { videoId, shardIndex };
    this.allTime = this.loadSketch(ALL_TIME);
    const promotedTo = this.meta('promoted_to');
    const promotedAt = this.meta('promoted_at');
    if (typeof promotedTo === 'number' && typeof promotedAt === 'number') this.promotion = { shardCount: promotedTo, promotedAt };
    this.handedOver = this.meta('handover_done') === 1;
    this.outboxSize = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
  }

  // ---- RPC ----------------------------------------------------------------------------------------------------

  /** Decides one valid-by-duration view event for a viewer routed here: counted, duplicate or rate-limited. */
  async record(input: RecordInput): Promise<RecordResult> {
    try {
      this.remember(input);
      const viewer = await viewerDigest(input.viewerId);
      if (input.shardCount > this.config.views.shards && input.promotedAt !== null && input.shardIndex < this.config.views.shards) {
        // A fresh-routed event reached a base shard: it learns of the promotion without waiting for a pull.
        this.markPromoted(input.shardCount, input.promotedAt);
      }
      const now = runtime().now();
      const retryAfterSec = this.rateLimit(input.viewerId, now);
      if (retryAfterSec > 0) return { status: 'rate_limited', retryAfterSec };

      const forwardTo = this.forwardTarget(input);
      if (forwardTo !== null) {
        // Stale routing after a promotion: the viewer's new shard decides (it pulls this shard's entries first).
        return await shardStub(this.env, input.videoId, forwardTo.shardIndex).record({ ...input, ...forwardTo });
      }
      if (!this.handedOver && handoverSource(input.shardIndex, input, this.config, now) !== null) {
        this.handover ??= this.pullHandover(input).finally(() => {
          this.handover = null;
        });
        const failed = await this.handover;
        if (failed) return failed;
        // Awaiting may have let a promotion or handover land; re-check the routing with the state we now have.
        const again = this.forwardTarget(input);
        if (again !== null) return await shardStub(this.env, input.videoId, again.shardIndex).record({ ...input, ...again });
      }

      // From here to the commit there is no await: the duplicate check and the count are one local transaction.
      const outcome = this.count(input, now, viewer);
      if (outcome.status !== 'counted') return outcome;
      await this.afterCount(input, now);
      return outcome;
    } catch (err) {
      console.error('ViewCounter.record failed', err);
      return { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Promotion handover, old-shard side (see routing.ts): marks this shard promoted, durably and before answering,
   * then returns the live dedup entries of the viewers whose new shard is `target`.
   */
  handoverTo(target: number, plan: ShardPlan): HandoverResult {
    try {
      if (plan.promotedAt === null) return { status: 'failed', error: 'handover without a promotion' };
      this.markPromoted(plan.shardCount, plan.promotedAt);
      const now = runtime().now();
      const entries: { viewer: string; expiresAt: number }[] = [];
      for (const row of this.sql.exec<{ viewer: string; expires_at: number }>('SELECT viewer, expires_at FROM dedup WHERE expires_at > ?', now)) {
        if (shardIndexFor(row.viewer, plan.shardCount) === target) entries.push({ viewer: row.viewer, expiresAt: row.expires_at });
      }
      return { status: 'ok', entries };
    } catch (err) {
      return { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Live state for stats: unflushed views and the all-time viewer registers. */
  snapshot(): ShardSnapshot {
    const pendingRows = this.sql.exec<{ hour: number; views: number }>('SELECT hour, views FROM pending ORDER BY hour').toArray();
    const inflight = this.sql
      .exec<{ seq: number; views: number }>('SELECT seq, SUM(views) AS views FROM flush_batch GROUP BY seq ORDER BY seq LIMIT 1')
      .toArray()[0];
    const inflightHours = inflight
      ? this.sql.exec<{ hour: number; views: number }>('SELECT hour, views FROM flush_batch WHERE seq = ? ORDER BY hour', inflight.seq).toArray()
      : [];
    return {
      pendingViews: pendingRows.reduce((sum, r) => sum + r.views, 0),
      inflight: inflight ? { seq: inflight.seq, views: inflight.views, hours: inflightHours } : null,
      hours: pendingRows.map((r) => ({ hour: r.hour, views: r.views, uniques: this.hourSketch(r.hour).count() })),
      registers: this.allTime.isEmpty() ? null : this.allTime.registers(),
    };
  }

  /** Applies pending views to D1 now (the alarm calls this at the end of each hour; the cron for overdue shards). */
  flush(identity?: ShardIdentity): Promise<FlushResult> {
    if (identity) this.remember(identity);
    // One flush at a time: a second caller shares the running one instead of racing it for the same batch.
    this.flushing ??= this.runFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = runtime().now();
    let retryFlush = false;
    try {
      if (now - this.lastSweep >= this.config.views.dedupSweepIntervalMs) {
        this.sql.exec('DELETE FROM dedup WHERE expires_at <= ?', now);
        this.sql.exec('DELETE FROM sessions WHERE expires_at <= ?', now);
        this.lastSweep = now;
      }
      await this.drainOutbox();
      const due = this.flushDueAt();
      if (due !== null && due <= now) {
        const result = await this.flush();
        retryFlush = result.status !== 'ok';
      }
    } catch (err) {
      console.error('ViewCounter alarm failed; will retry', err);
      retryFlush = true;
    }
    await this.scheduleNext(now, retryFlush);
  }

  // ---- promotion handover ------------------------------------------------------------------------------------

  /** Where a stale-routed event must go: this shard knows of a promotion the event's router did not. */
  private forwardTarget(input: RecordInput): { shardIndex: number; shardCount: number; promotedAt: number } | null {
    const p = this.promotion;
    if (!p || input.shardCount >= p.shardCount) return null;
    const target = shardIndexFor(input.viewerId, p.shardCount);
    return target === input.shardIndex ? null : { shardIndex: target, shardCount: p.shardCount, promotedAt: p.promotedAt };
  }

  private markPromoted(shardCount: number, promotedAt: number): void {
    if (this.promotion && this.promotion.shardCount >= shardCount) return;
    this.promotion = { shardCount, promotedAt };
    this.setMeta('promoted_to', shardCount);
    this.setMeta('promoted_at', promotedAt);
  }

  /** New-shard side: one pull per shard; returns a result to answer with when the pull failed, else null. */
  private async pullHandover(input: RecordInput): Promise<RecordResult | null> {
    const source = handoverSource(input.shardIndex, input, this.config, runtime().now());
    if (source === null || this.handedOver) return null;
    const result = await shardStub(this.env, input.videoId, source).handoverTo(input.shardIndex, input);
    if (result.status !== 'ok') return { status: 'failed', error: result.error };
    let latest = 0;
    this.ctx.storage.transactionSync(() => {
      for (const e of result.entries) {
        // Keep the later expiry if this shard somehow already has the viewer.
        this.sql.exec(
          'INSERT INTO dedup (viewer, expires_at) VALUES (?, ?) ON CONFLICT (viewer) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
          e.viewer,
          e.expiresAt,
        );
        latest = Math.max(latest, e.expiresAt);
      }
      this.setMeta('handover_done', 1);
    });
    this.handedOver = true;
    if (latest > 0) await this.ensureAlarm(latest);
    return null;
  }

  // ---- counting -----------------------------------------------------------------------------------------------

  /**
   * Business rule (sampling, off by default): when `views.samplingEnabled` is on and the video is hot, a counted view
   * adds 1/rate with probability `rate` (the production design's "1% sampling, scale up"). Dedup and unique viewers stay exact.
   */
  private incrementFor(input: RecordInput): number {
    const v = this.config.views;
    if (!v.samplingEnabled || input.shardCount < v.hotVideoShards) return 1;
    return runtime().random() < v.samplingRate ? Math.round(1 / v.samplingRate) : 0;
  }

  /** Records the view unless its session already counted one or the viewer is inside its dedup window. */
  private count(input: RecordInput, now: number, viewer: string): Extract<RecordResult, { status: 'counted' | 'duplicate' | 'session_used' }> {
    const hour = hourBucket(now);
    const increment = this.incrementFor(input);
    return this.ctx.storage.transactionSync(() => {
      const used = this.sql.exec('SELECT 1 FROM sessions WHERE session = ? AND expires_at > ?', input.sessionId, now).toArray().length > 0;
      if (used) return { status: 'session_used' as const };
      // The duplicate check and the dedup record in one statement: the upsert writes only when the viewer has no
      // live entry (new, or expired and not yet swept).
      const dedup = this.sql.exec(
        `INSERT INTO dedup (viewer, expires_at) VALUES (?1, ?2)
         ON CONFLICT (viewer) DO UPDATE SET expires_at = excluded.expires_at WHERE dedup.expires_at <= ?3`,
        input.viewerId,
        now + this.config.views.dedupWindowMs,
        now,
      );
      if (dedup.rowsWritten === 0) return { status: 'duplicate' as const };
      this.sql.exec('INSERT OR REPLACE INTO sessions (session, expires_at) VALUES (?, ?)', input.sessionId, input.sessionExpiresAt);
      this.sql.exec(
        'INSERT INTO pending (hour, views) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET views = views + excluded.views',
        hour,
        increment,
      );
      const hash = hashViewer(input.viewerId);
      for (const [scope, sketch] of [
        [ALL_TIME, this.allTime],
        [hour, this.hourSketch(hour)],
      ] as const) {
        const raised = sketch.add(hash);
        if (raised) this.sql.exec('INSERT OR REPLACE INTO hll (scope, idx, val) VALUES (?, ?, ?)', scope, raised.index, raised.value);
      }
      const event: ViewAnalyticsEvent = {
        type: 'view',
        videoId: input.videoId,
        viewer,
        shard: input.shardIndex,
        increment,
        watchDuration: input.watchDuration,
        at: now,
      };
      this.sql.exec('INSERT INTO outbox (body, created_at) VALUES (?, ?)', JSON.stringify(event), now);
      this.outboxSize++;
      return { status: 'counted' as const, increment };
    });
  }

  private async afterCount(input: RecordInput, now: number): Promise<void> {
    const v = this.config.views;
    if (this.outboxSize >= v.analyticsBatchSize) void this.drainOutbox();
    await this.ensureAlarm(Math.min(now + v.analyticsMaxDelayMs, this.flushDueAt() ?? Infinity));

    if (!this.registered) {
      this.registered = true;
      const generation = ((this.meta('generation') as number | null) ?? 0) + 1;
      this.setMeta('generation', generation);
      await registerPending(this.env.DB, input.videoId, input.shardIndex, generation, now).catch((err) => {
        this.registered = false;
        console.error('registering pending shard failed (its alarm still flushes it)', err);
      });
    }

    // Business rule (hot videos): a base shard accepting more than `hotShardViewsPerMinute` views in a minute means
    // the whole video is ~8× that; promote it so new viewers spread over `hotVideoShards` shards.
    if (now - this.minute.start >= 60_000) this.minute = { start: now, accepted: 0 };
    this.minute.accepted++;
    if (!this.promoted && input.shardCount < v.hotVideoShards && this.minute.accepted >= v.hotShardViewsPerMinute) {
      this.promoted = true;
      try {
        const plan = await promoteVideo(openDb(this.env.DB), this.config, input.videoId, now);
        // The promoter forwards stale-routed events at once instead of waiting for the first pull.
        if (plan.promotedAt !== null) this.markPromoted(plan.shardCount, plan.promotedAt);
      } catch (err) {
        this.promoted = false;
        console.error('promoting hot video failed', err);
      }
    }
  }

  /** Fixed one-minute window per viewer; returns seconds to wait, or 0 when the event is allowed. */
  private rateLimit(viewerId: string, now: number): number {
    const limit = this.config.views.viewerEventsPerMinute;
    let entry = this.rate.get(viewerId);
    if (!entry || now - entry.windowStart >= 60_000) {
      if (this.rate.size >= 50_000) {
        for (const [k, e] of this.rate) if (now - e.windowStart >= 60_000) this.rate.delete(k);
      }
      entry = { windowStart: now, count: 0 };
      this.rate.set(viewerId, entry);
    }
    entry.count++;
    return entry.count > limit ? Math.max(1, Math.ceil((entry.windowStart + 60_000 - now) / 1000)) : 0;
  }

  // ---- flushing -----------------------------------------------------------------------------------------------

  /** When the oldest pending hour should be flushed: its end plus a per-shard jitter; a stuck batch is due now. */
  private flushDueAt(): number | null {
    const inflight = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM flush_batch').one().n;
    if (inflight > 0) return this.flushRetryAt;
    const oldest = this.sql.exec<{ h: number | null }>('SELECT MIN(hour) AS h FROM pending').one().h;
    if (oldest === null) return null;
    const jitter = this.identity ? (this.identity.shardIndex * 7919) % (this.config.views.flushJitterMs + 1) : 0;
    return oldest * 1000 + HOUR_MS + jitter;
  }

  private async runFlush(): Promise<FlushResult> {
    const id = this.identity;
    if (!id) return { status: 'ok', seq: null, views: 0 };
    try {
      let seq = this.sql.exec<{ s: number | null }>('SELECT MIN(seq) AS s FROM flush_batch').one().s;
      if (seq === null) {
        const pending = this.sql.exec<{ hour: number; views: number }>('SELECT hour, views FROM pending ORDER BY hour').toArray();
        const generation = (this.meta('generation') as number | null) ?? 0;
        if (pending.length === 0) {
          await unregisterPending(this.env.DB, id.videoId, id.shardIndex, generation);
          return { status: 'ok', seq: null, views: 0 };
        }
        seq = ((this.meta('next_seq') as number | null) ?? 1) as number;
        const batchSeq = seq;
        // Snapshot and reset in one local transaction: new views from here on go to fresh `pending` rows.
        this.ctx.storage.transactionSync(() => {
          for (const p of pending) {
            this.sql.exec(
              'INSERT INTO flush_batch (seq, hour, views, uniques, generation) VALUES (?, ?, ?, ?, ?)',
              batchSeq,
              p.hour,
              p.views,
              this.hourSketch(p.hour).count(),
              generation,
            );
          }
          this.sql.exec('DELETE FROM pending');
          this.setMeta('next_seq', batchSeq + 1);
        });
        this.registered = false;
      }
      const rows = this.sql
        .exec<{ hour: number; views: number; uniques: number; generation: number }>('SELECT hour, views, uniques, generation FROM flush_batch WHERE seq = ? ORDER BY hour', seq)
        .toArray();
      const hours = rows.map(({ hour, views, uniques }) => ({ hour, views, uniques }));
      const now = runtime().now();
      await applyFlush(this.env.DB, { ...id, seq, generation: rows[0]?.generation ?? 0, hours, now });
      this.faults.afterD1Write?.();
      const batchSeq = seq;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec('DELETE FROM flush_batch WHERE seq = ?', batchSeq);
        // A closed hour that was just flushed is final: its unique-viewer registers are no longer needed.
        const currentHour = hourBucket(now);
        for (const h of hours) {
          const stillPending = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pending WHERE hour = ?', h.hour).one().n;
          if (h.hour < currentHour && stillPending === 0) {
            this.sql.exec('DELETE FROM hll WHERE scope = ?', h.hour);
            this.hourSketches.delete(h.hour);
          }
        }
      });
      return { status: 'ok', seq, views: hours.reduce((s, h) => s + h.views, 0) };
    } catch (err) {
      this.flushRetryAt = runtime().now() + RETRY_FLUSH_MS;
      console.error('ViewCounter flush failed; the batch stays and is retried', err);
      return { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  }

  // ---- analytics outbox ---------------------------------------------------------------------------------------

  private async drainOutbox(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      const size = this.config.views.analyticsBatchSize;
      const excess = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n - OUTBOX_MAX;
      if (excess > 0) {
        console.warn(`analytics outbox over ${OUTBOX_MAX}; dropping the ${excess} oldest events`);
        this.sql.exec('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)', excess);
        this.outboxSize -= excess;
      }
      for (;;) {
        const rows = this.sql.exec<{ id: number; body: string }>('SELECT id, body FROM outbox ORDER BY id LIMIT ?', size).toArray();
        if (rows.length === 0) break;
        await this.env.ANALYTICS_QUEUE.sendBatch(
          rows.map((r) => ({ body: JSON.parse(r.body) as ViewAnalyticsEvent, contentType: 'json' as const })),
        );
        this.sql.exec('DELETE FROM outbox WHERE id <= ?', rows[rows.length - 1]!.id);
        this.outboxSize = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
        if (rows.length < size) break;
      }
    } catch (err) {
      console.error('sending analytics batch failed; kept for the next alarm', err);
    } finally {
      this.draining = false;
    }
  }

  // ---- alarm and storage helpers ------------------------------------------------------------------------------

  private async scheduleNext(now: number, retryFlush: boolean): Promise<void> {
    const candidates: number[] = [];
    const flushDue = this.flushDueAt();
    if (flushDue !== null) candidates.push(retryFlush && flushDue <= now ? now + RETRY_FLUSH_MS : flushDue);
    const outboxOldest = this.sql.exec<{ t: number | null }>('SELECT MIN(created_at) AS t FROM outbox').one().t;
    if (outboxOldest !== null) candidates.push(Math.max(now + 1000, outboxOldest + this.config.views.analyticsMaxDelayMs));
    const dedupNext = this.sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM dedup').one().t;
    if (dedupNext !== null) candidates.push(Math.max(dedupNext, this.lastSweep + this.config.views.dedupSweepIntervalMs));
    const sessionNext = this.sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM sessions').one().t;
    if (sessionNext !== null) candidates.push(Math.max(sessionNext, this.lastSweep + this.config.views.dedupSweepIntervalMs));
    if (candidates.length) await this.ensureAlarm(Math.min(...candidates));
  }

  /**
   * Schedules the alarm for `at` on the runtime clock. The runtime fires alarms by the wall clock, so the delay
   * (not the instant) is carried over: with an injected clock in tests, alarms still fire after the intended delay.
   */
  private async ensureAlarm(at: number): Promise<void> {
    const wallAt = Date.now() + Math.max(0, at - runtime().now());
    if (this.alarmAt !== null && this.alarmAt <= wallAt) return;
    if (this.alarmAt === null) {
      const existing = await this.ctx.storage.getAlarm();
      if (existing !== null && existing <= wallAt) {
        this.alarmAt = existing;
        return;
      }
    }
    this.alarmAt = wallAt;
    await this.ctx.storage.setAlarm(wallAt);
  }

  private hourSketch(hour: number): ViewerSketch {
    let sketch = this.hourSketches.get(hour);
    if (!sketch) {
      sketch = this.loadSketch(hour);
      this.hourSketches.set(hour, sketch);
    }
    return sketch;
  }

  private loadSketch(scope: number): ViewerSketch {
    const rows = this.sql.exec<{ idx: number; val: number }>('SELECT idx, val FROM hll WHERE scope = ?', scope);
    return sketchFromRows(this.config.views.hllPrecision, rows);
  }

  private remember(identity: ShardIdentity): void {
    if (this.identity) return;
    this.identity = { videoId: identity.videoId, shardIndex: identity.shardIndex };
    this.setMeta('video_id', identity.videoId);
    this.setMeta('shard_index', identity.shardIndex);
  }

  private meta(key: string): string | number | null {
    const row = this.sql.exec<{ value: string | number | null }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row ? row.value : null;
  }

  private setMeta(key: string, value: string | number): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, value);
  }
}

/**
 * One shard of a video's view counter (SQLite-backed Durable Object, named `{videoId}#{index}`).
 *
 * A shard owns a disjoint slice of the video's viewers (see routing.ts). This class is the RPC surface and the
 * wiring; the work is done by capabilities in `counter/`, each over the narrow `CounterHost` (SQL, transaction,
 * clock, config):
 * - `dedup.ts`: viewer window and playback-session dedup, swept by the alarm;
 * - `rate-limit.ts`: the per-viewer limit, in memory, checked before storage is touched;
 * - `hll-state.ts`: unique-viewer registers (all-time and per unflushed hour);
 * - `outbox.ts`: analytics events waiting for the queue;
 * - `flusher.ts`: pending views per hour and the exactly-once flush to D1;
 * - `promotion.ts`: hot-video promotion, forwarding of stale-routed events and the dedup handover;
 * - `qoe-ledger.ts`: the latest QoE record of each playback session routed here, flushed with the views;
 * - `count.ts`: the counting transaction over them; `scheduler.ts`: the one alarm, shared by dedup, outbox and flush;
 * - `schema.ts`: the tables, by schema version, migrated in `blockConcurrencyWhile` before any request.
 */
import { meterEnv } from '../metering/metered-env';
import { DurableObject } from 'cloudflare:workers';
import { loadConfig, type Config } from '../shared/config';
import { openDb } from '../shared/db';
import { migrateSchema } from '../shared/do-schema';
import { runtime } from '../shared/runtime';
import { viewerDigest } from './analytics';
import { countView, incrementFor, type CountParts } from './counter/count';
import { Dedup } from './counter/dedup';
import { d1FlushTarget, Flusher, type FlushTarget } from './counter/flusher';
import { HllState } from './counter/hll-state';
import { Meta, type CounterHost } from './counter/host';
import { Outbox } from './counter/outbox';
import { Promotion } from './counter/promotion';
import { QoeLedger } from './counter/qoe-ledger';
import { ViewerRateLimit } from './counter/rate-limit';
import { AlarmScheduler, type AlarmStore } from './counter/scheduler';
import { counterSchema } from './counter/schema';
import { errorMessage, type FlushResult, type HandoverResult, type QoeRecordInput, type QoeRecordResult, type QoeSnapshot, type RecordInput, type RecordResult, type SessionClaimInput, type SessionClaimResult, type ShardIdentity, type ShardSnapshot } from './counter/types';
import { promoteVideo, sessionShardFor, shardStub, type ShardPlan } from './routing';

export type { FlushResult, HandoverResult, QoeRecordInput, QoeRecordResult, QoeSnapshot, RecordInput, RecordResult, ShardIdentity, ShardSnapshot } from './counter/types';

export class ViewCounter extends DurableObject<Env> {
  private readonly config: Config;
  private readonly host: CounterHost;
  private readonly rate: ViewerRateLimit;
  private meta!: Meta;
  private identity: ShardIdentity | null = null;
  private parts!: CountParts;
  private qoe!: QoeLedger;
  private promotion!: Promotion;
  private scheduler!: AlarmScheduler;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meterEnv(env));
    this.config = loadConfig(env);
    this.rate = new ViewerRateLimit(this.config.views.viewerEventsPerMinute);
    this.host = {
      sql: ctx.storage.sql,
      config: this.config,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: () => runtime().now(),
    };
    void ctx.blockConcurrencyWhile(async () => {
      migrateSchema(ctx.storage, counterSchema);
      this.wire();
    });
  }

  /** The D1 side of flushes (a test subclass wraps it to inject a crash). */
  protected flushTarget(): FlushTarget {
    return d1FlushTarget(this.env.DB);
  }

  /** Where the object's one alarm is kept (a test subclass moves it so only the test fires it). */
  protected alarmStore(): AlarmStore {
    return this.ctx.storage;
  }

  private wire(): void {
    const host = this.host;
    this.meta = new Meta(host.sql);
    const videoId = this.meta.get('video_id');
    const shardIndex = this.meta.get('shard_index');
    if (typeof videoId === 'string' && typeof shardIndex === 'number') this.identity = { videoId, shardIndex };
    const dedup = new Dedup(host);
    const hll = new HllState(host);
    const outbox = new Outbox(host, this.env.ANALYTICS_QUEUE);
    this.qoe = new QoeLedger(host);
    const flusher = new Flusher(host, this.meta, hll, this.qoe, this.flushTarget(), () => this.identity);
    this.parts = { dedup, hll, outbox, flusher };
    this.scheduler = new AlarmScheduler(this.alarmStore(), [dedup, this.qoe, outbox, flusher], host.now);
    this.promotion = new Promotion(
      host,
      this.meta,
      dedup,
      {
        handoverTo: (video, source, target, plan) => shardStub(this.env, video, source).handoverTo(target, plan),
        promote: (video, now) => promoteVideo(openDb(this.env.DB), this.config, video, now),
      },
      (latest) => this.scheduler.wake(latest),
    );
  }

  // ---- RPC ----------------------------------------------------------------------------------------------------

  /** Decides one valid-by-duration view event for a viewer routed here: counted, duplicate or rate-limited. */
  async record(input: RecordInput): Promise<RecordResult> {
    try {
      this.remember(input);
      const viewer = await viewerDigest(input.viewerId);
      this.promotion.learnFrom(input);
      const now = this.host.now();
      const retryAfterSec = this.rate.take(input.viewerId, now);
      if (retryAfterSec > 0) return { status: 'rate_limited', retryAfterSec };

      // Stale routing after a promotion: the viewer's new shard decides (it pulls this shard's entries first).
      const forwardTo = this.promotion.forwardTarget(input);
      if (forwardTo !== null) return await this.forward(input, forwardTo);
      if (this.promotion.needsHandover(input, now)) {
        const failed = await this.promotion.pullHandover(input);
        if (failed) return failed;
        // Awaiting may have let a promotion or handover land; re-check the routing with the state we now have.
        const again = this.promotion.forwardTarget(input);
        if (again !== null) return await this.forward(input, again);
      }

      // From here to the commit there is no await: the duplicate check and the count are one local transaction.
      const increment = incrementFor(this.config, input.shardCount, () => runtime().random());
      const outcome = countView(this.host, this.parts, input, viewer, increment, now);
      if (outcome.status !== 'counted') return outcome;
      await this.afterCount(input, now);
      return outcome;
    } catch (err) {
      console.error('ViewCounter.record failed', err);
      return { status: 'failed', error: errorMessage(err) };
    }
  }

  /**
   * Takes a playback session for one view on behalf of the viewer's shard (see counter/dedup.ts): routed like
   * `record`, stale routing forwarded and a new shard's handover pulled first, so the session is decided where
   * every earlier use of it is known.
   */
  async claimSession(input: SessionClaimInput): Promise<SessionClaimResult> {
    try {
      this.remember(input);
      this.promotion.learnFrom(input);
      const forwardTo = this.promotion.forwardSessionTarget(input);
      if (forwardTo !== null) return await shardStub(this.env, input.videoId, forwardTo.shardIndex).claimSession({ ...input, ...forwardTo });
      if (this.promotion.needsHandover(input, this.host.now())) {
        const failed = await this.promotion.pullHandover(input);
        if (failed) return failed;
        const again = this.promotion.forwardSessionTarget(input);
        if (again !== null) return await shardStub(this.env, input.videoId, again.shardIndex).claimSession({ ...input, ...again });
      }
      return { status: this.parts.dedup.claimSession(input.sessionId, input.sessionExpiresAt, this.host.now()) };
    } catch (err) {
      return { status: 'failed', error: errorMessage(err) };
    }
  }

  /** Gives back a session claimed for a view that did not count. */
  releaseSession(sessionId: string): void {
    this.parts.dedup.releaseSession(sessionId);
  }

  /** Promotion handover, old-shard side (see counter/promotion.ts). */
  handoverTo(target: number, plan: ShardPlan): HandoverResult {
    try {
      return this.promotion.handoverTo(target, plan);
    } catch (err) {
      return { status: 'failed', error: errorMessage(err) };
    }
  }

  /**
   * Takes one playback session's QoE record (the session was verified by the route; its shard is chosen by the
   * session, see routing.ts `qoeShardFor`, so every record of a session lands here).
   */
  async recordQoe(input: QoeRecordInput): Promise<QoeRecordResult> {
    try {
      this.remember(input);
      const now = this.host.now();
      const status = this.qoe.record(input, now);
      if (status === 'accepted') {
        const due = this.parts.flusher.nextDue();
        if (due !== null) await this.scheduler.wake(due);
        await this.parts.flusher.ensureRegistered(input, now);
      }
      return { status };
    } catch (err) {
      console.error('ViewCounter.recordQoe failed', err);
      return { status: 'failed', error: errorMessage(err) };
    }
  }

  /** Unflushed QoE for live reports. */
  qoeSnapshot(): QoeSnapshot {
    return this.parts.flusher.qoeSnapshot();
  }

  /** Live state for stats: unflushed views and the all-time viewer registers. */
  snapshot(): ShardSnapshot {
    return { ...this.parts.flusher.snapshot(), registers: this.parts.hll.allTimeRegisters() };
  }

  /** Applies pending views to D1 now (the alarm calls this at the end of each hour; the cron for overdue shards). */
  flush(identity?: ShardIdentity): Promise<FlushResult> {
    if (identity) this.remember(identity);
    return this.parts.flusher.flush();
  }

  override async alarm(): Promise<void> {
    await this.scheduler.onAlarm();
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  /**
   * A stale-routed event goes to the viewer's shard under the newer plan. Its session, if this shard was to decide
   * it, is decided on the session's own shard under that plan first (and given back if the view does not count).
   */
  private async forward(input: RecordInput, to: { shardIndex: number; shardCount: number; promotedAt: number }): Promise<RecordResult> {
    const sessionShard = input.sessionId === null ? to.shardIndex : sessionShardFor(input.sessionId, to.shardCount);
    if (input.sessionId === null || sessionShard === to.shardIndex) return shardStub(this.env, input.videoId, to.shardIndex).record({ ...input, ...to });
    const sessions = shardStub(this.env, input.videoId, sessionShard);
    const claim = await sessions.claimSession({ videoId: input.videoId, shardIndex: sessionShard, shardCount: to.shardCount, promotedAt: to.promotedAt, sessionId: input.sessionId, sessionExpiresAt: input.sessionExpiresAt });
    if (claim.status !== 'fresh') return claim;
    const result = await shardStub(this.env, input.videoId, to.shardIndex).record({ ...input, ...to, sessionId: null });
    if (result.status !== 'counted') await sessions.releaseSession(input.sessionId);
    return result;
  }

  private async afterCount(input: RecordInput, now: number): Promise<void> {
    const { outbox, flusher } = this.parts;
    if (outbox.batchReady) void outbox.drain();
    await this.scheduler.wake(Math.min(now + this.config.views.analyticsMaxDelayMs, flusher.nextDue() ?? Infinity));
    await flusher.ensureRegistered(input, now);
    await this.promotion.noteCounted(input, now);
  }

  private remember(identity: ShardIdentity): void {
    if (this.identity) return;
    this.identity = { videoId: identity.videoId, shardIndex: identity.shardIndex };
    this.meta.set('video_id', identity.videoId);
    this.meta.set('shard_index', identity.shardIndex);
  }
}

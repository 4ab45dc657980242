/**
 * Hot-video promotion, shard side (the routing rule is in ../routing.ts).
 *
 * - Detection: a base shard accepting more than `hotShardViewsPerMinute` views in a minute promotes its video to
 *   `hotVideoShards` shards (with one base shard, that shard sees the whole video's traffic).
 * - Old shard: `meta.promoted_to`/`promoted_at` record that it knows of the promotion; it then forwards events still
 *   routed by the old count to the viewer's new shard, and hands its live dedup entries over on request.
 * - New shard: `meta.handover_done` records that it pulled its viewers' dedup entries and its playback sessions
 *   from the old shard (one pull per shard, shared by concurrent events), so a viewer counted just before the
 *   promotion is not counted again, nor a session used before it (sessions are decided on the shard their id routes
 *   to: routing.ts `sessionShardFor`).
 */
import { handoverSource, sessionShardFor, shardIndexFor, type ShardPlan } from '../routing';
import type { Dedup } from './dedup';
import type { CounterHost, Meta } from './host';
import type { HandoverResult, RecordInput, RecordResult, ShardIdentity } from './types';

/** The other shards and D1, as promotion needs them. */
export interface PromotionPeers {
  handoverTo(videoId: string, source: number, target: number, plan: ShardPlan): Promise<HandoverResult>;
  /** Records the promotion of a hot video in D1 and returns the new plan. */
  promote(videoId: string, now: number): Promise<ShardPlan>;
}

export class Promotion {
  /** This old shard's promotion, once it knows of it: it then forwards stale-routed events. */
  private promotion: { shardCount: number; promotedAt: number } | null = null;
  private handedOver: boolean;
  private pulling: Promise<Extract<RecordResult, { status: 'failed' }> | null> | null = null;
  private minute = { start: 0, accepted: 0 };
  private promoting = false;

  constructor(
    private readonly host: CounterHost,
    private readonly meta: Meta,
    private readonly dedup: Dedup,
    private readonly peers: PromotionPeers,
    /** Called with the latest expiry of handed-over entries, so the sweep is scheduled. */
    private readonly onImported: (latestExpiry: number) => Promise<void>,
  ) {
    const to = meta.num('promoted_to');
    const at = meta.num('promoted_at');
    if (to !== null && at !== null) this.promotion = { shardCount: to, promotedAt: at };
    this.handedOver = meta.num('handover_done') === 1;
  }

  /** A fresh-routed event that reached a base shard tells it of the promotion without waiting for a pull. */
  learnFrom(input: ShardIdentity & ShardPlan): void {
    const base = this.host.config.views.shards;
    if (input.shardCount > base && input.promotedAt !== null && input.shardIndex < base) this.mark(input.shardCount, input.promotedAt);
  }

  /** Where a stale-routed event must go: this shard knows of a promotion the event's router did not. */
  forwardTarget(input: RecordInput): { shardIndex: number; shardCount: number; promotedAt: number } | null {
    const p = this.promotion;
    if (!p || input.shardCount >= p.shardCount) return null;
    const target = shardIndexFor(input.viewerId, p.shardCount);
    return target === input.shardIndex ? null : { shardIndex: target, shardCount: p.shardCount, promotedAt: p.promotedAt };
  }

  /** Where a stale-routed session claim must go: the session's shard under the promotion this shard knows. */
  forwardSessionTarget(input: ShardIdentity & ShardPlan & { sessionId: string }): { shardIndex: number; shardCount: number; promotedAt: number } | null {
    const p = this.promotion;
    if (!p || input.shardCount >= p.shardCount) return null;
    const target = sessionShardFor(input.sessionId, p.shardCount);
    return target === input.shardIndex ? null : { shardIndex: target, shardCount: p.shardCount, promotedAt: p.promotedAt };
  }

  /** Whether this new shard still has to pull its viewers' entries before deciding `input`. */
  needsHandover(input: ShardIdentity & ShardPlan, now: number): boolean {
    return !this.handedOver && handoverSource(input.shardIndex, input, this.host.config, now) !== null;
  }

  /** New-shard side: one pull per shard; returns a result to answer with when the pull failed, else null. */
  pullHandover(input: ShardIdentity & ShardPlan): Promise<Extract<RecordResult, { status: 'failed' }> | null> {
    this.pulling ??= this.pull(input).finally(() => {
      this.pulling = null;
    });
    return this.pulling;
  }

  /** Old-shard side: marks this shard promoted, durably and before answering, then returns `target`'s viewers. */
  handoverTo(target: number, plan: ShardPlan): HandoverResult {
    if (plan.promotedAt === null) return { status: 'failed', error: 'handover without a promotion' };
    this.mark(plan.shardCount, plan.promotedAt);
    const now = this.host.now();
    const entries = this.dedup.liveEntries(now).filter((e) => shardIndexFor(e.viewer, plan.shardCount) === target);
    const sessions = this.dedup.liveSessions(now).filter((s) => sessionShardFor(s.session, plan.shardCount) === target);
    return { status: 'ok', entries, sessions };
  }

  /** After a counted view on a base shard: promotes the video once this minute's views reach the threshold. */
  async noteCounted(input: RecordInput, now: number): Promise<void> {
    const v = this.host.config.views;
    if (now - this.minute.start >= 60_000) this.minute = { start: now, accepted: 0 };
    this.minute.accepted++;
    if (this.promoting || input.shardCount >= v.hotVideoShards || this.minute.accepted < v.hotShardViewsPerMinute) return;
    this.promoting = true;
    try {
      const plan = await this.peers.promote(input.videoId, now);
      // The promoter forwards stale-routed events at once instead of waiting for the first pull.
      if (plan.promotedAt !== null) this.mark(plan.shardCount, plan.promotedAt);
    } catch (err) {
      this.promoting = false;
      console.error('promoting hot video failed', err);
    }
  }

  private mark(shardCount: number, promotedAt: number): void {
    if (this.promotion && this.promotion.shardCount >= shardCount) return;
    this.promotion = { shardCount, promotedAt };
    this.meta.set('promoted_to', shardCount);
    this.meta.set('promoted_at', promotedAt);
  }

  private async pull(input: ShardIdentity & ShardPlan): Promise<Extract<RecordResult, { status: 'failed' }> | null> {
    const source = handoverSource(input.shardIndex, input, this.host.config, this.host.now());
    if (source === null || this.handedOver) return null;
    const result = await this.peers.handoverTo(input.videoId, source, input.shardIndex, input);
    if (result.status !== 'ok') return { status: 'failed', error: result.error };
    this.host.transaction(() => {
      this.dedup.importEntries(result.entries);
      this.dedup.importSessions(result.sessions);
      this.meta.set('handover_done', 1);
    });
    this.handedOver = true;
    const latest = [...result.entries, ...result.sessions].reduce((m, e) => Math.max(m, e.expiresAt), 0);
    if (latest > 0) await this.onImported(latest);
    return null;
  }
}

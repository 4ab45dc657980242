/**
 * Routing a view to its ViewCounter shard.
 *
 * Business rule (sharding): a video's viewers are partitioned over N shards by a hash of the viewer id, so every
 * event of one viewer for one video lands on the same shard and that shard alone decides dedup for the viewer.
 * N is `views.shards` (1: a cold video is one object, since creating objects is what cold traffic pays for) and
 * becomes `views.hotVideoShards` (32) once the video gets hot; N never shrinks. Because 32 is a multiple of the
 * base count, a viewer's old shard is `newIndex % base`.
 *
 * Promotion handover (dedup across the change): before a new shard decides anything during the transition (the
 * dedup window plus the routing-cache TTL after the promotion), it pulls once from its old shard the live dedup
 * entries of its own viewers. The pull marks the old shard as promoted (durably, before answering), and from then
 * on the old shard forwards any event still routed to it with the old count (a stale isolate) to the viewer's new
 * shard instead of deciding it. So one shard decides each viewer at any time: the old one until the new one has
 * its entries, then the new one. The cross-call is one pull per new shard, not one per viewer.
 */
import { eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import type { Config } from '../shared/config';
import { runtime } from '../shared/runtime';

export interface ShardPlan {
  shardCount: number;
  /** When the video was promoted to more shards (ms), or null if it never was. */
  promotedAt: number | null;
}

/** FNV-1a 32-bit: independent of the HyperLogLog's Murmur hash, so shard choice does not bias register use. */
export function routingHash(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (murmur3 fmix32) so close ids spread over low bits too.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const shardIndexFor = (viewerId: string, shardCount: number): number => routingHash(viewerId) % shardCount;

/** The shard that decides a playback session (one view per session), by the session id. */
export const sessionShardFor = (sessionId: string, shardCount: number): number => routingHash(`session:${sessionId}`) % shardCount;

/**
 * The shard that keeps a playback session's QoE records, so every record of one session lands on one shard (a later
 * record replaces an earlier one there). A session that started before its video's promotion could be known to
 * every isolate (promotedAt + the routing cache's TTL: until then a stale isolate still routes by the old count)
 * stays on the base shards; a later session is spread over the video's current shards. The session's start is in
 * its signed token, so every isolate, stale or not, makes the same choice.
 */
export function qoeShardFor(sessionId: string, sessionStartMs: number, plan: ShardPlan, config: Config): number {
  const settledAt = plan.promotedAt === null ? Infinity : plan.promotedAt + config.views.shardConfigCacheMs;
  return sessionShardFor(sessionId, sessionStartMs < settledAt ? config.views.shards : plan.shardCount);
}

/** The shard's name: also its `view_flushes.shard_id` and `view_pending_shards.shard_id`. */
export const shardName = (videoId: string, index: number): string => `${videoId}#${index}`;

export function shardStub(env: Pick<Env, 'VIEW_COUNTER'>, videoId: string, index: number) {
  return env.VIEW_COUNTER.get(env.VIEW_COUNTER.idFromName(shardName(videoId, index)));
}

/**
 * The old shard a new shard must pull dedup entries from before deciding (see the top of this file), or null when
 * it has none: base shards, never-promoted videos, and promotions older than the dedup window plus the routing
 * TTL (every entry the old shard could hold for this shard's viewers has expired by then).
 */
export function handoverSource(index: number, plan: ShardPlan, config: Config, now: number): number | null {
  const base = config.views.shards;
  if (plan.promotedAt === null || plan.shardCount <= base || index < base) return null;
  return now < handoverEnds(plan.promotedAt, config) ? index % base : null;
}

/** Until then a new shard pulls the old shard's live entries: viewers (30 min) and playback sessions (their TTL). */
export const handoverEnds = (promotedAt: number, config: Config): number =>
  promotedAt + Math.max(config.views.dedupWindowMs, config.views.sessionTtlSec * 1000) + config.views.shardConfigCacheMs;

const planCache = new Map<string, { plan: ShardPlan; expiresAt: number }>();
const PLAN_CACHE_MAX = 10_000;

/** The video's shard plan, cached per isolate for `shardConfigCacheMs`. */
export async function shardPlan(db: Db, config: Config, videoId: string): Promise<ShardPlan> {
  const now = runtime().now();
  const cached = planCache.get(videoId);
  if (cached && cached.expiresAt > now) return cached.plan;
  const row = await db
    .select()
    .from(schema.viewShardConfigs)
    .where(eq(schema.viewShardConfigs.videoId, videoId))
    .get();
  const plan: ShardPlan = row
    ? { shardCount: row.shardCount, promotedAt: row.promotedAt }
    : { shardCount: config.views.shards, promotedAt: null };
  if (planCache.size >= PLAN_CACHE_MAX) planCache.clear();
  planCache.set(videoId, { plan, expiresAt: now + config.views.shardConfigCacheMs });
  return plan;
}

/** Forgets cached plans (tests, and the shard that just promoted its video). */
export function forgetShardPlan(videoId?: string): void {
  if (videoId === undefined) planCache.clear();
  else planCache.delete(videoId);
}

/**
 * Promotes a video to the hot shard count; the first promotion wins and later ones change nothing. Returns the
 * promotion that is in force (its time is what every shard measures the handover window from).
 */
export async function promoteVideo(db: Db, config: Config, videoId: string, now: number): Promise<ShardPlan> {
  await db
    .insert(schema.viewShardConfigs)
    .values({ videoId, shardCount: config.views.hotVideoShards, promotedAt: now })
    .onConflictDoNothing();
  const row = await db.select().from(schema.viewShardConfigs).where(eq(schema.viewShardConfigs.videoId, videoId)).get();
  return row ? { shardCount: row.shardCount, promotedAt: row.promotedAt } : { shardCount: config.views.hotVideoShards, promotedAt: now };
}

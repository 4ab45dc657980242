/**
 * Routing a view to its ViewCounter shard.
 *
 * Business rule (sharding): a video's viewers are partitioned over N shards by a hash of the viewer id, so every
 * event of one viewer for one video lands on the same shard and that shard alone decides dedup for the viewer.
 * N is `views.shards` (8) and becomes `views.hotVideoShards` (32) once a shard sees the video get hot; N never
 * shrinks. Because 32 is a multiple of 8, a viewer's old shard is `newIndex % 8`: for the dedup window after the
 * promotion (plus the routing-cache TTL, the longest any isolate can still route with N = 8), a new shard that has
 * not seen a viewer asks the old shard to claim it (check-and-record), so a viewer is never counted by both.
 */
import { eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import type { Config } from '../shared/config';
import { runtime } from '../shared/runtime';
import type { ViewCounter } from './view-counter';

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

/** The shard's name: also its `view_flushes.shard_id` and `view_pending_shards.shard_id`. */
export const shardName = (videoId: string, index: number): string => `${videoId}#${index}`;

export function shardStub(env: Env, videoId: string, index: number): DurableObjectStub<ViewCounter> {
  return env.VIEW_COUNTER.get(env.VIEW_COUNTER.idFromName(shardName(videoId, index))) as DurableObjectStub<ViewCounter>;
}

/**
 * Whether a shard must consult the viewer's pre-promotion shard: only shards that did not exist before, and
 * only while an isolate might still route with the old count or the old shard's dedup entries are alive.
 */
export function oldShardToConsult(index: number, plan: ShardPlan, config: Config, now: number): number | null {
  const base = config.views.shards;
  if (plan.promotedAt === null || plan.shardCount <= base || index < base) return null;
  const transitionEnds = plan.promotedAt + config.views.dedupWindowMs + config.views.shardConfigCacheMs;
  return now < transitionEnds ? index % base : null;
}

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

/** Promotes a video to the hot shard count; the first promotion wins and later ones change nothing. */
export async function promoteVideo(db: Db, config: Config, videoId: string, now: number): Promise<void> {
  await db
    .insert(schema.viewShardConfigs)
    .values({ videoId, shardCount: config.views.hotVideoShards, promotedAt: now })
    .onConflictDoNothing();
}

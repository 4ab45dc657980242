/**
 * Trending videos for cache warming: the most viewed READY, non-private videos over the last 24 hours, by the
 * hourly `view_aggregates` rows. The window covers the current hour bucket and the 23 before it (bucket = hour
 * start in epoch seconds), so a view is counted for 23 to 24 hours. Ties break on id for a stable order.
 */
import { and, desc, eq, gte, lte, ne, sql } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { defaults } from '../shared/config';

const HOUR_SEC = 3600;

export async function trendingVideoIds(db: Db, nowMs: number, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const currentBucket = Math.floor(nowMs / 1000 / HOUR_SEC) * HOUR_SEC;
  const since = currentBucket - (defaults.playback.trendingWindowHours - 1) * HOUR_SEC;
  const views = sql<number>`sum(${schema.viewAggregates.viewCount})`;
  const rows = await db
    .select({ id: schema.viewAggregates.videoId, views })
    .from(schema.viewAggregates)
    .innerJoin(schema.videos, eq(schema.videos.id, schema.viewAggregates.videoId))
    .where(
      and(
        gte(schema.viewAggregates.hourBucket, since),
        lte(schema.viewAggregates.hourBucket, currentBucket),
        eq(schema.videos.status, 'READY'),
        ne(schema.videos.visibility, 'private'),
      ),
    )
    .groupBy(schema.viewAggregates.videoId)
    .having(sql`${views} > 0`)
    .orderBy(desc(views), schema.viewAggregates.videoId)
    .limit(limit);
  return rows.map((r) => r.id);
}

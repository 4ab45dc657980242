/**
 * `GET /v1/videos/:id/stats`: live totals merged from the shards plus the hourly series from D1.
 *
 * - views = `videos.view_count` (flushed) + every shard's unflushed views + any in-flight flush batch that D1 has not
 *   recorded yet (a batch whose seq `view_flushes` already has is counted in D1 and must not be added again).
 * - uniqueViewers = the shards' all-time HyperLogLog registers merged (register-wise max), then estimated once, and
 *   never below any single hour's figure: an hour's unique viewers is the sum of per-shard estimates (shards
 *   partition viewers) while the all-time one is one estimate of the union, so their independent errors could put
 *   the union below one of its own hours (2,179 all-time vs 2,204 in one hour was seen). The union of sets is at
 *   least as large as each set, so the answer is the larger of the merged estimate and every hour's figure.
 * - hourly = `view_aggregates` rows in [from, to), one point per hour (zeros where nothing was recorded), plus the
 *   shards' unflushed views of each hour (the current hour is live, not empty until its flush).
 * A flush that lands between the shard reads and the D1 read can briefly show a few views twice; it settles on the
 * next read.
 */
import { and, eq, gte, inArray, lt, max } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { ViewerSketch } from './hll';
import { shardName, shardStub } from './routing';

export interface HourPoint {
  hour: string;
  views: number;
  uniqueViewers: number;
}

export interface VideoStats {
  views: number;
  uniqueViewers: number;
  from: string;
  to: string;
  hourly: HourPoint[];
}

const HOUR_MS = 3_600_000;

export async function videoStats(env: Env, db: Db, config: Config, videoId: string, fromMs: number, toMs: number): Promise<VideoStats> {
  // Read the shard count uncached: stats must see every shard a promotion created.
  const planRow = await db.select().from(schema.viewShardConfigs).where(eq(schema.viewShardConfigs.videoId, videoId)).get();
  const shardCount = planRow?.shardCount ?? config.views.shards;
  const snapshots = await Promise.all(Array.from({ length: shardCount }, (_, i) => shardStub(env, videoId, i).snapshot()));

  const inflightIds = snapshots.flatMap((s, i) => (s.inflight ? [shardName(videoId, i)] : []));
  const fromBucket = Math.floor(fromMs / HOUR_MS) * 3600;
  const toBucket = Math.ceil(toMs / HOUR_MS) * 3600;
  const [videoRows, flushRows, hourRows, peakRows] = await db.batch([
    db.select({ viewCount: schema.videos.viewCount }).from(schema.videos).where(eq(schema.videos.id, videoId)),
    db
      .select()
      .from(schema.viewFlushes)
      .where(inArray(schema.viewFlushes.shardId, inflightIds.length ? inflightIds : ['-'])),
    db
      .select()
      .from(schema.viewAggregates)
      .where(
        and(
          eq(schema.viewAggregates.videoId, videoId),
          gte(schema.viewAggregates.hourBucket, fromBucket),
          lt(schema.viewAggregates.hourBucket, toBucket),
        ),
      ),
    db
      .select({ peak: max(schema.viewAggregates.uniqueViewers) })
      .from(schema.viewAggregates)
      .where(eq(schema.viewAggregates.videoId, videoId)),
  ]);
  const applied = new Map(flushRows.map((r) => [r.shardId, r.lastSeq]));

  let views = videoRows[0]?.viewCount ?? 0;
  const merged = new ViewerSketch(config.views.hllPrecision);
  const liveViews = new Map<number, number>();
  const liveUniques = new Map<number, number>();
  const add = (m: Map<number, number>, hour: number, n: number) => m.set(hour, (m.get(hour) ?? 0) + n);
  snapshots.forEach((s, i) => {
    views += s.pendingViews;
    for (const h of s.hours) {
      add(liveViews, h.hour, h.views);
      add(liveUniques, h.hour, h.uniques);
    }
    if (s.inflight && (applied.get(shardName(videoId, i)) ?? 0) < s.inflight.seq) {
      views += s.inflight.views;
      for (const h of s.inflight.hours) add(liveViews, h.hour, h.views);
    }
    if (s.registers) merged.merge(s.registers);
  });

  const byBucket = new Map(hourRows.map((r) => [r.hourBucket, r]));
  const hourly: HourPoint[] = [];
  for (let b = fromBucket; b < toBucket; b += 3600) {
    const row = byBucket.get(b);
    hourly.push({
      hour: new Date(b * 1000).toISOString(),
      views: (row?.viewCount ?? 0) + (liveViews.get(b) ?? 0),
      // A shard's live sketch of an hour covers what it already flushed for that hour, so take the larger figure.
      uniqueViewers: Math.max(row?.uniqueViewers ?? 0, liveUniques.get(b) ?? 0),
    });
  }
  const busiestHour = Math.max(peakRows[0]?.peak ?? 0, ...liveUniques.values(), ...hourly.map((p) => p.uniqueViewers));
  return {
    views,
    uniqueViewers: Math.max(merged.count(), busiestHour),
    from: new Date(fromBucket * 1000).toISOString(),
    to: new Date(toBucket * 1000).toISOString(),
    hourly,
  };
}

/**
 * The hourly flush, D1 side.
 *
 * Business rule (exactly once into D1): a shard snapshots its deltas into a numbered flush batch (seq 1, 2, …) and
 * applies the batch in ONE D1 transaction that also records `view_flushes.last_seq = seq` for the shard. Every
 * additive statement is guarded by "this shard's last_seq < seq", so a batch replayed after a crash between the D1
 * write and the shard clearing its batch adds nothing the second time. Unique viewers per hour are a per-shard
 * replace (shards partition viewers, so the hour's total is the sum over shards), hence naturally idempotent.
 *
 * Discovery (why alarms plus a table): every shard with a pending delta has an alarm at the end of the hour, so
 * flushing needs no central scan and scales with the number of active shards, not all shards ever. Alarms are
 * retried by the runtime, but a shard whose alarm keeps failing must not hold counts forever: shards register in
 * `view_pending_shards` when they start a pending period, the flush batch deletes the row, and the hourly cron
 * flushes any shard still listed long after its hour ended.
 *
 * QoE (qoe/sketch.ts): the batch's QoE cells are additive differences per (hour, country, browser, OS), applied in
 * the same D1 batch under the same guard: `qoe_aggregates` sums and `qoe_startup_buckets` histogram counts. Each is one
 * statement over the whole batch (the cells travel as one JSON parameter read with `json_each`), so a flush is a
 * fixed number of statements however many cells a hot shard has.
 */
import type { Config } from '../shared/config';
import type { QoeCell } from './counter/types';
import { SUM_FIELDS } from './qoe/sketch';
import { shardName, shardStub } from './routing';

export interface FlushHour {
  /** Hour start, epoch seconds. */
  hour: number;
  views: number;
  uniques: number;
}

export interface FlushBatch {
  videoId: string;
  shardIndex: number;
  seq: number;
  /** Registry generation covered by this batch (see `view_pending_shards`). */
  generation: number;
  hours: FlushHour[];
  /** QoE differences per cell (qoe-ledger.ts). */
  qoe: QoeCell[];
  now: number;
}

const NOT_YET_APPLIED = 'NOT EXISTS (SELECT 1 FROM view_flushes WHERE shard_id = ?1 AND last_seq >= ?2)';

/** `qoe_aggregates` column of each QoE sum. */
const QOE_COLUMNS: Record<(typeof SUM_FIELDS)[number], string> = {
  views: 'views',
  started: 'started',
  startupMsSum: 'startup_ms_sum',
  exitsBeforeStart: 'exits_before_start',
  failures: 'failures',
  rebufferCount: 'rebuffer_count',
  stalledMs: 'stalled_ms',
  watchedMs: 'watched_ms',
  playedBits: 'played_bits',
  switches: 'switches',
};

const CELL_KEY = 'video_id, hour_bucket, country, browser, os';
const cellKeyValues = (json: string) =>
  `?3, json_extract(${json}, '$.hour'), json_extract(${json}, '$.country'), json_extract(${json}, '$.browser'), json_extract(${json}, '$.os')`;

/** The batch's QoE statements (none when it has no QoE cells). Parameters: ?1 shard, ?2 seq, ?3 video, ?4 JSON. */
function qoeStatements(d1: D1Database, shardId: string, batch: FlushBatch): D1PreparedStatement[] {
  if (batch.qoe.length === 0) return [];
  const columns = SUM_FIELDS.map((f) => QOE_COLUMNS[f]);
  const aggregates = d1
    .prepare(
      `INSERT INTO qoe_aggregates (${CELL_KEY}, ${columns.join(', ')})
       SELECT ${cellKeyValues('c.value')}, ${SUM_FIELDS.map((f) => `json_extract(c.value, '$.sums.${f}')`).join(', ')}
       FROM json_each(?4) AS c WHERE ${NOT_YET_APPLIED}
       ON CONFLICT (${CELL_KEY}) DO UPDATE SET ${columns.map((col) => `${col} = ${col} + excluded.${col}`).join(', ')}`,
    )
    .bind(shardId, batch.seq, batch.videoId, JSON.stringify(batch.qoe));
  const buckets = batch.qoe.flatMap((c) =>
    Object.entries(c.sums.startup).map(([bucket, count]) => ({ hour: c.hour, country: c.country, browser: c.browser, os: c.os, bucket: Number(bucket), count })),
  );
  if (buckets.length === 0) return [aggregates];
  const histogram = d1
    .prepare(
      `INSERT INTO qoe_startup_buckets (${CELL_KEY}, bucket, sessions)
       SELECT ${cellKeyValues('b.value')}, json_extract(b.value, '$.bucket'), json_extract(b.value, '$.count')
       FROM json_each(?4) AS b WHERE ${NOT_YET_APPLIED}
       ON CONFLICT (${CELL_KEY}, bucket) DO UPDATE SET sessions = sessions + excluded.sessions`,
    )
    .bind(shardId, batch.seq, batch.videoId, JSON.stringify(buckets));
  return [aggregates, histogram];
}

/** Applies one shard's flush batch atomically and idempotently (see above). */
export async function applyFlush(d1: D1Database, batch: FlushBatch): Promise<void> {
  const shardId = shardName(batch.videoId, batch.shardIndex);
  const total = batch.hours.reduce((sum, h) => sum + h.views, 0);
  const statements: D1PreparedStatement[] = [
    d1
      .prepare(`UPDATE videos SET view_count = view_count + ?3 WHERE id = ?4 AND ${NOT_YET_APPLIED}`)
      .bind(shardId, batch.seq, total, batch.videoId),
  ];
  for (const h of batch.hours) {
    statements.push(
      d1
        .prepare(
          `INSERT INTO view_aggregates (video_id, hour_bucket, view_count, unique_viewers)
           SELECT ?3, ?4, ?5, 0 WHERE ${NOT_YET_APPLIED}
           ON CONFLICT (video_id, hour_bucket) DO UPDATE SET view_count = view_count + excluded.view_count`,
        )
        .bind(shardId, batch.seq, batch.videoId, h.hour, h.views),
      d1
        .prepare(
          `INSERT INTO view_aggregate_shards (video_id, hour_bucket, shard_index, unique_viewers) VALUES (?1, ?2, ?3, ?4)
           ON CONFLICT (video_id, hour_bucket, shard_index) DO UPDATE SET unique_viewers = excluded.unique_viewers`,
        )
        .bind(batch.videoId, h.hour, batch.shardIndex, h.uniques),
      d1
        .prepare(
          `UPDATE view_aggregates SET unique_viewers =
             (SELECT COALESCE(SUM(unique_viewers), 0) FROM view_aggregate_shards WHERE video_id = ?1 AND hour_bucket = ?2)
           WHERE video_id = ?1 AND hour_bucket = ?2`,
        )
        .bind(batch.videoId, h.hour),
    );
  }
  statements.push(...qoeStatements(d1, shardId, batch));
  statements.push(
    d1
      .prepare(
        `INSERT INTO view_flushes (shard_id, last_seq, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (shard_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = excluded.updated_at`,
      )
      .bind(shardId, batch.seq, batch.now),
    d1.prepare('DELETE FROM view_pending_shards WHERE shard_id = ?1 AND generation <= ?2').bind(shardId, batch.generation),
  );
  await d1.batch(statements);
}

/** Registers a shard as holding a pending delta (generation only grows, so a late write never hides a newer one). */
export async function registerPending(d1: D1Database, videoId: string, shardIndex: number, generation: number, now: number): Promise<void> {
  await d1
    .prepare(
      `INSERT INTO view_pending_shards (shard_id, video_id, shard_index, generation, pending_since) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (shard_id) DO UPDATE SET generation = MAX(generation, excluded.generation),
         pending_since = MIN(pending_since, excluded.pending_since)`,
    )
    .bind(shardName(videoId, shardIndex), videoId, shardIndex, generation, now)
    .run();
}

export async function unregisterPending(d1: D1Database, videoId: string, shardIndex: number, generation: number): Promise<void> {
  await d1
    .prepare('DELETE FROM view_pending_shards WHERE shard_id = ?1 AND generation <= ?2')
    .bind(shardName(videoId, shardIndex), generation)
    .run();
}

/**
 * Cron backstop: flushes shards still registered as pending well after their hour ended (their own alarm should
 * have done it at the top of the hour). Returns how many were flushed and how many failed.
 */
export async function flushOverdueShards(env: Env, config: Config, now: number, limit = 500): Promise<{ flushed: number; failed: number }> {
  const overdueBefore = now - 3_600_000 - 2 * config.views.flushJitterMs;
  const { results } = await env.DB.prepare(
    'SELECT video_id AS videoId, shard_index AS shardIndex FROM view_pending_shards WHERE pending_since < ?1 ORDER BY pending_since LIMIT ?2',
  )
    .bind(overdueBefore, limit)
    .all<{ videoId: string; shardIndex: number }>();
  const outcomes = await Promise.allSettled(
    results.map((r) => shardStub(env, r.videoId, r.shardIndex).flush({ videoId: r.videoId, shardIndex: r.shardIndex })),
  );
  let failed = 0;
  for (const o of outcomes) if (o.status === 'rejected' || o.value.status !== 'ok') failed++;
  return { flushed: outcomes.length - failed, failed };
}

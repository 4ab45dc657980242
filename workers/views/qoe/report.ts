/**
 * QoE reports: the cells of `qoe_aggregates` and `qoe_startup_buckets` over a range of hours, added up per hour, per
 * breakdown group and in total (qoe/sketch.ts turns sums into rates and percentiles).
 *
 * A video's report adds its shards' unflushed differences (and a flush batch D1 has not recorded yet), so the current
 * hour is live, as in the view stats. The report over all of a creator's videos reads D1 only: it follows the hourly
 * flush.
 */
import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import { schema, type Db } from '../../shared/db';
import type { QoeCell } from '../counter/types';
import { shardName, shardStub } from '../routing';
import { addSums, emptySums, figuresOf, sumsFromJson, type QoeFigures, type QoeSums } from './sketch';
import type { QoeBreakdown } from './schemas';

const HOUR_MS = 3_600_000;

interface Cell {
  videoId: string;
  hour: number;
  country: string;
  browser: string;
  os: string;
  sums: QoeSums;
}

export interface QoeReport {
  from: string;
  to: string;
  totals: QoeFigures;
  hourly: (QoeFigures & { hour: string })[];
  breakdown?: { by: QoeBreakdown; groups: (QoeFigures & { key: string })[] };
  videos?: (QoeFigures & { videoId: string })[];
}

export interface HourRange {
  fromBucket: number;
  toBucket: number;
}

export const hourRange = (fromMs: number, toMs: number): HourRange => ({ fromBucket: Math.floor(fromMs / HOUR_MS) * 3600, toBucket: Math.ceil(toMs / HOUR_MS) * 3600 });

const cellKey = (c: Omit<Cell, 'sums'>): string => JSON.stringify([c.videoId, c.hour, c.country, c.browser, c.os]);

/** The D1 cells of these videos (all of them, or those of `creatorId`) in the range. */
async function storedCells(db: Db, scope: { videoId: string } | { creatorId: string }, range: HourRange): Promise<Cell[]> {
  const a = schema.qoeAggregates;
  const b = schema.qoeStartupBuckets;
  const inScope = (col: typeof a.videoId | typeof b.videoId) =>
    'videoId' in scope ? eq(col, scope.videoId) : inArray(col, db.select({ id: schema.videos.id }).from(schema.videos).where(eq(schema.videos.creatorId, scope.creatorId)));
  const [rows, buckets] = await db.batch([
    db.select().from(a).where(and(inScope(a.videoId), gte(a.hourBucket, range.fromBucket), lt(a.hourBucket, range.toBucket))),
    db.select().from(b).where(and(inScope(b.videoId), gte(b.hourBucket, range.fromBucket), lt(b.hourBucket, range.toBucket))),
  ]);
  const cells = new Map<string, Cell>();
  for (const r of rows) {
    const cell: Cell = { videoId: r.videoId, hour: r.hourBucket, country: r.country, browser: r.browser, os: r.os, sums: emptySums() };
    Object.assign(cell.sums, {
      views: r.views,
      started: r.started,
      startupMsSum: r.startupMsSum,
      exitsBeforeStart: r.exitsBeforeStart,
      failures: r.failures,
      rebufferCount: r.rebufferCount,
      stalledMs: r.stalledMs,
      watchedMs: r.watchedMs,
      playedBits: r.playedBits,
      switches: r.switches,
    });
    cells.set(cellKey(cell), cell);
  }
  for (const r of buckets) {
    const key = cellKey({ videoId: r.videoId, hour: r.hourBucket, country: r.country, browser: r.browser, os: r.os });
    const cell = cells.get(key);
    if (cell) cell.sums.startup.set(r.bucket, (cell.sums.startup.get(r.bucket) ?? 0) + r.sessions);
  }
  return [...cells.values()];
}

/** The unflushed cells of a video's shards in the range. */
async function liveCells(env: Env, db: Db, videoId: string, shardCount: number, range: HourRange): Promise<Cell[]> {
  const snapshots = await Promise.all(Array.from({ length: shardCount }, (_, i) => shardStub(env, videoId, i).qoeSnapshot()));
  const inflightIds = snapshots.flatMap((s, i) => (s.inflight ? [shardName(videoId, i)] : []));
  const applied = new Map<string, number>();
  if (inflightIds.length) {
    const rows = await db.select().from(schema.viewFlushes).where(inArray(schema.viewFlushes.shardId, inflightIds));
    for (const r of rows) applied.set(r.shardId, r.lastSeq);
  }
  const cells: QoeCell[] = [];
  snapshots.forEach((s, i) => {
    cells.push(...s.pending);
    if (s.inflight && (applied.get(shardName(videoId, i)) ?? 0) < s.inflight.seq) cells.push(...s.inflight.cells);
  });
  return cells.filter((c) => c.hour >= range.fromBucket && c.hour < range.toBucket).map((c) => ({ videoId, hour: c.hour, country: c.country, browser: c.browser, os: c.os, sums: sumsFromJson(c.sums) }));
}

function groupBy(cells: readonly Cell[], key: (c: Cell) => string): Map<string, QoeSums> {
  const groups = new Map<string, QoeSums>();
  for (const c of cells) {
    const k = key(c);
    groups.set(k, addSums(groups.get(k) ?? emptySums(), c.sums));
  }
  return groups;
}

export const breakdownKey = (by: QoeBreakdown, c: Pick<Cell, 'country' | 'browser' | 'os'>): string =>
  by === 'country' ? c.country || 'unknown' : `${c.browser} / ${c.os}`;

function report(cells: readonly Cell[], range: HourRange, by: QoeBreakdown | undefined): QoeReport {
  const byHour = groupBy(cells, (c) => String(c.hour));
  const hourly: QoeReport['hourly'] = [];
  for (let h = range.fromBucket; h < range.toBucket; h += 3600) hourly.push({ hour: new Date(h * 1000).toISOString(), ...figuresOf(byHour.get(String(h)) ?? emptySums()) });
  const out: QoeReport = {
    from: new Date(range.fromBucket * 1000).toISOString(),
    to: new Date(range.toBucket * 1000).toISOString(),
    totals: figuresOf(cells.reduce((sum, c) => addSums(sum, c.sums), emptySums())),
    hourly,
  };
  if (by) {
    const groups = [...groupBy(cells, (c) => breakdownKey(by, c)).entries()].map(([key, sums]) => ({ key, ...figuresOf(sums) }));
    out.breakdown = { by, groups: groups.filter((g) => g.views > 0).sort((x, y) => y.views - x.views || x.key.localeCompare(y.key)) };
  }
  return out;
}

/** One video's report, live. */
export async function videoQoe(env: Env, db: Db, videoId: string, shardCount: number, range: HourRange, by?: QoeBreakdown): Promise<QoeReport> {
  const [stored, live] = await Promise.all([storedCells(db, { videoId }, range), liveCells(env, db, videoId, shardCount, range)]);
  return report([...stored, ...live], range, by);
}

/** Every video of a creator, from D1 (as of the last flushes), with the 50 most viewed videos' own figures. */
export async function creatorQoe(db: Db, creatorId: string, range: HourRange, by?: QoeBreakdown): Promise<QoeReport> {
  const cells = await storedCells(db, { creatorId }, range);
  const out = report(cells, range, by);
  out.videos = [...groupBy(cells, (c) => c.videoId).entries()]
    .map(([videoId, sums]) => ({ videoId, ...figuresOf(sums) }))
    .filter((v) => v.views > 0)
    .sort((x, y) => y.views - x.views || x.videoId.localeCompare(y.videoId))
    .slice(0, 50);
  return out;
}

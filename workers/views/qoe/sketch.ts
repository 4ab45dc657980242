/**
 * Quality-of-experience aggregates: what one playback session adds to its hour, and how hours, shards and breakdown
 * groups add up. Everything here is a sum, so a total over any set of sessions is the sum of its parts in any order:
 * shards add their cells, the hourly flush adds cells into D1, a report adds hours and groups.
 *
 * Startup percentiles use a mergeable sketch, not a mean of means: a fixed histogram of log-spaced buckets. Bucket 0
 * holds startups under 100 ms; bucket i ≥ 1 holds [100·1.1^(i−1), 100·1.1^i) ms; the last bucket holds everything
 * from its lower edge (169 s) up. Counts per bucket add across shards and hours, and a percentile of the sum is read
 * from the cumulative counts (the bucket's geometric middle: within ±4.9 % of any startup in it). The edges are part
 * of the stored data (bucket numbers in `qoe_startup_buckets`): changing them needs a migration, not a setting.
 */
import type { QoeRecord } from './schemas';

export const STARTUP_BUCKETS = 80;
const BASE_MS = 100;
const RATIO = 1.1;
/** Lower edge of each bucket, ms (bucket 0 starts at 0). */
const EDGES: readonly number[] = Array.from({ length: STARTUP_BUCKETS }, (_, i) => (i === 0 ? 0 : BASE_MS * RATIO ** (i - 1)));

/** The bucket of a startup time (ms ≥ 0). */
export function startupBucket(ms: number): number {
  let lo = 0;
  let hi = STARTUP_BUCKETS - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (EDGES[mid]! <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The value a bucket stands for: the geometric middle of its edges (50 ms for bucket 0, the lower edge for the last). */
export function bucketValueMs(bucket: number): number {
  if (bucket <= 0) return BASE_MS / 2;
  if (bucket >= STARTUP_BUCKETS - 1) return EDGES[STARTUP_BUCKETS - 1]!;
  return BASE_MS * RATIO ** (bucket - 0.5);
}

/** The q-quantile (0 < q ≤ 1, nearest rank) of a histogram given as bucket → count; null when it is empty. */
export function startupQuantileMs(histogram: ReadonlyMap<number, number>, q: number): number | null {
  const buckets = [...histogram.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const [bucket, n] of buckets) {
    seen += n;
    if (seen >= rank) return Math.round(bucketValueMs(bucket));
  }
  return Math.round(bucketValueMs(buckets[buckets.length - 1]![0]));
}

/** The additive figures of a set of playback sessions (one session's own figures, an hour's, a group's). */
export interface QoeSums {
  /** Playback sessions that reported (each one play attempt: a play or an autoplay). */
  views: number;
  /** Of those, the sessions that showed a first frame. */
  started: number;
  startupMsSum: number;
  exitsBeforeStart: number;
  failures: number;
  rebufferCount: number;
  stalledMs: number;
  watchedMs: number;
  /** Σ average bitrate × watched seconds: divided by the watched seconds, the watch-time weighted average bitrate. */
  playedBits: number;
  switches: number;
  /** Startup histogram: bucket → sessions. */
  startup: Map<number, number>;
}

export const SUM_FIELDS = ['views', 'started', 'startupMsSum', 'exitsBeforeStart', 'failures', 'rebufferCount', 'stalledMs', 'watchedMs', 'playedBits', 'switches'] as const;
export type SumField = (typeof SUM_FIELDS)[number];

export function emptySums(): QoeSums {
  return { views: 0, started: 0, startupMsSum: 0, exitsBeforeStart: 0, failures: 0, rebufferCount: 0, stalledMs: 0, watchedMs: 0, playedBits: 0, switches: 0, startup: new Map() };
}

/** Adds `b` (times `sign`) into `a`. */
export function addSums(a: QoeSums, b: QoeSums, sign = 1): QoeSums {
  for (const f of SUM_FIELDS) a[f] += sign * b[f];
  for (const [bucket, n] of b.startup) a.startup.set(bucket, (a.startup.get(bucket) ?? 0) + sign * n);
  return a;
}

/** Whether every figure is zero (a delta that changes nothing). */
export function isZero(s: QoeSums): boolean {
  return SUM_FIELDS.every((f) => s[f] === 0) && [...s.startup.values()].every((n) => n === 0);
}

/** The figures of one session's record that its hour adds up (see docs/qoe.md for each metric). */
export type SessionMetrics = Omit<QoeRecord, 'session' | 'seq' | 'finalBitrate' | 'finalHeight'>;

export function sessionSums(m: SessionMetrics): QoeSums {
  const s = emptySums();
  s.views = 1;
  if (m.startupMs !== null) {
    s.started = 1;
    s.startupMsSum = m.startupMs;
    s.startup.set(startupBucket(m.startupMs), 1);
  }
  s.exitsBeforeStart = m.exitBeforeStart ? 1 : 0;
  s.failures = m.failure !== null ? 1 : 0;
  s.rebufferCount = m.rebufferCount;
  s.stalledMs = m.stalledMs;
  s.watchedMs = m.watchedMs;
  s.playedBits = (m.averageBitrate ?? 0) * (m.watchedMs / 1000);
  s.switches = m.switches;
  return s;
}

/** JSON form of sums (the histogram as bucket → count), as shards keep and ship them. */
export interface SumsJson extends Record<SumField, number> {
  startup: Record<string, number>;
}

export const sumsToJson = (s: QoeSums): SumsJson => ({
  ...(Object.fromEntries(SUM_FIELDS.map((f) => [f, s[f]])) as Record<SumField, number>),
  startup: Object.fromEntries([...s.startup.entries()].filter(([, n]) => n !== 0)),
});

export function sumsFromJson(j: SumsJson): QoeSums {
  const s = emptySums();
  for (const f of SUM_FIELDS) s[f] = j[f];
  s.startup = new Map(Object.entries(j.startup).map(([bucket, n]) => [Number(bucket), n]));
  return s;
}

/** What a report shows for a set of sessions: the rates and percentiles of docs/qoe.md. */
export interface QoeFigures {
  views: number;
  startedViews: number;
  startupP50Ms: number | null;
  startupP95Ms: number | null;
  rebufferRatio: number | null;
  rebufferCount: number;
  stalledMs: number;
  watchedMs: number;
  failures: number;
  failureRate: number | null;
  exitsBeforeStart: number;
  exitBeforeStartRate: number | null;
  averageBitrate: number | null;
  switches: number;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? Math.round((a / b) * 1e6) / 1e6 : null);

export function figuresOf(s: QoeSums): QoeFigures {
  return {
    views: s.views,
    startedViews: s.started,
    startupP50Ms: startupQuantileMs(s.startup, 0.5),
    startupP95Ms: startupQuantileMs(s.startup, 0.95),
    rebufferRatio: ratio(s.stalledMs, s.watchedMs),
    rebufferCount: s.rebufferCount,
    stalledMs: Math.round(s.stalledMs),
    watchedMs: Math.round(s.watchedMs),
    failures: s.failures,
    failureRate: ratio(s.failures, s.views),
    exitsBeforeStart: s.exitsBeforeStart,
    exitBeforeStartRate: ratio(s.exitsBeforeStart, s.views),
    averageBitrate: s.watchedMs > 0 ? Math.round(s.playedBits / (s.watchedMs / 1000)) : null,
    switches: s.switches,
  };
}

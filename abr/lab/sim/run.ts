/**
 * Runs every controller over a set of traces and aggregates the metrics (overall and per trace family), next to the
 * offline-optimal oracle (oracle.ts) and each controller's fraction of it.
 */
import { createPlatformController } from '../../platform';
import type { AbrController, AbrControllerFactory, AbrStream } from '../../types';
import { CONTROLLERS } from '../controllers';
import { solveOracle } from './oracle';
import { simulateRun, type RunMetrics, type RunResult, type SimOptions } from './simulator';
import { TraceClock, type Trace } from './traces';

export interface ControllerSummary {
  controller: string;
  traces: number;
  meanQoeLin: number;
  meanBitrateMbps: number;
  /** Total stall seconds / total (stall + video) seconds over all runs. */
  rebufferRatio: number;
  meanSwitches: number;
  meanStartupSec: number;
  meanAbandons: number;
  meanQoeLog: number;
  /** QoE_lin with startup apart (RunMetrics.qoeLinExStartup). */
  meanQoeLinExStartup: number;
  /** Mean bitrate of the first segment, Mbps. */
  meanFirstBitrateMbps: number;
  /** How close to the best possible, three ways (see OracleFractions); null without the oracle. */
  fractionOfOracle: OracleFractions | null;
}

/**
 * A controller's QoE as a fraction of the oracle's on the same traces. The plain ratio is the headline but is only
 * meaningful where the optimum is clearly positive: a family whose best possible run mostly pays for startup and
 * an outage (fcc/'s trace_32551, puffer/'s idle stretches) has an optimum near or below zero, where the ratio is
 * undefined or flips sign. So two normalisations from the ABR literature are reported next to it, never instead of it:
 * - `headroom*` = (QoE − always-lowest) / (oracle − always-lowest): the share of what the best possible adds over the
 *   lowest rung throughout (the "normalised QoE" of Oboe, SIGCOMM 2018, and of Pensieve's per-trace comparisons
 *   against a floor). Defined whenever the oracle beats the lowest rung, whatever the signs; 1 = optimal, 0 = no
 *   better than never adapting, negative = worse than that.
 * - `perTrace*` = the mean of per-trace ratios QoE / oracle over the traces whose optimum is positive (their number in
 *   `perTraceCount`): each trace weighs the same, instead of the high-QoE traces dominating a ratio of sums.
 */
export interface OracleFractions {
  /** Σ QoE / Σ oracle QoE (ratio of means); NaN (null in JSON) when the oracle's mean is ≤ 0. */
  qoeLin: number;
  /** Same for QoE_log, against the QoE_log optimum (its own DP). */
  qoeLog: number;
  headroomLin: number;
  headroomLog: number;
  perTraceLin: number;
  perTraceLog: number;
  /** Σ QoE_lin ex-startup / Σ its own optimum (NaN when that is ≤ 0), and its headroom over always-lowest. */
  qoeLinExStartup: number;
  headroomLinExStartup: number;
  /** Traces with a positive QoE_lin optimum (perTraceLin) and a positive QoE_log optimum (perTraceLog). */
  perTraceCount: { lin: number; log: number };
}

export interface SimReport {
  options: { segmentCount: number; segmentDurationSec: number; maxBufferSec: number; rttSec: number; bitratesBps: number[]; realSegmentSizes: boolean };
  overall: ControllerSummary[];
  byFamily: Record<string, ControllerSummary[]>;
  runs: RunResult[];
  skipped: Array<{ file: string; error: string }>;
}

/**
 * `platform-returning` is the platform controller for a returning viewer: it starts from the estimate the platform
 * exported at the end of a first run on the same trace. It is reported, not ranked (the others start cold).
 */
export const RETURNING = 'platform-returning';
/**
 * `platform-netinfo` is a first-time viewer in a browser with the Network Information API: the controller gets
 * `navigator.connection.downlink` before the first byte. Modelled as Chrome reports it: the throughput of the
 * network just before the run (the trace's last 10 s, which precede its start when it loops), rounded to 25
 * kbit/s and capped at 10 Mbit/s. Reported, not ranked (Safari and Firefox have no such API).
 */
export const NETINFO = 'platform-netinfo';
export const ORACLE = 'oracle';
/** Always the lowest rung: the floor of the headroom fractions. Its runs are in the JSON; it is not a row. */
export const LOWEST = 'lowest';
export const NETINFO_WINDOW_SEC = 10;
export const NETINFO_CAP_BPS = 10e6;

export interface RunOptions {
  /** Add platform-returning and platform-netinfo rows. */
  variants?: boolean;
  /** Add the oracle row and the fractions. */
  oracle?: boolean;
  /** Progress line per trace (stderr in the CLI). */
  progress?: (line: string) => void;
}

export function runAll(traces: Trace[], options: SimOptions, controllers = CONTROLLERS, run: RunOptions = {}): SimReport {
  const variants = run.variants ?? true;
  const withOracle = run.oracle ?? true;
  const runs: RunResult[] = [];
  /** Always the lowest rung, per trace: the floor of the headroom fractions (not a reported controller). */
  const floors = new Map<string, RunMetrics>();
  traces.forEach((trace, i) => {
    if (withOracle) {
      const lowest = simulateRun(trace, scriptedController([], LOWEST), options);
      floors.set(trace.name, lowest.metrics);
      runs.push(lowest);
    }
    for (const { create } of controllers) runs.push(simulateRun(trace, create(options.stream), options));
    if (variants) {
      runs.push(simulateReturning(trace, options));
      const downlinkBps = netinfoDownlink(trace);
      const netinfo = simulateRun(trace, createPlatformController(options.stream, { downlinkBps }), options);
      runs.push({ ...netinfo, controller: NETINFO });
    }
    if (withOracle) runs.push(simulateOracle(trace, options));
    run.progress?.(`[${i + 1}/${traces.length}] ${trace.name}`);
  });
  const names = [...controllers.map((c) => c.name), ...(variants ? [RETURNING, NETINFO] : []), ...(withOracle ? [ORACLE] : [])];
  const families = [...new Set(traces.map((t) => t.family))].sort();
  const rows = (filter: (s: RunResult) => boolean): ControllerSummary[] => {
    const picked = runs.filter(filter);
    const oracleRuns = picked.filter((s) => s.controller === ORACLE);
    return names.map((name) => {
      const own = picked.filter((s) => s.controller === name);
      const row = summarize(name, own, options.stream);
      return withOracle ? { ...row, fractionOfOracle: fractions(own, oracleRuns, floors) } : row;
    });
  };
  return {
    options: {
      segmentCount: options.segmentCount,
      segmentDurationSec: options.stream.segmentDurationSec,
      maxBufferSec: options.stream.maxBufferSec,
      rttSec: options.rttSec,
      bitratesBps: [...options.stream.bitrates],
      realSegmentSizes: Boolean(options.segmentBits),
    },
    overall: rows(() => true),
    byFamily: Object.fromEntries(families.map((family) => [family, rows((s) => s.family === family)])),
    runs,
    skipped: [],
  };
}

function simulateReturning(trace: Trace, options: SimOptions): RunResult {
  const first = createPlatformController(options.stream);
  simulateRun(trace, first, options);
  const nowMs = 0;
  const returning = createPlatformController(options.stream, { persisted: first.exportState?.(nowMs) ?? null, nowMs });
  const result = simulateRun(trace, returning, options);
  return { ...result, controller: RETURNING };
}

/** Chrome's `navigator.connection.downlink` for a run starting at the trace's beginning (see NETINFO). */
export function netinfoDownlink(trace: Pick<Trace, 'durationsSec' | 'bps'>): number {
  const clock = new TraceClock(trace);
  const window = Math.min(NETINFO_WINDOW_SEC, clock.periodSec);
  const bps = clock.bitsBetween(clock.periodSec - window, clock.periodSec) / window;
  return Math.min(NETINFO_CAP_BPS, Math.round(bps / 25_000) * 25_000);
}

/** Plays a fixed plan (the oracle's) through the simulator. */
export function scriptedController(levels: readonly number[], name = ORACLE): AbrController {
  return { name, chooseLevel: (d) => levels[d.segmentIndex] ?? 0, onDownloaded() {}, bandwidthEstimate: () => null };
}

/**
 * The oracle's run: the QoE_lin-optimal plan replayed through the simulator (so every column is measured the
 * same way as the controllers'), with qoeLog replaced by the QoE_log optimum and qoeLinExStartup by the optimum of
 * QoE_lin with startup apart (separate DPs on the same trace: startup weighted 0 may pick a bigger first segment).
 */
function simulateOracle(trace: Trace, options: SimOptions): RunResult {
  const oracleOptions = { stream: options.stream, segmentCount: options.segmentCount, rttSec: options.rttSec, segmentBits: options.segmentBits };
  const lin = solveOracle(trace, { ...oracleOptions, qoe: 'lin' });
  const log = solveOracle(trace, { ...oracleOptions, qoe: 'log' });
  const exStartup = solveOracle(trace, { ...oracleOptions, qoe: 'lin', startupPenalty: 0 });
  const linRun = simulateRun(trace, scriptedController(lin.levels), options);
  const logRun = simulateRun(trace, scriptedController(log.levels), options);
  const exStartupRun = simulateRun(trace, scriptedController(exStartup.levels), options);
  return {
    ...linRun,
    metrics: { ...linRun.metrics, qoeLog: logRun.metrics.qoeLog, qoeLinExStartup: exStartupRun.metrics.qoeLinExStartup },
  };
}

/** The three fractions of OracleFractions for one controller's runs against the oracle's on the same traces. */
export function fractions(own: RunResult[], oracle: RunResult[], floors: ReadonlyMap<string, RunMetrics>): OracleFractions {
  const best = new Map(oracle.map((s) => [s.trace, s.metrics]));
  const paired = own.filter((s) => best.has(s.trace) && floors.has(s.trace));
  const sum = (pick: (s: RunResult) => number): number => paired.reduce((total, s) => total + pick(s), 0);
  const of = (key: 'qoeLin' | 'qoeLog' | 'qoeLinExStartup') => {
    const q = sum((s) => s.metrics[key]);
    const o = sum((s) => best.get(s.trace)![key]);
    const f = sum((s) => floors.get(s.trace)![key]);
    const positive = paired.filter((s) => best.get(s.trace)![key] > 0);
    return {
      ratio: o > 0 ? q / o : NaN,
      headroom: o > f ? (q - f) / (o - f) : NaN,
      perTrace: positive.length ? positive.reduce((total, s) => total + s.metrics[key] / best.get(s.trace)![key], 0) / positive.length : NaN,
      count: positive.length,
    };
  };
  const lin = of('qoeLin');
  const log = of('qoeLog');
  const exStartup = of('qoeLinExStartup');
  return {
    qoeLin: lin.ratio,
    qoeLog: log.ratio,
    headroomLin: lin.headroom,
    headroomLog: log.headroom,
    perTraceLin: lin.perTrace,
    perTraceLog: log.perTrace,
    perTraceCount: { lin: lin.count, log: log.count },
    qoeLinExStartup: exStartup.ratio,
    headroomLinExStartup: exStartup.headroom,
  };
}

export function summarize(name: string, runs: RunResult[], stream: AbrStream): ControllerSummary {
  const n = runs.length || 1;
  const mean = (pick: (m: RunMetrics) => number): number => runs.reduce((sum, s) => sum + pick(s.metrics), 0) / n;
  const stall = runs.reduce((sum, s) => sum + s.metrics.rebufferSec, 0);
  const video = runs.reduce((sum, s) => sum + s.levels.length * stream.segmentDurationSec, 0);
  return {
    controller: name,
    traces: runs.length,
    meanQoeLin: mean((m) => m.qoeLin),
    meanBitrateMbps: mean((m) => m.avgBitrateMbps),
    rebufferRatio: video + stall > 0 ? stall / (video + stall) : 0,
    meanSwitches: mean((m) => m.switches),
    meanStartupSec: mean((m) => m.startupSec),
    meanAbandons: mean((m) => m.abandons),
    meanQoeLog: mean((m) => m.qoeLog),
    meanQoeLinExStartup: mean((m) => m.qoeLinExStartup),
    meanFirstBitrateMbps: mean((m) => m.firstBitrateMbps),
    fractionOfOracle: null,
  };
}

export function formatTable(rows: ControllerSummary[]): string {
  const header = ['controller', 'traces', 'QoE_lin', 'of oracle', 'headroom', 'per trace', 'QoE_log', 'of oracle', 'QoE_lin ex-startup', 'of oracle', 'bitrate Mbps', 'rebuffer %', 'switches', 'startup s', 'first Mbps', 'abandons'];
  const fraction = (f: number | undefined): string => (f === undefined || !Number.isFinite(f) ? '-' : f.toFixed(3));
  const body = rows.map((r) => [
    r.controller,
    String(r.traces),
    r.meanQoeLin.toFixed(1),
    fraction(r.fractionOfOracle?.qoeLin),
    fraction(r.fractionOfOracle?.headroomLin),
    fraction(r.fractionOfOracle?.perTraceLin),
    r.meanQoeLog.toFixed(1),
    fraction(r.fractionOfOracle?.qoeLog),
    r.meanQoeLinExStartup.toFixed(1),
    fraction(r.fractionOfOracle?.qoeLinExStartup),
    r.meanBitrateMbps.toFixed(2),
    (r.rebufferRatio * 100).toFixed(2),
    r.meanSwitches.toFixed(1),
    r.meanStartupSec.toFixed(2),
    r.meanFirstBitrateMbps.toFixed(2),
    r.meanAbandons.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

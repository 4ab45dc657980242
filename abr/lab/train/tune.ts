/**
 * Scoring behind `npm run abr:tune` (scripts/abr-tune.ts): the honest-tuning check for the platform controller's
 * settings (the shipped knobs and the lab's options). For a grid of settings it scores the controller on every trace as a fraction of the oracle, per
 * family, then does leave-one-family-out: for each family, the setting that is best on the *other* families is
 * scored on the held-out one. If the held-out scores are close to the in-sample ones, the chosen setting is not an
 * artefact of the traces it was picked on. Deterministic; prints progress on stderr.
 */
import type { AbrController, AbrStream } from '../../types';
import { CONTROLLERS } from '../controllers';
import { createLabController } from '../controllers/lab-platform';
import type { LabParams } from '../controllers/lab-params';
import { solveOracle } from '../sim/oracle';
import { scriptedController } from '../sim/run';
import { simulateRun, type SimOptions } from '../sim/simulator';
import type { Trace } from '../sim/traces';

export interface TuneRow {
  params: Partial<LabParams>;
  /** A baseline controller's name instead of platform settings (`tuneBaselines`). */
  controller?: string;
  /** Per family: Σ QoE_lin and Σ oracle QoE_lin and Σ always-lowest QoE_lin; Σ stall s and Σ video s (for rebuffer %). */
  families: Record<string, { qoe: number; oracle: number; floor: number; rebufferSec: number; videoSec: number; runs: number }>;
}

export interface TuneReport {
  grid: TuneRow[];
  families: string[];
  /** Fraction of the headroom over always-lowest, per family, for each grid row (same order). */
  scores: Array<Record<string, number>>;
  leaveOneOut: Array<{ heldOut: string; chosen: Partial<LabParams>; heldOutScore: number; bestPossibleOnHeldOut: number; chosenOnAll: Partial<LabParams> }>;
}

/** (Σ QoE − Σ floor) / (Σ oracle − Σ floor): the share of what the best possible adds over always-lowest. */
export const headroom = (f: { qoe: number; oracle: number; floor: number }): number => (f.oracle > f.floor ? (f.qoe - f.floor) / (f.oracle - f.floor) : 1);

export function gridOf(axes: Partial<Record<keyof LabParams, number[]>>): Array<Partial<LabParams>> {
  let rows: Array<Partial<LabParams>> = [{}];
  for (const [key, values] of Object.entries(axes)) rows = rows.flatMap((row) => (values ?? []).map((v) => ({ ...row, [key]: v })));
  return rows;
}

export interface TraceBase {
  trace: Trace;
  oracleQoe: number;
  floor: number;
}

export function bases(traces: Trace[], options: SimOptions): TraceBase[] {
  const stream: AbrStream = options.stream;
  return traces.map((trace) => {
    const oracle = solveOracle(trace, { stream, segmentCount: options.segmentCount, rttSec: options.rttSec, segmentBits: options.segmentBits });
    const oracleQoe = simulateRun(trace, scriptedController(oracle.levels), options).metrics.qoeLin;
    const floor = simulateRun(trace, scriptedController([], 'lowest'), options).metrics.qoeLin;
    return { trace, oracleQoe, floor };
  });
}

/** One controller's sums per family over the traces (a fresh controller per trace). */
export function rowOf(base: TraceBase[], families: string[], options: SimOptions, create: (trace: Trace) => AbrController): TuneRow['families'] {
  const fam: TuneRow['families'] = Object.fromEntries(families.map((f) => [f, { qoe: 0, oracle: 0, floor: 0, rebufferSec: 0, videoSec: 0, runs: 0 }]));
  for (const { trace, oracleQoe, floor } of base) {
    const run = simulateRun(trace, create(trace), options);
    const m = run.metrics;
    const f = fam[trace.family];
    if (!f) continue;
    f.qoe += m.qoeLin;
    f.oracle += oracleQoe;
    f.floor += floor;
    f.rebufferSec += m.rebufferSec;
    f.videoSec += run.levels.length * options.stream.segmentDurationSec;
    f.runs += 1;
  }
  return fam;
}

/** The baselines (every controller of CONTROLLERS that is not a platform row) scored like a grid row. */
export function tuneBaselines(traces: Trace[], options: SimOptions): TuneRow[] {
  const families = [...new Set(traces.map((t) => t.family))].sort();
  const base = bases(traces, options);
  return CONTROLLERS.filter((c) => !c.name.startsWith('platform')).map((c) => ({
    params: {},
    controller: c.name,
    families: rowOf(base, families, options, () => c.create(options.stream)),
  }));
}

/** Any controllers (a factory each, named) scored like grid rows on the same traces (e.g. the auto-tuner). */
export function tuneControllers(traces: Trace[], options: SimOptions, controllers: ReadonlyArray<{ name: string; create: (trace: Trace) => AbrController }>): TuneRow[] {
  const families = [...new Set(traces.map((t) => t.family))].sort();
  const base = bases(traces, options);
  return controllers.map((c) => ({ params: {}, controller: c.name, families: rowOf(base, families, options, c.create) }));
}

export function tune(traces: Trace[], options: SimOptions, grid: Array<Partial<LabParams>>, progress: (line: string) => void = () => {}): TuneReport {
  const stream: AbrStream = options.stream;
  const families = [...new Set(traces.map((t) => t.family))].sort();
  const base = bases(traces, options);
  const rows: TuneRow[] = grid.map((params, i) => {
    const fam = rowOf(base, families, options, () => createLabController(stream, { params }));
    progress(`[${i + 1}/${grid.length}] ${JSON.stringify(params)} ${families.map((f) => `${f} ${headroom(fam[f]!).toFixed(3)}`).join(' ')}`);
    return { params, families: fam };
  });
  const scores = rows.map((r) => Object.fromEntries(families.map((f) => [f, headroom(r.families[f]!)])));
  const meanOver = (score: Record<string, number>, fams: string[]): number => fams.reduce((s, f) => s + (score[f] ?? 0), 0) / fams.length;
  const argBest = (fams: string[]): number => scores.reduce((best, s, i) => (meanOver(s, fams) > meanOver(scores[best]!, fams) ? i : best), 0);
  const chosenOnAll = rows[argBest(families)]!.params;
  const leaveOneOut = families.map((heldOut) => {
    const others = families.filter((f) => f !== heldOut);
    const i = argBest(others);
    return {
      heldOut,
      chosen: rows[i]!.params,
      heldOutScore: scores[i]![heldOut] ?? 0,
      bestPossibleOnHeldOut: Math.max(...scores.map((s) => s[heldOut] ?? 0)),
      chosenOnAll,
    };
  });
  return { grid: rows, families, scores, leaveOneOut };
}


/**
 * A fixed train/test split across every family: within each family (traces sorted by name) the even positions train,
 * the odd ones are held out. Every family is in both halves, so a setting is picked on all kinds of network and
 * judged on traces it has not seen (leave-one-family-out, above, asks the harder question of an unseen kind).
 */
export function splitTraces(traces: Trace[]): { train: Trace[]; test: Trace[] } {
  const train: Trace[] = [];
  const test: Trace[] = [];
  const families = [...new Set(traces.map((t) => t.family))].sort();
  for (const family of families) {
    traces
      .filter((t) => t.family === family)
      .sort((a, b) => a.name.localeCompare(b.name))
      .forEach((t, i) => (i % 2 === 0 ? train : test).push(t));
  }
  return { train, test };
}

export interface RowScore {
  ratio: number;
  headroom: number;
  rebufferSec: number;
  /** Σ stall s / (Σ stall s + Σ video s), as the simulator's rebuffer % (startup excluded). */
  rebufferRatio: number;
  /** Mean QoE_lin per trace. */
  meanQoe: number;
}

/** Per family and overall: plain ratio Σ QoE / Σ oracle (NaN when Σ oracle ≤ 0), the headroom fraction, stall. */
export function scoreRow(row: TuneRow): Record<string, RowScore> {
  const out: Record<string, RowScore> = {};
  const total = { qoe: 0, oracle: 0, floor: 0, rebufferSec: 0, videoSec: 0, runs: 0 };
  const score = (f: typeof total): RowScore => ({
    ratio: f.oracle > 0 ? f.qoe / f.oracle : NaN,
    headroom: headroom(f),
    rebufferSec: f.rebufferSec,
    rebufferRatio: f.videoSec + f.rebufferSec > 0 ? f.rebufferSec / (f.videoSec + f.rebufferSec) : 0,
    meanQoe: f.runs > 0 ? f.qoe / f.runs : 0,
  });
  for (const [family, f] of Object.entries(row.families)) {
    out[family] = score(f);
    total.qoe += f.qoe;
    total.oracle += f.oracle;
    total.floor += f.floor;
    total.rebufferSec += f.rebufferSec;
    total.videoSec += f.videoSec;
    total.runs += f.runs;
  }
  out.overall = score(total);
  return out;
}

/**
 * Every trace also started at 1/n, 2/n, … of its slots (n runs per trace, named `name@k`): a larger sample that is
 * less sensitive to where one early decision lands against a trace's on/off pattern. Each rotation is a trace of its
 * own, with its own oracle.
 */
export function rotateTraces(traces: Trace[], n: number): Trace[] {
  return traces.flatMap((t) =>
    Array.from({ length: Math.max(1, n) }, (_, r) => {
      const k = Math.floor((r * t.bps.length) / Math.max(1, n));
      return { ...t, name: `${t.name}@${r}`, durationsSec: [...t.durationsSec.slice(k), ...t.durationsSec.slice(0, k)], bps: [...t.bps.slice(k), ...t.bps.slice(0, k)] };
    }),
  );
}

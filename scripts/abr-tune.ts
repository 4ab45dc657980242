/**
 * `npm run abr:tune -- [--traces DIR] [--grid-check] [--lofo] [--split]`: the checks behind the ABR numbers in
 * docs/abr.md. --split: the grid scored on the even-position traces of every family (train), the setting with the best
 * mean headroom fraction over families reported on the odd ones (held out), next to the shipped defaults.
 * --grid-check: the oracle's total optimum over all traces at buffer steps 0.2, 0.1, 0.05, 0.025 s (is 0.05 s fine
 * enough?). --lofo: the platform controller's tunables over a small grid, scored per family as a fraction of the
 * oracle's headroom over always-lowest, and leave-one-family-out (see abr/lab/train/tune.ts).
 * --eval '[{...}, …]' [--half train|test] [--rotations N]: the given platform settings (LAB_PARAMS overrides: the shipped
 * knobs and the lab's options; {} = the shipped controller), per family ratio / headroom / Σ stall s, on all traces or one half of the split, optionally with
 * every trace also rotated to start at k/N of its length. --grid '{"axis": [values], …}' replaces the grid of --split
 * and --lofo. --perfect H[,H…]: per family, the oracle, a perfect-prediction MPC that knows the next H segments
 * exactly (abr/lab/sim/perfect-prediction.ts) and the shipped platform controller, each as Σ QoE_lin, Σ Mbps, stall,
 * startup and switch cost, with ratio / headroom (where a controller's gap to the oracle is). --baselines (with --eval
 * or --split): the baselines' rows on the same traces, and rebuffer % per cell. --pick rebuffer (with --split): pick on
 * the training half only among settings that rebuffer no more than the reference rule there on every family.
 * An unknown option name is an error. Deterministic.
 */
import path from 'node:path';
import { assertLabParamNames, type LabParams } from '../abr/lab/controllers/lab-params';
import { defaultSimOptions } from '../abr/lab/sim/cli';
import { oracleGridCheck, solveOracle } from '../abr/lab/sim/oracle';
import { createPerfectPredictionController } from '../abr/lab/sim/perfect-prediction';
import { scriptedController } from '../abr/lab/sim/run';
import { simulateRun, type RunMetrics } from '../abr/lab/sim/simulator';
import { loadTraceDir } from '../abr/lab/sim/traces';
import { gridOf, rotateTraces, scoreRow, splitTraces, tune, tuneBaselines, type RowScore } from '../abr/lab/train/tune';
import { createPlatformController } from '../abr/platform';
import { PLATFORM_MEDIA } from './abr-media';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const tracesAt = argv.indexOf('--traces');
const root = tracesAt >= 0 && argv[tracesAt + 1] ? path.resolve(argv[tracesAt + 1]!) : path.resolve(import.meta.dirname, '../../shared/traces');
const { traces } = loadTraceDir(root);
const options = defaultSimOptions(PLATFORM_MEDIA);
const { stream } = options;
/** --split's default grid: the long-run estimate floor, the cold-start error prior and the time-weighted short estimate. */
const SPLIT_GRID = { longWindow: [0, 10], coldStartError: [0, 0.3, 0.5], timeWeighted: [0, 1] };
const LOFO_GRID = { estimateWindow: [3, 5], errorCap: [1, 1e6], bufferRelax: [0, 1], terminalBufferSec: [0, 12], terminalWeight: [1], timeWeighted: [0, 1] };
/** `--grid '{"axis": [values], …}'` replaces the grid of --split and --lofo (e.g. the stochastic planner's settings). */
const gridAt = argv.indexOf('--grid');
const customGrid = gridAt >= 0 ? (JSON.parse(argv[gridAt + 1] ?? '{}') as Partial<Record<keyof LabParams, number[]>>) : null;
if (customGrid) assertLabParamNames(Object.keys(customGrid));

if (flag('--grid-check')) {
  console.log(`oracle grid check over ${traces.length} traces (QoE_lin):`);
  for (const qoe of ['lin', 'log'] as const) {
    for (const row of oracleGridCheck(traces, { ...options, qoe }, [0.2, 0.1, 0.05, 0.025])) {
      console.log(
        `  ${qoe} step ${row.stepSec} s: total ${row.total.toFixed(2)}` +
          (row.totalChangeVsFiner === null ? '' : `; vs ${row.stepSec / 2} s: total ${(100 * row.totalChangeVsFiner).toFixed(3)} %, worst trace ${(100 * (row.maxTraceChangeVsFiner ?? 0)).toFixed(3)} %`) +
          ` (${row.seconds.toFixed(1)} s)`,
      );
    }
  }
}
if (flag('--split')) {
  const { train, test } = splitTraces(traces);
  const grid = gridOf(customGrid ?? SPLIT_GRID);
  const pickAt = argv.indexOf('--pick');
  const pick = pickAt >= 0 ? argv[pickAt + 1] : 'headroom';
  if (pick !== 'headroom' && pick !== 'rebuffer') throw new Error(`--pick must be headroom or rebuffer, not ${pick}`);
  const trainReference = pick === 'rebuffer' ? scoreRow(tuneBaselines(train, options).find((r) => r.controller === 'reference')!) : null;
  console.log(`train/test split: ${train.length} training traces, ${test.length} held out (odd positions in each family)`);
  const trained = tune(train, options, grid, (line) => console.error(`train ${line}`));
  const mean = (score: Record<string, number>): number => trained.families.reduce((s, f) => s + (score[f] ?? 0), 0) / trained.families.length;
  // --pick rebuffer: only settings whose training-half rebuffering is no worse than the reference rule's on every
  // family compete (the rebuffering target); the best mean headroom among them wins.
  const eligible = trained.grid.map((row) => {
    if (pick !== 'rebuffer') return true;
    const score = scoreRow(row);
    return trained.families.every((f) => (score[f]?.rebufferRatio ?? 0) <= (trainReference?.[f]?.rebufferRatio ?? Infinity) + 1e-12);
  });
  if (pick === 'rebuffer') console.log(`--pick rebuffer: ${eligible.filter(Boolean).length} of ${grid.length} settings rebuffer no more than the reference rule on every training family`);
  const candidates = eligible.some(Boolean) ? trained.scores.map((_, i) => i).filter((i) => eligible[i]) : trained.scores.map((_, i) => i);
  const best = candidates.reduce((b, i) => (mean(trained.scores[i]!) > mean(trained.scores[b]!) ? i : b), candidates[0]!);
  const chosen = grid[best]!;
  console.log(`chosen on the training half: ${JSON.stringify(chosen)} (mean headroom over families ${mean(trained.scores[best]!).toFixed(3)})`);
  const held = tune(test, options, [{}, chosen], (line) => console.error(`test ${line}`));
  for (const [i, label] of ['shipped defaults', 'chosen on train'].entries()) {
    const score = scoreRow(held.grid[i]!);
    console.log(`  held out, ${label}: ${Object.entries(score).map(([f, v]) => `${f} ${Number.isFinite(v.ratio) ? v.ratio.toFixed(3) : '-'} / headroom ${v.headroom.toFixed(3)} / rebuffer ${(100 * v.rebufferRatio).toFixed(2)} %`).join('; ')}`);
  }
  if (flag('--baselines')) {
    for (const row of tuneBaselines(test, options)) {
      const score = scoreRow(row);
      console.log(`  held out, ${row.controller}: ${Object.entries(score).map(([f, v]) => `${f} ${Number.isFinite(v.ratio) ? v.ratio.toFixed(3) : '-'} / headroom ${v.headroom.toFixed(3)} / rebuffer ${(100 * v.rebufferRatio).toFixed(2)} %`).join('; ')}`);
    }
  }
}
if (flag('--lofo')) {
  const grid = gridOf(customGrid ?? LOFO_GRID);
  const report = tune(traces, options, grid, (line) => console.error(line));
  console.log('leave-one-family-out (headroom fraction = (QoE − always-lowest) / (oracle − always-lowest), per family):');
  for (const r of report.leaveOneOut) {
    console.log(`  held out ${r.heldOut}: chosen on the others ${JSON.stringify(r.chosen)} → ${r.heldOutScore.toFixed(3)} (best in grid for it ${r.bestPossibleOnHeldOut.toFixed(3)})`);
  }
  console.log(`chosen on all families: ${JSON.stringify(report.leaveOneOut[0]?.chosenOnAll)}`);
  if (customGrid) {
    const shipped = tune(traces, options, [{}]).scores[0]!;
    console.log(`shipped defaults per family (in sample): ${report.families.map((f) => `${f} ${(shipped[f] ?? 0).toFixed(3)}`).join(', ')}`);
  }
}

const evalAt = argv.indexOf('--eval');
if (evalAt >= 0) {
  const settings = JSON.parse(argv[evalAt + 1] ?? '[{}]') as Array<Partial<LabParams>>;
  for (const setting of settings) assertLabParamNames(Object.keys(setting));
  const halfAt = argv.indexOf('--half');
  const half = halfAt >= 0 ? argv[halfAt + 1] : undefined;
  if (half !== undefined && half !== 'train' && half !== 'test') throw new Error(`--half must be train or test, not ${half}`);
  const rotationsAt = argv.indexOf('--rotations');
  const rotations = rotationsAt >= 0 ? Number(argv[rotationsAt + 1]) : 1;
  if (!Number.isInteger(rotations) || rotations < 1) throw new Error(`--rotations must be a positive integer, not ${argv[rotationsAt + 1]}`);
  const picked = rotateTraces(half ? splitTraces(traces)[half] : traces, rotations);
  console.log(`eval on ${picked.length} runs (${half ?? 'all traces'}, ${rotations} rotation(s)): ratio / headroom / Σ stall s`);
  const report = tune(picked, options, settings, (line) => console.error(line));
  // With --baselines: also the baselines (reference, hls.js, BBA, BOLA) on the same runs, and every cell with its
  // mean QoE_lin per trace and rebuffer % (ratio / headroom / Σ stall s (rebuffer %) [mean QoE_lin]).
  const rows = flag('--baselines') ? [...tuneBaselines(picked, options), ...report.grid] : report.grid;
  for (const row of rows) {
    const score = scoreRow(row);
    const cell = (v: RowScore): string =>
      `${Number.isFinite(v.ratio) ? v.ratio.toFixed(3) : '-'} / ${v.headroom.toFixed(3)} / ${v.rebufferSec.toFixed(0)}` +
      (flag('--baselines') ? ` (${(100 * v.rebufferRatio).toFixed(2)} %) [${v.meanQoe.toFixed(1)}]` : '');
    console.log(`  ${row.controller ?? JSON.stringify(row.params)}: ${Object.entries(score).map(([f, v]) => `${f} ${cell(v)}`).join('; ')}`);
  }
}

const perfectAt = argv.indexOf('--perfect');
if (perfectAt >= 0) {
  const horizons = (argv[perfectAt + 1] ?? '5').split(',').map(Number);
  if (!horizons.every((h) => Number.isInteger(h) && h >= 1)) throw new Error(`--perfect needs horizons like 5 or 1,3,5, not ${argv[perfectAt + 1]}`);
  const families = [...new Set(traces.map((t) => t.family))].sort();
  type Sum = { qoe: number; mbps: number; stall: number; startup: number; switchCost: number };
  const add = (sum: Sum, m: RunMetrics, segments: number): void => {
    sum.qoe += m.qoeLin;
    sum.mbps += m.avgBitrateMbps * segments;
    sum.stall += m.rebufferSec;
    sum.startup += m.startupSec;
    sum.switchCost += m.avgBitrateMbps * segments - 4.3 * (m.rebufferSec + m.startupSec) - m.qoeLin;
  };
  console.log('perfect prediction (Σ over each family: QoE_lin, Σ Mbps, stall s, startup s, switch cost; ratio / headroom):');
  for (const family of families) {
    const rows = new Map<string, Sum>();
    const row = (name: string): Sum => rows.get(name) ?? rows.set(name, { qoe: 0, mbps: 0, stall: 0, startup: 0, switchCost: 0 }).get(name)!;
    for (const trace of traces.filter((t) => t.family === family)) {
      const plan = solveOracle(trace, { stream, segmentCount: options.segmentCount, rttSec: options.rttSec }).levels;
      add(row('oracle'), simulateRun(trace, scriptedController(plan), options).metrics, options.segmentCount);
      add(row('lowest'), simulateRun(trace, scriptedController([], 'lowest'), options).metrics, options.segmentCount);
      for (const horizon of horizons) {
        const perfect = createPerfectPredictionController(trace, { stream, rttSec: options.rttSec, horizon });
        add(row(`perfect-${horizon}`), simulateRun(trace, perfect, options).metrics, options.segmentCount);
      }
      add(row('platform'), simulateRun(trace, createPlatformController(stream), options).metrics, options.segmentCount);
    }
    const oracle = row('oracle');
    const lowest = row('lowest');
    console.log(`  ${family}:`);
    for (const [name, r] of rows) {
      if (name === 'lowest') continue;
      const ratio = oracle.qoe > 0 ? (r.qoe / oracle.qoe).toFixed(3) : '-';
      const headroom = ((r.qoe - lowest.qoe) / (oracle.qoe - lowest.qoe)).toFixed(3);
      console.log(`    ${name.padEnd(10)} QoE_lin ${r.qoe.toFixed(1)}, Σ Mbps ${r.mbps.toFixed(1)}, stall ${r.stall.toFixed(1)} s, startup ${r.startup.toFixed(1)} s, switch cost ${r.switchCost.toFixed(1)}; ${ratio} / ${headroom}`);
    }
  }
}

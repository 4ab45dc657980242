/**
 * Training of the imitation model (abr/lab/models/imitation.ts): DAgger (Ross et al., 2011) on the training half of
 * the shared traces, with a teacher that knows the future, in the manner of Comyco (Huang et al., 2019).
 *
 * Each DAgger iteration plays every training run (the training traces, rotated and throughput-scaled as
 * augmentation) with a mix of the teacher and the current learned policy (the teacher acts with probability β, seeded
 * PRNG), and at every decision the learned platform controller would make it records:
 * - the causal feature vector (ImitationFeatures: only what the player knows), and
 * - the label: the interval [lo, hi] of log multipliers z under which the shipped planner, planning with its robust
 *   estimate × e^z from this very state, picks the teacher's rung (found by bisection on a grid of z, the planner's
 *   first rung being non-decreasing in its estimate). An unbounded side is ±∞; a rung the planner skips over gets the
 *   point between the two grid values around it.
 * The data of all iterations are aggregated and a boosted ensemble of depth-limited regression trees is fitted to them
 * with the interval loss ½·dist(z, [lo, hi])² (zero inside the interval), starting from z = 0, the shipped
 * controller; the next iteration rolls out that ensemble.
 *
 * Teachers: `perfect` = the perfect-prediction MPC over the next `horizon` segments (a causal-horizon teacher, as
 * Comyco's), `oracle` = the offline-optimal DP from the current state over the rest of the video.
 *
 * Deterministic: fixed seed, fixed order, no wall clock in any decision.
 */
import type { AbrController, AbrStream } from '../../types';
import { capLevel } from '../../types';
import { createLabController } from '../controllers/lab-platform';
import { ImitationFeatures, IMITATION_FEATURES, createImitationPolicy, predictLog, type ImitationModel, type ImitationTree } from '../models/imitation';
import { solveOracle } from '../sim/oracle';
import { perfectFirstRung } from '../sim/perfect-prediction';
import { simulateRun, type SimOptions } from '../sim/simulator';
import { TraceClock, type Trace } from '../sim/traces';
import { rotateTraces } from './tune';
import { mulberry32 } from './prng';

const round = (v: number): number => Math.round(v * 1e6) / 1e6;
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export type Teacher = 'perfect' | 'oracle';

export interface ImitateOptions {
  teacher: Teacher;
  /** Perfect-prediction teacher's horizon, segments. */
  horizon: number;
  /** DAgger iterations (the first rolls out with β = betas[0]). */
  betas: number[];
  rotations: number;
  /** Throughput scalings of every training trace (augmentation). */
  scales: number[];
  trees: number;
  depth: number;
  learningRate: number;
  minLeaf: number;
  /** Weight of the loss when z is above the interval (the planner would over-estimate: the costlier mistake). */
  overWeight: number;
  clampLog: number;
  /**
   * 'l2': ½·dist(z, [lo, hi])², leaves = mean residual; 'l1': dist(z, [lo, hi]) (LAD-TreeBoost, Friedman 2001: trees
   * fitted to the residuals' signs, leaves = median residual), so a leaf moves z only where most of its states want
   * the move: more conservative where the teacher's pick rests on a future the features cannot see.
   */
  loss: 'l1' | 'l2';
  /** Features the trees may not split on (an ablation: e.g. without `segmentsLeftFrac`, is anything else learnt?). */
  dropFeatures: string[];
  seed: number;
}

export const DEFAULT_IMITATE: ImitateOptions = {
  teacher: 'oracle',
  horizon: 5,
  betas: [1, 0, 0],
  rotations: 1,
  scales: [0.7, 1, 1.4],
  trees: 80,
  depth: 3,
  learningRate: 0.1,
  minLeaf: 100,
  overWeight: 2,
  clampLog: 1,
  loss: 'l1',
  dropFeatures: [],
  seed: 17,
};

export interface Example {
  x: number[];
  lo: number;
  hi: number;
}

/** The grid of log multipliers the labels are read on: ±clampLog in steps of 0.1 (a factor of 1.105). */
export const zGrid = (clampLog: number): number[] => {
  const steps = Math.round(clampLog / 0.1);
  return Array.from({ length: 2 * steps + 1 }, (_, i) => round((i - steps) * 0.1));
};

/** The interval of z on Z_GRID under which `rungAt(z)` equals `target` (rungAt non-decreasing in z). */
export function labelInterval(rungAt: (z: number) => number, target: number, grid: readonly number[]): { lo: number; hi: number } {
  const n = grid.length;
  const cache = new Map<number, number>();
  const at = (i: number): number => {
    let r = cache.get(i);
    if (r === undefined) {
      r = rungAt(grid[i] as number);
      cache.set(i, r);
    }
    return r;
  };
  // a = first index with rung ≥ target (n if none); b = last index with rung ≤ target (−1 if none).
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(mid) >= target) hi = mid;
    else lo = mid + 1;
  }
  const a = lo;
  lo = -1;
  hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (at(mid) <= target) lo = mid;
    else hi = mid - 1;
  }
  const b = lo;
  const z = (i: number): number => grid[i] as number;
  if (a <= b) return { lo: a === 0 ? -Infinity : z(a), hi: b === n - 1 ? Infinity : z(b) };
  if (a === n) return { lo: z(n - 1), hi: z(n - 1) };
  if (b === -1) return { lo: z(0), hi: z(0) };
  const mid = (z(b) + z(a)) / 2;
  return { lo: mid, hi: mid };
}

/** Throughput × `scale`. */
export function scaleTrace(trace: Trace, scale: number): Trace {
  return scale === 1 ? trace : { ...trace, name: `${trace.name}×${scale}`, bps: trace.bps.map((b) => b * scale) };
}

/**
 * One run played by the teacher (probability β) or the learned policy, recording an example at every decision the
 * planner makes. Returns the run's QoE_lin (for progress lines).
 */
export function rollout(trace: Trace, sim: SimOptions, model: ImitationModel | null, beta: number, rand: () => number, options: ImitateOptions, out: Example[]): number {
  const stream: AbrStream = sim.stream;
  const clock = new TraceClock(trace);
  const features = new ImitationFeatures(stream);
  const grid = zGrid(options.clampLog);
  let state = { nowSec: 0, bufferSec: 0, playing: false, segmentIndex: 0 };
  let forced: number | null = null;
  let x: number[] | null = null;
  const platform = createLabController(stream, {
    adjustEstimate: (estimate, decision) => {
      if (forced !== null) return estimate * Math.exp(forced);
      x = features.vector(decision, estimate);
      return model ? estimate * Math.exp(predictLog(model, x)) : estimate;
    },
  });
  const teacherRung = (decision: Parameters<AbrController['chooseLevel']>[0]): number => {
    if (options.teacher === 'perfect') {
      return perfectFirstRung(clock, { ...state, lastLevel: decision.lastLevel, segmentsLeft: decision.segmentsLeft, maxLevel: capLevel(stream, decision) }, {
        stream,
        rttSec: sim.rttSec,
        horizon: options.horizon,
        segmentBits: sim.segmentBits,
      });
    }
    const plan = solveOracle(trace, {
      stream,
      segmentCount: sim.segmentCount,
      rttSec: sim.rttSec,
      segmentBits: sim.segmentBits,
      bufferStepSec: 0.2,
      start: { index: decision.segmentIndex, timeSec: state.nowSec, bufferSec: state.bufferSec, lastLevel: decision.lastLevel },
    });
    return plan.levels[0] ?? 0;
  };
  const controller: AbrController = {
    name: 'imitate-rollout',
    chooseLevel(decision) {
      forced = null;
      x = null;
      const own = platform.chooseLevel(decision);
      const features = x as number[] | null;
      // The first segment (nothing measured) is the shipped startup logic's; no label there.
      if (features === null || !state.playing) return own;
      const target = teacherRung(decision);
      const { lo, hi } = labelInterval((z) => {
        forced = z;
        const rung = platform.chooseLevel(decision);
        forced = null;
        return rung;
      }, target, grid);
      out.push({ x: features, lo, hi });
      return rand() < beta ? target : own;
    },
    onDownloaded(sample) {
      features.push(sample);
      platform.onDownloaded(sample);
    },
    onProgress: (progress) => platform.onProgress?.(progress) ?? null,
    bandwidthEstimate: () => platform.bandwidthEstimate(),
  };
  return simulateRun(trace, controller, { ...sim, observe: (s) => (state = s) }).metrics.qoeLin;
}

/** Residual of the interval loss's negative gradient at prediction `p`. */
const residual = (p: number, lo: number, hi: number, overWeight: number): number => (p < lo ? lo - p : p > hi ? overWeight * (hi - p) : 0);

/**
 * Gradient boosting of regression trees on the interval loss (see the file comment). Splits are exhaustive over every
 * distinct feature value (presorted once), level by level; leaves hold learningRate × mean residual.
 */
export function fitModel(data: Example[], options: Pick<ImitateOptions, 'trees' | 'depth' | 'learningRate' | 'minLeaf' | 'overWeight' | 'clampLog'> & { loss?: 'l1' | 'l2'; dropFeatures?: string[] }, meta: Record<string, string | number> = {}): ImitationModel {
  const n = data.length;
  const d = IMITATION_FEATURES.length;
  const col = Array.from({ length: d }, (_, f) => Float64Array.from(data, (e) => e.x[f] ?? 0));
  const order = col.map((c) => Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (c[a] as number) - (c[b] as number) || a - b));
  const pred = new Float64Array(n);
  const res = new Float64Array(n);
  /** What the trees are fitted to: the residuals (l2) or their signs (l1). */
  const fitTo = new Float64Array(n);
  const l1 = options.loss === 'l1';
  const trees: ImitationTree[] = [];
  for (let t = 0; t < options.trees; t++) {
    for (let i = 0; i < n; i++) {
      res[i] = residual(pred[i] as number, (data[i] as Example).lo, (data[i] as Example).hi, options.overWeight);
      fitTo[i] = l1 ? Math.sign(res[i] as number) : (res[i] as number);
    }
    // nodes: [feature, threshold, left, right] or leaf [-1, value, 0, 0]; nodeOf[i] = node id holding sample i.
    const nodes: Array<[number, number, number, number]> = [[-1, 0, 0, 0]];
    const nodeOf = new Int32Array(n);
    let frontier = [0];
    for (let level = 0; level < options.depth && frontier.length; level++) {
      const sum = new Map<number, number>();
      const count = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const k = nodeOf[i] as number;
        sum.set(k, (sum.get(k) ?? 0) + (fitTo[i] as number));
        count.set(k, (count.get(k) ?? 0) + 1);
      }
      const best = new Map<number, { gain: number; f: number; thr: number }>();
      for (let f = 0; f < d; f++) {
        if (options.dropFeatures?.includes(IMITATION_FEATURES[f] as string)) continue;
        const c = col[f] as Float64Array;
        const leftSum = new Map<number, number>();
        const leftCount = new Map<number, number>();
        const prev = new Map<number, number>();
        for (const i of order[f] as Int32Array) {
          const k = nodeOf[i] as number;
          if (!frontier.includes(k)) continue;
          const v = c[i] as number;
          const nl = leftCount.get(k) ?? 0;
          const pv = prev.get(k);
          if (pv !== undefined && v > pv && nl >= options.minLeaf) {
            const total = count.get(k) as number;
            const nr = total - nl;
            if (nr >= options.minLeaf) {
              const sl = leftSum.get(k) ?? 0;
              const s = sum.get(k) as number;
              const gain = (sl * sl) / nl + ((s - sl) * (s - sl)) / nr - (s * s) / total;
              const cur = best.get(k);
              if (!cur || gain > cur.gain + 1e-12) best.set(k, { gain, f, thr: (pv + v) / 2 });
            }
          }
          leftSum.set(k, (leftSum.get(k) ?? 0) + (fitTo[i] as number));
          leftCount.set(k, nl + 1);
          prev.set(k, v);
        }
      }
      const next: number[] = [];
      for (const k of frontier) {
        const split = best.get(k);
        if (!split || split.gain <= 1e-9) continue;
        const left = nodes.push([-1, 0, 0, 0]) - 1;
        const right = nodes.push([-1, 0, 0, 0]) - 1;
        nodes[k] = [split.f, split.thr, left, right];
        next.push(left, right);
      }
      for (let i = 0; i < n; i++) {
        const node = nodes[nodeOf[i] as number] as [number, number, number, number];
        if (node[0] >= 0) nodeOf[i] = ((col[node[0]] as Float64Array)[i] as number) <= node[1] ? node[2] : node[3];
      }
      frontier = next;
    }
    const leafRes = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const k = nodeOf[i] as number;
      const list = leafRes.get(k) ?? leafRes.set(k, []).get(k)!;
      list.push(res[i] as number);
    }
    for (const [k, list] of leafRes) nodes[k] = [-1, round(options.learningRate * (l1 ? median(list) : list.reduce((a, b) => a + b, 0) / list.length)), 0, 0];
    for (const node of nodes) if (node[0] >= 0) node[1] = round(node[1]);
    trees.push(nodes);
    for (let i = 0; i < n; i++) {
      let k = 0;
      for (;;) {
        const node = nodes[k] as [number, number, number, number];
        if (node[0] < 0) {
          pred[i] = (pred[i] as number) + node[1];
          break;
        }
        k = ((col[node[0]] as Float64Array)[i] as number) <= node[1] ? node[2] : node[3];
      }
    }
  }
  return { features: [...IMITATION_FEATURES], trees, clampLog: options.clampLog, meta };
}


/** Share of examples whose prediction falls inside its interval, and the mean loss. */
export function fitQuality(model: ImitationModel, data: Example[]): { inside: number; insideAtZero: number; loss: number } {
  let inside = 0;
  let insideAtZero = 0;
  let loss = 0;
  for (const e of data) {
    const p = predictLog(model, e.x);
    if (p >= e.lo && p <= e.hi) inside++;
    if (0 >= e.lo && 0 <= e.hi) insideAtZero++;
    const r = residual(p, e.lo, e.hi, 1);
    loss += 0.5 * r * r;
  }
  return { inside: inside / data.length, insideAtZero: insideAtZero / data.length, loss: loss / data.length };
}

/** The platform controller driven by an in-memory model (what `{ imitation: 1 }` does with the committed one). */
export function createImitationController(stream: AbrStream, model: ImitationModel, name = 'platform-imitation'): AbrController {
  const policy = createImitationPolicy(stream, model);
  const platform = createLabController(stream, { adjustEstimate: policy.adjust, name });
  return {
    name,
    chooseLevel: (decision) => platform.chooseLevel(decision),
    onDownloaded(sample) {
      policy.push(sample);
      platform.onDownloaded(sample);
    },
    onProgress: (progress) => platform.onProgress?.(progress) ?? null,
    bandwidthEstimate: () => platform.bandwidthEstimate(),
  };
}

/** DAgger: returns the final model and the aggregated data set size per iteration. */
export function train(traces: Trace[], sim: SimOptions, options: ImitateOptions, progress: (line: string) => void = () => {}): { model: ImitationModel; examples: number } {
  const rand = mulberry32(options.seed);
  const runs = traces.flatMap((t) => options.scales.map((s) => scaleTrace(t, s)));
  const data: Example[] = [];
  let model: ImitationModel | null = null;
  const meta = {
    teacher: options.teacher === 'perfect' ? `perfect-prediction MPC, horizon ${options.horizon}` : 'offline oracle from the state',
    betas: options.betas.join(','),
    rotations: options.rotations,
    scales: options.scales.join(','),
    trees: options.trees,
    depth: options.depth,
    learningRate: options.learningRate,
    minLeaf: options.minLeaf,
    overWeight: options.overWeight,
    loss: options.loss,
    ...(options.dropFeatures.length ? { dropFeatures: options.dropFeatures.join(',') } : {}),
    seed: options.seed,
    trainingTraces: traces.length,
  };
  options.betas.forEach((beta, iteration) => {
    let qoe = 0;
    const before = data.length;
    for (const trace of rotateTraces(runs, options.rotations)) qoe += rollout(trace, sim, model, beta, rand, options, data);
    model = fitModel(data, options, { ...meta, examples: data.length });
    const q = fitQuality(model, data);
    progress(
      `iteration ${iteration + 1}/${options.betas.length} (β ${beta}): ${data.length - before} new examples, ${data.length} in all; rollout mean QoE_lin ${(qoe / (runs.length * options.rotations)).toFixed(1)}; ` +
        `fit: inside the teacher's interval ${(100 * q.inside).toFixed(1)} % (shipped z = 0: ${(100 * q.insideAtZero).toFixed(1)} %), loss ${q.loss.toFixed(4)}`,
    );
  });
  return { model: model as unknown as ImitationModel, examples: data.length };
}

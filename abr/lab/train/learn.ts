/**
 * Training and evaluation of the learned throughput predictor (abr/lab/models/learned-predictor.ts).
 *
 * Samples come from simulated runs, so the inputs are exactly what the controller sees: the shipped platform
 * controller (and the `platform-stochastic` setting, for a second policy's mix of segment sizes) plays each trace from
 * several start offsets; at every decision the probe records the predictor's inputs and the 3-transfer harmonic mean
 * (the reference), and the next transfer rate the controller records (a completed download, or the partial rate of
 * an abandoned one) is the target, z = ln(rate / reference).
 *
 * Model: one hidden layer of tanh units and a softmax over fixed bins of z, fitted by Adam on the cross-entropy with
 * minibatches, L2 weight decay and a fixed seed (mulberry32), so the weights are a pure function of the training
 * traces. Deterministic.
 */
import { createLabController } from '../controllers/lab-platform';
import { STOCHASTIC_PARAMS, type LabParams } from '../controllers/lab-params';
import { FEATURE_COUNT, predictProbs, quantileZ, type LearnedWeights } from '../models/learned-predictor';
import { simulateRun, type SimOptions } from '../sim/simulator';
import type { Trace } from '../sim/traces';
import { rotateTraces } from './tune';
import { mulberry32 } from './prng';

export interface Sample {
  features: number[];
  /** ln(next transfer rate / 3-transfer harmonic mean). */
  z: number;
  /** ln(shipped planner's estimate / reference). */
  shippedZ: number;
  /** ln(rate_i / reference) of the last (up to) 8 transfers, oldest first: the stochastic planner's empirical distribution. */
  recentZ: number[];
  family: string;
}

/** Bin edges of z: fine around 0 (the next rate ≈ the recent mean), coarse in the tails (fades, near-zero seconds). */
export const BIN_EDGES = [-2.5, -1.5, -1, -0.7, -0.45, -0.25, -0.1, 0.05, 0.2, 0.4, 0.7, 1.1];
export const Z_MIN = -5;
export const Z_MAX = 2;

export const POLICIES: Array<Partial<LabParams>> = [{}, STOCHASTIC_PARAMS];

/**
 * What is predicted: `next` = the next transfer rate the controller records; `horizon` = the time-average rate of the
 * next HORIZON_TRANSFERS transfers (Σ bits / Σ seconds), the rate a 5-segment plan lives on.
 */
export type Target = 'next' | 'horizon';
export const HORIZON_TRANSFERS = 5;

/** Samples from every trace at `rotations` start offsets under each policy. */
export function collectSamples(traces: Trace[], options: SimOptions, rotations: number, policies = POLICIES, target: Target = 'next'): Sample[] {
  const out: Sample[] = [];
  const need = target === 'next' ? 1 : HORIZON_TRANSFERS;
  for (const trace of rotateTraces(traces, rotations)) {
    for (const params of policies) {
      const open: Array<{ features: number[]; ref: number; estimate: number; recentZ: number[]; bits: number; seconds: number; count: number }> = [];
      const rates: number[] = [];
      const controller = createLabController(options.stream, {
        params,
        probe: {
          decision(features, ref, estimate) {
            // A decision with no transfer since the previous one (none yet) replaces nothing: each decision is one sample.
            if (features && ref) open.push({ features, ref, estimate, recentZ: rates.slice(-8).map((r) => Math.log(r / ref)), bits: 0, seconds: 0, count: 0 });
          },
          transfer(bps, seconds) {
            for (let i = 0; i < open.length; i++) {
              const o = open[i]!;
              o.bits += bps * seconds;
              o.seconds += seconds;
              o.count += 1;
              if (o.count === need) {
                out.push({ features: o.features, z: Math.log(o.bits / o.seconds / o.ref), shippedZ: Math.log(o.estimate / o.ref), recentZ: o.recentZ, family: trace.family });
                open.splice(i--, 1);
              }
            }
            rates.push(bps);
          },
        },
      });
      simulateRun(trace, controller, options);
    }
  }
  return out;
}

export function binOf(z: number, edges: readonly number[] = BIN_EDGES): number {
  let k = 0;
  while (k < edges.length && z >= (edges[k] as number)) k++;
  return k;
}

export interface FitOptions {
  hidden: number;
  epochs: number;
  batch: number;
  learningRate: number;
  l2: number;
  seed: number;
}

export const FIT_DEFAULTS: FitOptions = { hidden: 16, epochs: 40, batch: 128, learningRate: 0.005, l2: 1e-4, seed: 17 };

/** Fit the MLP (inputs → tanh hidden → softmax over bins) by minibatch Adam on the cross-entropy. */
export function fitPredictor(samples: Sample[], fit: FitOptions = FIT_DEFAULTS, progress: (line: string) => void = () => {}): LearnedWeights {
  const d = FEATURE_COUNT;
  const K = BIN_EDGES.length + 1;
  const H = fit.hidden;
  const n = samples.length;
  const mean = Array.from({ length: d }, (_, i) => samples.reduce((s, x) => s + (x.features[i] as number), 0) / n);
  const std = Array.from({ length: d }, (_, i) => Math.sqrt(samples.reduce((s, x) => s + ((x.features[i] as number) - (mean[i] as number)) ** 2, 0) / n) || 1);
  const X = samples.map((x) => x.features.map((v, i) => (v - (mean[i] as number)) / (std[i] as number)));
  const Y = samples.map((x) => binOf(x.z));
  const centers = Array.from({ length: K }, (_, k) => {
    const zs = samples.filter((_, i) => Y[i] === k).map((x) => x.z);
    const lo = k === 0 ? Z_MIN : (BIN_EDGES[k - 1] as number);
    const hi = k === K - 1 ? Z_MAX : (BIN_EDGES[k] as number);
    return zs.length ? zs.reduce((s, v) => s + v, 0) / zs.length : (lo + hi) / 2;
  });
  const rand = mulberry32(fit.seed);
  // Parameters in one flat array: w1 (H × d), b1 (H), w2 (K × H), b2 (K).
  const size = H * d + H + K * H + K;
  const theta = new Float64Array(size);
  const o1 = 0, ob1 = H * d, o2 = ob1 + H, ob2 = o2 + K * H;
  for (let i = 0; i < H * d; i++) theta[o1 + i] = (rand() * 2 - 1) * Math.sqrt(3 / d);
  for (let i = 0; i < K * H; i++) theta[o2 + i] = (rand() * 2 - 1) * Math.sqrt(3 / H);
  // Output bias at the training frequencies, so the first epochs start from the marginal distribution.
  for (let k = 0; k < K; k++) theta[ob2 + k] = Math.log((Y.filter((y) => y === k).length + 1) / (n + K));
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  const hidden = new Float64Array(H);
  const probs = new Float64Array(K);
  const dh = new Float64Array(H);
  let step = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let epoch = 0; epoch < fit.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    let loss = 0;
    for (let start = 0; start < n; start += fit.batch) {
      grad.fill(0);
      const end = Math.min(n, start + fit.batch);
      for (let b = start; b < end; b++) {
        const idx = order[b] as number;
        const x = X[idx] as number[];
        const y = Y[idx] as number;
        for (let h = 0; h < H; h++) {
          let s = theta[ob1 + h] as number;
          for (let i = 0; i < d; i++) s += (theta[o1 + h * d + i] as number) * (x[i] as number);
          hidden[h] = Math.tanh(s);
        }
        let top = -Infinity;
        for (let k = 0; k < K; k++) {
          let s = theta[ob2 + k] as number;
          for (let h = 0; h < H; h++) s += (theta[o2 + k * H + h] as number) * (hidden[h] as number);
          probs[k] = s;
          if (s > top) top = s;
        }
        let total = 0;
        for (let k = 0; k < K; k++) total += probs[k] = Math.exp((probs[k] as number) - top);
        for (let k = 0; k < K; k++) probs[k] = (probs[k] as number) / total;
        loss -= Math.log(Math.max(probs[y] as number, 1e-12));
        dh.fill(0);
        for (let k = 0; k < K; k++) {
          const g = (probs[k] as number) - (k === y ? 1 : 0);
          grad[ob2 + k] = (grad[ob2 + k] as number) + g;
          for (let h = 0; h < H; h++) {
            grad[o2 + k * H + h] = (grad[o2 + k * H + h] as number) + g * (hidden[h] as number);
            dh[h] = (dh[h] as number) + g * (theta[o2 + k * H + h] as number);
          }
        }
        for (let h = 0; h < H; h++) {
          const g = (dh[h] as number) * (1 - (hidden[h] as number) ** 2);
          grad[ob1 + h] = (grad[ob1 + h] as number) + g;
          for (let i = 0; i < d; i++) grad[o1 + h * d + i] = (grad[o1 + h * d + i] as number) + g * (x[i] as number);
        }
      }
      const count = end - start;
      step++;
      const lr = fit.learningRate * (1 - (0.9 * epoch) / fit.epochs);
      for (let i = 0; i < size; i++) {
        const g = (grad[i] as number) / count + (i < ob1 || (i >= o2 && i < ob2) ? fit.l2 * (theta[i] as number) : 0);
        m[i] = 0.9 * (m[i] as number) + 0.1 * g;
        v[i] = 0.999 * (v[i] as number) + 0.001 * g * g;
        const mh = (m[i] as number) / (1 - 0.9 ** step);
        const vh = (v[i] as number) / (1 - 0.999 ** step);
        theta[i] = (theta[i] as number) - (lr * mh) / (Math.sqrt(vh) + 1e-8);
      }
    }
    if (epoch % 10 === 9 || epoch === fit.epochs - 1) progress(`epoch ${epoch + 1}/${fit.epochs}: cross-entropy ${(loss / n).toFixed(4)}`);
  }
  const round = (x: number): number => Number(x.toPrecision(5));
  return {
    mean: mean.map(round),
    std: std.map(round),
    w1: Array.from({ length: H }, (_, h) => Array.from({ length: d }, (_, i) => round(theta[o1 + h * d + i] as number))),
    b1: Array.from({ length: H }, (_, h) => round(theta[ob1 + h] as number)),
    w2: Array.from({ length: K }, (_, k) => Array.from({ length: H }, (_, h) => round(theta[o2 + k * H + h] as number))),
    b2: Array.from({ length: K }, (_, k) => round(theta[ob2 + k] as number)),
    edges: [...BIN_EDGES],
    centers: centers.map(round),
    zMin: Z_MIN,
    zMax: Z_MAX,
  };
}

/** Pinball (quantile) loss of predicting `qz` for the q-quantile when z came. */
export const pinball = (z: number, qz: number, q: number): number => (z >= qz ? q * (z - qz) : (1 - q) * (qz - z));

/** Weighted q-quantile of the values (the stochastic planner's recency weights: half-life 4 transfers). */
export function empiricalQuantile(values: readonly number[], q: number, halfLife = 4): number {
  const n = values.length;
  const items = values.map((v, i) => ({ v, w: halfLife > 0 ? Math.pow(0.5, (n - 1 - i) / halfLife) : 1 })).sort((a, b) => a.v - b.v);
  const total = items.reduce((s, x) => s + x.w, 0);
  let cdf = 0;
  for (const x of items) {
    cdf += x.w;
    if (cdf >= q * total) return x.v;
  }
  return items.at(-1)?.v ?? 0;
}

export const QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9];

export interface Accuracy {
  samples: number;
  /** Cross-entropy over the bins: the model vs the empirical last-8 window binned (add-0.5 smoothing). */
  nllLearned: number;
  nllEmpirical: number;
  /** Mean pinball loss over QUANTILES, in ln-rate units: the model vs the stochastic planner's recency-weighted window. */
  pinballLearned: number;
  pinballEmpirical: number;
  /** Share of targets below each quantile (should be ≈ q). */
  coverageLearned: number[];
  coverageEmpirical: number[];
  /** The shipped planner's point estimate: share of next rates below it (its effective quantile), and its pinball there vs the model's quantile at that level. */
  shippedLevel: number;
  pinballShipped: number;
  pinballLearnedAtShipped: number;
}

export function accuracy(samples: Sample[], weights: LearnedWeights): Accuracy {
  const K = weights.edges.length + 1;
  let nllL = 0, nllE = 0, pinL = 0, pinE = 0;
  const covL = QUANTILES.map(() => 0);
  const covE = QUANTILES.map(() => 0);
  const n = samples.length;
  const shippedLevel = samples.filter((s) => s.z < s.shippedZ).length / n;
  let pinS = 0, pinLS = 0;
  for (const s of samples) {
    const probs = predictProbs(s.features, weights);
    const y = binOf(s.z, weights.edges);
    nllL -= Math.log(Math.max(probs[y] as number, 1e-12));
    const counts = new Array<number>(K).fill(0.5);
    for (const r of s.recentZ) {
      const k = binOf(r, weights.edges);
      counts[k] = (counts[k] as number) + 1;
    }
    nllE -= Math.log((counts[y] as number) / (s.recentZ.length + 0.5 * K));
    QUANTILES.forEach((q, i) => {
      const ql = quantileZ(probs, q, weights);
      const qe = empiricalQuantile(s.recentZ, q);
      pinL += pinball(s.z, ql, q) / QUANTILES.length;
      pinE += pinball(s.z, qe, q) / QUANTILES.length;
      if (s.z < ql) covL[i] = (covL[i] as number) + 1;
      if (s.z < qe) covE[i] = (covE[i] as number) + 1;
    });
    pinS += pinball(s.z, s.shippedZ, shippedLevel);
    pinLS += pinball(s.z, quantileZ(probs, shippedLevel, weights), shippedLevel);
  }
  return {
    samples: n,
    nllLearned: nllL / n,
    nllEmpirical: nllE / n,
    pinballLearned: pinL / n,
    pinballEmpirical: pinE / n,
    coverageLearned: covL.map((c) => c / n),
    coverageEmpirical: covE.map((c) => c / n),
    shippedLevel,
    pinballShipped: pinS / n,
    pinballLearnedAtShipped: pinLS / n,
  };
}

/** The weights as a TS module (abr/lab/models/learned-predictor-weights.ts). */
export function weightsModule(weights: LearnedWeights, name: string, header: string): string {
  return `// ${header}\nimport type { LearnedWeights } from './learned-predictor';\n\nexport const ${name}: LearnedWeights = ${JSON.stringify(weights)};\n`;
}

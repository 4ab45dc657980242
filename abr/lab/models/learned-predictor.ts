/**
 * A learned throughput predictor, the lab's `learned*` options: the learned half of Fugu (Yan et al., NSDI 2020), which
 * the stochastic planner alone lacks. Fugu's planner takes a *distribution* of the next transfer's time from a small neural network trained on what the
 * player saw; this module is that network for the platform controller, at the scale of this repo: a one-hidden-layer
 * MLP (16 tanh units) with a softmax over bins of z = ln(next transfer rate / harmonic mean of the last 3 rates).
 *
 * Inputs (all causal, computed from the transfers the controller itself recorded, `TransferLog`): the latest rate and
 * the 5- and 10-transfer means relative to the 3-transfer harmonic mean, min / max of the last 5, the spread of the
 * log rates over 5 and 10 transfers, the last change, the share of near-zero samples in the last 10, transfers since
 * the last halving, the last transfer's seconds, the buffer's fill, the absolute level and the history's length. The
 * output is scale-free (a ratio to the recent mean), so one model serves 0.3 Mbit/s HSDPA and 30 Mbit/s LTE.
 *
 * Trained by `npm run abr:learn` (abr/lab/train/learn.ts) on runs of the shipped controller over the training half of
 * the shared traces only, at several start offsets; weights in learned-predictor-weights.ts. Pure.
 */
export interface LearnedWeights {
  /** Feature means and standard deviations (inputs are standardised with these). */
  mean: number[];
  std: number[];
  /** Hidden layer: w1[h][i], b1[h]. */
  w1: number[][];
  b1: number[];
  /** Output layer: w2[k][h], b2[k]. */
  w2: number[][];
  b2: number[];
  /** Bin edges of z (ascending, K − 1 of them) and each bin's representative z (the training targets' mean in it). */
  edges: number[];
  centers: number[];
  /** Outer limits of z used to interpolate quantiles inside the first and last bin. */
  zMin: number;
  zMax: number;
}

const NEAR_ZERO = 0.1;

/** The transfers the predictor sees, oldest first (rate bits/s and transfer seconds), the last `size`. */
export class TransferLog {
  readonly rates: number[] = [];
  readonly seconds: number[] = [];
  constructor(private readonly size = 16) {}

  push(bits: number, seconds: number): void {
    const bps = bits / seconds;
    if (!(bps > 0) || !Number.isFinite(bps) || !(seconds > 0)) return;
    this.rates.push(bps);
    this.seconds.push(seconds);
    if (this.rates.length > this.size) {
      this.rates.shift();
      this.seconds.shift();
    }
  }

  get count(): number {
    return this.rates.length;
  }

  /** Harmonic mean of the last n rates (null when empty): the predictor's reference rate. */
  harmonic(n = 3): number | null {
    const last = this.rates.slice(-n);
    return last.length ? last.length / last.reduce((s, v) => s + 1 / v, 0) : null;
  }
}

export const FEATURE_COUNT = 14;

/** The predictor's inputs at a decision (null before the first transfer). */
export function featuresOf(log: TransferLog, bufferSec: number, maxBufferSec: number): number[] | null {
  const ref = log.harmonic(3);
  if (ref === null) return null;
  const r = log.rates;
  const n = r.length;
  const ln = (x: number): number => Math.log(Math.max(x, 1) / ref);
  const last5 = r.slice(-5);
  const last10 = r.slice(-10);
  const logs5 = last5.map(Math.log);
  const logs10 = last10.map(Math.log);
  const sd = (xs: number[]): number => {
    if (xs.length < 2) return 0;
    const m = xs.reduce((s, v) => s + v, 0) / xs.length;
    return Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length);
  };
  const mean10 = last10.reduce((s, v) => s + v, 0) / last10.length;
  let sinceDrop = 10;
  for (let i = n - 1, k = 0; i >= 1 && k < 10; i--, k++) {
    if ((r[i] as number) < 0.5 * (r[i - 1] as number)) {
      sinceDrop = k;
      break;
    }
  }
  return [
    ln(r[n - 1] as number),
    ln(log.harmonic(5) as number),
    ln(log.harmonic(10) as number),
    ln(Math.min(...last5)),
    ln(Math.max(...last5)),
    sd(logs5),
    sd(logs10),
    n >= 2 ? Math.log((r[n - 1] as number) / (r[n - 2] as number)) : 0,
    last10.filter((v) => v < NEAR_ZERO * mean10).length / 10,
    sinceDrop / 10,
    Math.log(Math.max(log.seconds[n - 1] as number, 0.01)),
    Math.min(1, bufferSec / maxBufferSec),
    Math.log(ref / 1e6),
    Math.min(n, 10) / 10,
  ];
}

export interface LearnedDistribution {
  /** Reference rate (bits/s): the 3-transfer harmonic mean the bins are relative to. */
  ref: number;
  /** Probability of each bin. */
  probs: number[];
  /** Representative rate of each bin, bits/s. */
  bps: number[];
}

/** Probabilities over the bins for the given inputs. */
export function predictProbs(features: readonly number[], weights: LearnedWeights): number[] {
  const x = features.map((v, i) => (v - (weights.mean[i] as number)) / (weights.std[i] as number));
  const hidden = weights.w1.map((row, h) => Math.tanh(row.reduce((s, w, i) => s + w * (x[i] as number), weights.b1[h] as number)));
  const logits = weights.w2.map((row, k) => row.reduce((s, w, h) => s + w * (hidden[h] as number), weights.b2[k] as number));
  const top = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - top));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

export function predictDistribution(log: TransferLog, bufferSec: number, maxBufferSec: number, weights: LearnedWeights): LearnedDistribution | null {
  const features = featuresOf(log, bufferSec, maxBufferSec);
  const ref = log.harmonic(3);
  if (features === null || ref === null) return null;
  const probs = predictProbs(features, weights);
  return { ref, probs, bps: weights.centers.map((z) => ref * Math.exp(z)) };
}

/**
 * The q-quantile of z under the bin probabilities, linear in z inside a bin (the outer bins span zMin / zMax).
 */
export function quantileZ(probs: readonly number[], q: number, weights: Pick<LearnedWeights, 'edges' | 'zMin' | 'zMax'>): number {
  const lows = [weights.zMin, ...weights.edges];
  const highs = [...weights.edges, weights.zMax];
  let cdf = 0;
  for (let k = 0; k < probs.length; k++) {
    const p = probs[k] as number;
    if (cdf + p >= q && p > 0) {
      const f = (q - cdf) / p;
      return (lows[k] as number) + f * ((highs[k] as number) - (lows[k] as number));
    }
    cdf += p;
  }
  return weights.zMax;
}

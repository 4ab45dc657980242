/**
 * Imitation of the offline-optimal / perfect-prediction teacher (Comyco, Huang et al., ACM MM 2019; DAgger, Ross et
 * al., AISTATS 2011), the lab's `imitation` option. The learned part is small and sits *inside* the shipped planner: a boosted
 * ensemble of regression trees maps what the player knows at a decision (buffer, last rung, recent transfer rates and
 * times, the shipped estimator's output, segments left) to a log multiplier z, and the platform's RobustMPC then plans
 * with its robust estimate × e^z. z = 0 is the shipped controller exactly; the model is trained (abr/lab/train/imitate.ts) so
 * that the planner's first rung matches the teacher's at the states the learned policy itself visits.
 *
 * Why a multiplier on the estimate and not the rung itself: the planner keeps doing what it does well (buffer
 * dynamics, switch costs, the terminal reserve, the emergency abandon and the startup logic are untouched), a wrong
 * prediction moves the estimate by a bounded factor instead of picking an arbitrary rung, and the label is
 * well defined: the set of multipliers under which the planner picks the teacher's rung is an interval, and the model
 * is fitted with a loss that is zero anywhere inside it (interval regression), so it only departs from the shipped
 * controller where the teacher disagrees with it.
 *
 * Pure and deterministic: the trees are plain arrays in imitation-model.ts.
 */
import type { AbrDecision, AbrStream, DownloadSample } from '../../types';
import { segmentBitsOf } from '../../types';

/** Feature names, in the model's column order (kept in the model module so a stale model is caught). */
export const IMITATION_FEATURES = [
  'bufferFrac',
  'lastLevelFrac',
  'logEstimateMbps',
  'logLastRungOverEstimate',
  'logNextRungOverEstimate',
  'logLastRateOverEstimate',
  'logPrevRateOverEstimate',
  'logMinRate5OverEstimate',
  'logMaxRate5OverEstimate',
  'logLongRateOverEstimate',
  'sdLogRate5',
  'slopeLogRate5',
  'lastDownloadOverSegment',
  'segmentsLeftFrac',
  'samplesFrac',
  'slowShare10',
] as const;

/**
 * A tree is a flat array of nodes; node i is [feature, threshold, left, right] (go left when x[feature] ≤ threshold)
 * or, for a leaf, [-1, value, 0, 0].
 */
export type ImitationTree = ReadonlyArray<readonly [number, number, number, number]>;

export interface ImitationModel {
  features: readonly string[];
  /** Learning rate already folded into the leaves; the prediction is the sum of the trees' leaves. */
  trees: readonly ImitationTree[];
  /** The multiplier's log is clamped to ±this. */
  clampLog: number;
  /** Upper clamp when tighter than clampLog (0: the model may only lower the estimate, never raise it). */
  maxLog?: number;
  /** How it was trained (for the docs; not used at run time). */
  meta: Record<string, string | number>;
}

/** Σ of the trees' leaves for one feature vector. */
export function predictLog(model: ImitationModel, x: readonly number[]): number {
  let sum = 0;
  for (const tree of model.trees) {
    let i = 0;
    for (let guard = 0; guard < 64; guard++) {
      const node = tree[i];
      if (!node) break;
      if (node[0] < 0) {
        sum += node[1];
        break;
      }
      i = (x[node[0]] ?? 0) <= node[1] ? node[2] : node[3];
    }
  }
  return Math.max(-model.clampLog, Math.min(Math.min(model.clampLog, model.maxLog ?? Infinity), sum));
}

const SLOW_BPS_FACTOR = 1;

/** Keeps the recent completed downloads and turns a decision into the model's feature vector. */
export class ImitationFeatures {
  private readonly samples: Array<{ bps: number; bits: number; seconds: number; durationSec: number }> = [];
  constructor(private readonly stream: AbrStream) {}

  push(sample: DownloadSample): void {
    const seconds = Math.max(sample.durationSec - sample.ttfbSec, 1e-3);
    const bps = sample.bits / seconds;
    if (!(bps > 0) || !Number.isFinite(bps)) return;
    this.samples.push({ bps, bits: sample.bits, seconds, durationSec: sample.durationSec });
    if (this.samples.length > 10) this.samples.shift();
  }

  /** The feature vector at `decision`, where the shipped planner would plan with `estimate` bits/s. */
  vector(decision: AbrDecision, estimate: number): number[] {
    const stream = this.stream;
    const top = stream.bitrates.length - 1;
    const last = Math.max(0, decision.lastLevel);
    const dur = stream.segmentDurationSec;
    const est = Math.max(estimate, 1);
    const ln = (v: number): number => Math.log(Math.max(v, 1e-6));
    const s = this.samples;
    const recent = s.slice(-5);
    const logs = recent.map((r) => ln(r.bps / est));
    const meanLog = logs.length ? logs.reduce((a, b) => a + b, 0) / logs.length : 0;
    const sd = logs.length ? Math.sqrt(logs.reduce((a, b) => a + (b - meanLog) ** 2, 0) / logs.length) : 0;
    let slope = 0;
    if (logs.length >= 2) {
      const n = logs.length;
      const mx = (n - 1) / 2;
      let num = 0;
      let den = 0;
      logs.forEach((y, i) => {
        num += (i - mx) * (y - meanLog);
        den += (i - mx) ** 2;
      });
      slope = num / den;
    }
    let bits = 0;
    let secs = 0;
    for (const r of s) {
      bits += r.bits;
      secs += r.seconds;
    }
    const lowest = stream.bitrates[0] ?? 1;
    const nextRung = Math.min(top, last + 1);
    return [
      Math.min(1, decision.bufferSec / stream.maxBufferSec),
      top > 0 ? last / top : 0,
      ln(est / 1e6),
      ln(segmentBitsOf(stream, decision, last, decision.segmentIndex) / dur / est),
      ln(segmentBitsOf(stream, decision, nextRung, decision.segmentIndex) / dur / est),
      logs.length ? (logs[logs.length - 1] as number) : 0,
      logs.length >= 2 ? (logs[logs.length - 2] as number) : 0,
      logs.length ? Math.min(...logs) : 0,
      logs.length ? Math.max(...logs) : 0,
      secs > 0 ? ln(bits / secs / est) : 0,
      sd,
      slope,
      s.length ? (s[s.length - 1] as { durationSec: number }).durationSec / dur : 0,
      Math.min(1, (decision.segmentsLeft ?? 50) / 50),
      s.length / 10,
      s.length ? s.filter((r) => r.bps < SLOW_BPS_FACTOR * lowest).length / s.length : 0,
    ];
  }
}

/** The run-time policy: the model's multiplier for the planner's estimate at a decision. */
export function createImitationPolicy(stream: AbrStream, model: ImitationModel): { push(sample: DownloadSample): void; adjust(estimate: number, decision: AbrDecision): number } {
  if (model.features.length !== IMITATION_FEATURES.length || model.features.some((f, i) => f !== IMITATION_FEATURES[i])) {
    throw new Error('imitation model was trained on other features; retrain with npm run abr:imitate -- --train');
  }
  const features = new ImitationFeatures(stream);
  return {
    push: (sample) => features.push(sample),
    adjust: (estimate, decision) => estimate * Math.exp(predictLog(model, features.vector(decision, estimate))),
  };
}

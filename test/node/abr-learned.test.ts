/**
 * The learned throughput predictor (abr/lab/models/learned-predictor.ts): inputs computed by hand from a few transfers,
 * the softmax and the quantile read off the bins on hand-made weights, the fit's determinism and that it learns a
 * rule planted in synthetic samples, the committed models' sanity on a steady link, and the lab controller's options
 * (off by default: the shipped pick is unchanged).
 */
import { describe, expect, it } from 'vitest';
import { createLabController } from '../../abr/lab/controllers/lab-platform';
import { LAB_PARAMS, LEARNED_STOCHASTIC_PARAMS } from '../../abr/lab/controllers/lab-params';
import { learnedModel } from '../../abr/lab/models/committed';
import { FEATURE_COUNT, featuresOf, predictDistribution, predictProbs, quantileZ, TransferLog, type LearnedWeights } from '../../abr/lab/models/learned-predictor';
import type { AbrStream } from '../../abr/types';
import { binOf, fitPredictor, pinball, type Sample } from '../../abr/lab/train/learn';

const MBPS = 1e6;

/** Weights with no hidden influence: the probabilities are the softmax of b2. */
const flat = (b2: number[], edges: number[]): LearnedWeights => ({
  mean: new Array<number>(FEATURE_COUNT).fill(0),
  std: new Array<number>(FEATURE_COUNT).fill(1),
  w1: [new Array<number>(FEATURE_COUNT).fill(0)],
  b1: [0],
  w2: b2.map(() => [0]),
  b2,
  edges,
  centers: b2.map((_, k) => k - 0.5),
  zMin: -1,
  zMax: 1,
});

describe('learned throughput predictor', () => {
  it('inputs from a steady log and from a halving, by hand', () => {
    const log = new TransferLog();
    for (let i = 0; i < 3; i++) log.push(2 * MBPS, 2); // three transfers of 1 Mbit/s lasting 2 s
    // Every rate equals the reference (harmonic mean 1 Mbit/s): all ratios ln 1 = 0, no spread, no drop in the last
    // 10 (sinceDrop 10 → 1), ln(2 s), buffer 15 of 30 s, ln(1 Mbit/s / 1 Mbit/s) = 0, 3 of 10 transfers.
    expect(featuresOf(log, 15, 30)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, expect.closeTo(Math.log(2), 12), 0.5, 0, 0.3]);
    log.push(0.25 * MBPS, 1); // 0.25 Mbit/s: a halving just now
    const f = featuresOf(log, 6, 30)!;
    // Reference: harmonic mean of 1, 1, 0.25 = 3 / (1 + 1 + 4) = 0.5 Mbit/s; latest / reference = 0.5.
    expect(f[0]).toBeCloseTo(Math.log(0.5), 12);
    expect(f[7]).toBeCloseTo(Math.log(0.25), 12); // last change
    expect(f[9]).toBe(0); // transfers since the last halving
    expect(f[12]).toBeCloseTo(Math.log(0.5), 12);
    expect(featuresOf(new TransferLog(), 0, 30)).toBeNull();
  });

  it('softmax over the bins and quantiles read linearly inside a bin', () => {
    // Two bins split at z = 0, spanning [−1, 0) and [0, 1]; b2 = [0, ln 3] → probabilities 1/4 and 3/4.
    const w = flat([0, Math.log(3)], [0]);
    const probs = predictProbs(new Array<number>(FEATURE_COUNT).fill(0), w);
    expect(probs[0]).toBeCloseTo(0.25, 12);
    expect(probs[1]).toBeCloseTo(0.75, 12);
    // q = 0.125 is halfway through the first bin: −0.5; q = 0.25 its top: 0; q = 0.625 halfway through the second: 0.5.
    expect(quantileZ(probs, 0.125, w)).toBeCloseTo(-0.5, 12);
    expect(quantileZ(probs, 0.25, w)).toBeCloseTo(0, 12);
    expect(quantileZ(probs, 0.625, w)).toBeCloseTo(0.5, 12);
    expect(binOf(-0.2, [0])).toBe(0);
    expect(binOf(0, [0])).toBe(1);
    // Pinball: the 0.1-quantile predicted at 0 when z = −1 came costs 0.9 × 1; when z = 1 came, 0.1 × 1.
    expect(pinball(-1, 0, 0.1)).toBeCloseTo(0.9, 12);
    expect(pinball(1, 0, 0.1)).toBeCloseTo(0.1, 12);
  });

  it('the fit is deterministic and learns a rule planted in the samples', () => {
    // z falls in the lowest bin when the first input is negative, in the bin above 0.05 otherwise.
    const samples: Sample[] = Array.from({ length: 240 }, (_, i) => {
      const x = ((i * 37) % 240) / 120 - 1;
      const features = new Array<number>(FEATURE_COUNT).fill(0).map((_, j) => (j === 0 ? x : ((i * (j + 3)) % 7) / 7));
      return { features, z: x < 0 ? -3 : 0.1, shippedZ: 0, recentZ: [], family: 'synthetic' };
    });
    const fit = { hidden: 4, epochs: 20, batch: 32, learningRate: 0.02, l2: 0, seed: 5 };
    const a = fitPredictor(samples, fit);
    expect(fitPredictor(samples, fit)).toEqual(a);
    const low = predictProbs([-0.8, ...new Array<number>(FEATURE_COUNT - 1).fill(0.4)], a);
    const high = predictProbs([0.8, ...new Array<number>(FEATURE_COUNT - 1).fill(0.4)], a);
    expect(low[binOf(-3)]).toBeGreaterThan(0.8);
    expect(high[binOf(0.1)]).toBeGreaterThan(0.8);
    // Each bin's representative z is the mean of the training targets that fell in it.
    expect(a.centers[binOf(-3)]).toBe(-3);
    expect(a.centers[binOf(0.1)]).toBe(0.1);
  });

  it('the committed models on a steady link: the median near the recent rate, quantiles ordered', () => {
    const log = new TransferLog();
    for (let i = 0; i < 10; i++) log.push(12 * MBPS, 4); // 3 Mbit/s, 4 s each
    for (const model of [0, 1]) {
      const w = learnedModel(model);
      const d = predictDistribution(log, 20, 30, w)!;
      expect(d.ref).toBeCloseTo(3 * MBPS, 6);
      expect(d.probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
      const q10 = quantileZ(d.probs, 0.1, w);
      const q50 = quantileZ(d.probs, 0.5, w);
      expect(Math.abs(q50)).toBeLessThan(0.3);
      expect(q10).toBeLessThan(q50);
      expect(quantileZ(d.probs, 0.9, w)).toBeGreaterThan(q50);
    }
  });

  it('the controller options are off by default and change the pick only when on', () => {
    expect([LAB_PARAMS.learnedDist, LAB_PARAMS.learnedQuantile, LAB_PARAMS.learnedCap]).toEqual([0, 0, 0]);
    const stream: AbrStream = { bitrates: [0.4, 0.8, 1.6, 3.2, 6.4].map((m) => m * MBPS), segmentDurationSec: 6, maxBufferSec: 30 };
    // A link at 4 Mbit/s that just fell to 0.5 Mbit/s, 8 s buffered.
    const pick = (params: Record<string, number>): number => {
      const c = createLabController(stream, { params });
      for (let i = 0; i < 6; i++) c.onDownloaded({ level: 3, bits: 19.2 * MBPS, durationSec: 4.88, ttfbSec: 0.08 });
      c.onDownloaded({ level: 3, bits: 19.2 * MBPS, durationSec: 38.48, ttfbSec: 0.08 });
      return c.chooseLevel({ bufferSec: 8, lastLevel: 3, segmentIndex: 7, segmentsLeft: 40 });
    };
    const shipped = pick({});
    expect(pick({ learnedQuantile: 0 })).toBe(shipped);
    for (const params of [{ learnedQuantile: 0.05, learnedCap: 1 }, LEARNED_STOCHASTIC_PARAMS]) {
      const level = pick(params);
      expect(level).toBeGreaterThanOrEqual(0);
      // After a fall to an eighth of the rate with 8 s buffered, nothing above the rung that fits the new rate.
      expect(level).toBeLessThanOrEqual(1);
    }
    // The same distribution with the planner's abandon modelled at 1 s: the slow half of the distribution "costs" one
    // second and a step down, so the expectation takes the top rung (6.4 Mbit/s) with 8 s buffered — the optimism
    // that costs held-out hsdpa (docs/abr.md, "What the lab found").
    expect(pick({ ...LEARNED_STOCHASTIC_PARAMS, stochAbandonSec: 0 })).toBe(4);
  });
});

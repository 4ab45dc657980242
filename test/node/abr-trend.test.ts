/** The lab's trend options of the platform estimator (trend.ts): a falling least-squares trend, Holt's smoothing, a fade detector, over-prediction-only errors. */
import { describe, expect, it } from 'vitest';
import { createLabController } from '../../abr/lab/controllers/lab-platform';
import { FallingTrend, HoltTrend } from '../../abr/lab/controllers/trend';
import { createPlatformController } from '../../abr/platform';
import type { AbrController, AbrStream } from '../../abr/types';
import { LADDER } from '../../workers/shared/config';

const stream: AbrStream = { bitrates: LADDER.map((r) => r.bitrate), segmentDurationSec: 6, maxBufferSec: 30 };
const MBPS = 1e6;

/** Feeds transfers of 2 s each at the given rates (80 ms TTFB on top). */
function feedTwoSecond(controller: AbrController, ratesMbps: number[]): void {
  for (const mbps of ratesMbps) controller.onDownloaded({ level: 2, bits: mbps * MBPS * 2, durationSec: 2.08, ttfbSec: 0.08 });
}

describe('FallingTrend', () => {
  it('extrapolates a falling line past the latest transfer (by hand)', () => {
    // 4, 3.5, 3 Mbps, 2 s each: points at t = 1, 3, 5 s, slope −0.25 Mbps/s through (3 s, 3.5 Mbps).
    // 3 s past the end (t = 9): 3.5 − 0.25 × 6 = 2.0 Mbps, above the floor 0.5 × 3 = 1.5.
    const trend = new FallingTrend(3, 0.5);
    for (const mbps of [4, 3.5, 3]) trend.push(mbps * MBPS, 2);
    expect(trend.predict(3)! / MBPS).toBeCloseTo(2.0, 9);
    // 7 s past the end: 3.5 − 0.25 × 10 = 1.0, floored at half the latest rate, 1.5.
    expect(trend.predict(7)! / MBPS).toBeCloseTo(1.5, 9);
    // Per transfer: points at 0.5, 1.5, 2.5, slope −0.5 per transfer; one transfer past the end (x = 4):
    // 3.5 − 0.5 × (4 − 1.5) = 2.25.
    expect(trend.predict(1, true)! / MBPS).toBeCloseTo(2.25, 9);
    expect(trend.falling(3)).toBe(true);
  });

  it('weighs time: a long slow transfer pulls the line by where it sits in time', () => {
    // 4 Mbps for 1 s, then 2 Mbps for 3 s: points (0.5, 4) and (2.5, 2), slope −1 Mbps/s through (1.5, 3);
    // 1 s past the end (t = 5): 3 − 3.5 = −0.5, floored at 0.5 × 2 = 1.
    const trend = new FallingTrend(5, 0.5);
    trend.push(4 * MBPS, 1);
    trend.push(2 * MBPS, 3);
    expect(trend.predict(1)! / MBPS).toBeCloseTo(1, 9);
  });

  it('does not extrapolate a rising or flat line, nor one sample', () => {
    const rising = new FallingTrend(3, 0.5);
    for (const mbps of [3, 3.5, 4]) rising.push(mbps * MBPS, 2);
    expect(rising.predict(3)).toBeNull();
    expect(rising.falling(2)).toBe(false);
    const flat = new FallingTrend(3, 0.5);
    for (let i = 0; i < 3; i++) flat.push(2 * MBPS, 2);
    expect(flat.predict(3)).toBeNull();
    const one = new FallingTrend(3, 0.5);
    one.push(2 * MBPS, 2);
    expect(one.predict(3)).toBeNull();
    // Bad samples are ignored, not fitted.
    one.push(0, 2);
    one.push(Number.NaN, 2);
    expect(one.predict(3)).toBeNull();
  });
});

describe('HoltTrend', () => {
  it('level and trend by hand; a falling trend predicts one transfer ahead, a rising one nothing', () => {
    // α 0.5, β 0.5 on 4, 3, 2.5 Mbps: start level 3, trend −1; then level = 0.5 × 2.5 + 0.5 × (3 − 1) = 2.25,
    // trend = 0.5 × (2.25 − 3) + 0.5 × (−1) = −0.875; one ahead: 2.25 − 0.875 = 1.375 (floor 0.5 × 2.5 = 1.25).
    const holt = new HoltTrend(0.5, 0.5, 0.5);
    for (const mbps of [4, 3, 2.5]) holt.push(mbps * MBPS);
    expect(holt.predict(1)! / MBPS).toBeCloseTo(1.375, 9);
    // Two ahead: 2.25 − 1.75 = 0.5, floored at 1.25.
    expect(holt.predict(2)! / MBPS).toBeCloseTo(1.25, 9);
    const rising = new HoltTrend(0.5, 0.5, 0.5);
    for (const mbps of [2.5, 3, 4]) rising.push(mbps * MBPS);
    expect(rising.predict(1)).toBeNull();
  });
});

describe('platform estimator with the trend options', () => {
  // Errors are measured against the plain harmonic mean: 3.5 vs 4 → 0.5/3.5; 3 vs HM(4, 3.5) = 3.7333 → 0.2444.
  const maxError = (3.7333333333 - 3) / 3;
  const hm = 3 / (1 / 4 + 1 / 3.5 + 1 / 3);

  it('a falling link: the estimate is the extrapolated trend, discounted as before', () => {
    const plain = createPlatformController(stream);
    const trended = createLabController(stream, { params: { trendWindow: 3 } });
    feedTwoSecond(plain, [4, 3.5, 3]);
    feedTwoSecond(trended, [4, 3.5, 3]);
    expect(plain.bandwidthEstimate()! / MBPS).toBeCloseTo(hm / (1 + maxError), 4);
    expect(trended.bandwidthEstimate()! / MBPS).toBeCloseTo(2.0 / (1 + maxError), 4);
    // With 4 s buffered it plans one rung lower on the fading link: 800 kbit/s instead of 1.5 Mbit/s.
    const decision = { bufferSec: 4, lastLevel: 2, segmentIndex: 3, segmentsLeft: 40 };
    expect(plain.chooseLevel(decision)).toBe(2);
    expect(trended.chooseLevel(decision)).toBe(1);
  });

  it('a rising link is not extrapolated upward', () => {
    const plain = createPlatformController(stream);
    const trended = createLabController(stream, { params: { trendWindow: 3 } });
    const holt = createLabController(stream, { params: { holtAlpha: 0.5 } });
    for (const c of [plain, trended, holt]) feedTwoSecond(c, [3, 3.5, 4]);
    expect(trended.bandwidthEstimate()).toBeCloseTo(plain.bandwidthEstimate()!, 0);
    expect(holt.bandwidthEstimate()).toBeCloseTo(plain.bandwidthEstimate()!, 0);
  });

  it('trendRelax: a full buffer takes the trend\'s lowering back, an empty one keeps it', () => {
    // Empty buffer (bandwidthEstimate): the full lowering to the trend's 2.0 Mbps, discounted as before.
    const relaxed = createLabController(stream, { params: { trendWindow: 3, trendRelax: 1, longWindow: 0 } });
    feedTwoSecond(relaxed, [4, 3.5, 3]);
    expect(relaxed.bandwidthEstimate()! / MBPS).toBeCloseTo(2.0 / (1 + maxError), 4);
    // Full buffer: the lowering and the discount are both taken back, so it plans like the plain estimator.
    const full = { bufferSec: 30, lastLevel: 2, segmentIndex: 3, segmentsLeft: 40 };
    const plain = createLabController(stream, { params: { longWindow: 0 } });
    feedTwoSecond(plain, [4, 3.5, 3]);
    expect(relaxed.chooseLevel(full)).toBe(plain.chooseLevel(full));
  });

  it('fade detector: three falling transfers in a row cap the estimate at the latest rate', () => {
    const faded = createLabController(stream, { params: { fadeK: 3 } });
    feedTwoSecond(faded, [4, 3.5, 3]);
    expect(faded.bandwidthEstimate()! / MBPS).toBeCloseTo(3 / (1 + maxError), 4);
    // Not monotone: 4, 3, 3.5 keeps the harmonic mean.
    const mixed = createLabController(stream, { params: { fadeK: 3 } });
    const reference = createPlatformController(stream);
    feedTwoSecond(mixed, [4, 3, 3.5]);
    feedTwoSecond(reference, [4, 3, 3.5]);
    expect(mixed.bandwidthEstimate()).toBeCloseTo(reference.bandwidthEstimate()!, 0);
  });

  it('over-prediction-only errors: a rising link (every estimate too low) is not discounted', () => {
    const oneSided = createLabController(stream, { params: { errorOverOnly: 1 } });
    feedTwoSecond(oneSided, [3, 3.5, 4]);
    expect(oneSided.bandwidthEstimate()! / MBPS).toBeCloseTo(3 / (1 / 3 + 1 / 3.5 + 1 / 4), 4);
    // A falling one is discounted by its over-predictions as before.
    const falling = createLabController(stream, { params: { errorOverOnly: 1 } });
    feedTwoSecond(falling, [4, 3.5, 3]);
    expect(falling.bandwidthEstimate()! / MBPS).toBeCloseTo(hm / (1 + maxError), 4);
  });
});

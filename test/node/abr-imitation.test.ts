/**
 * Imitation of the oracle (abr/lab/models/imitation.ts, abr/lab/train/imitate.ts): the label (the interval of estimate
 * multipliers under which the planner picks the teacher's rung), the tree ensemble's arithmetic, the interval-loss
 * booster on a separable toy set, the oracle solved from a mid-run state, and the controller wiring (an empty
 * model is the shipped controller exactly; the committed model is small, deterministic and only scales the estimate).
 */
import { describe, expect, it } from 'vitest';
import { IMITATION_FEATURES, predictLog, type ImitationModel } from '../../abr/lab/models/imitation';
import { IMITATION_MODEL } from '../../abr/lab/models/imitation-model';
import { createLabController } from '../../abr/lab/controllers/lab-platform';
import { createPlatformController } from '../../abr/platform';
import type { AbrStream } from '../../abr/types';
import { createImitationController, fitModel, labelInterval, zGrid, type Example } from '../../abr/lab/train/imitate';
import { solveOracle } from '../../abr/lab/sim/oracle';
import { simulateRun } from '../../abr/lab/sim/simulator';
import { parseTrace } from '../../abr/lab/sim/traces';

const D = IMITATION_FEATURES.length;
const vec = (first: number): number[] => [first, ...Array.from({ length: D - 1 }, () => 0)];
const model = (trees: ImitationModel['trees'], clampLog = 1): ImitationModel => ({ features: [...IMITATION_FEATURES], trees, clampLog, meta: {} });

describe('imitation label', () => {
  // A planner whose pick steps up at z = −0.25 and z = 0.35; the grid is −1 … 1 in steps of 0.1.
  const rungAt = (z: number): number => (z < -0.25 ? 0 : z < 0.35 ? 1 : 2);
  const grid = zGrid(1);

  it('is the grid span that yields the teacher rung, open at the ends of the grid', () => {
    expect(grid).toHaveLength(21);
    expect(labelInterval(rungAt, 1, grid)).toEqual({ lo: -0.2, hi: 0.3 });
    expect(labelInterval(rungAt, 0, grid)).toEqual({ lo: -Infinity, hi: -0.3 });
    expect(labelInterval(rungAt, 2, grid)).toEqual({ lo: 0.4, hi: Infinity });
  });

  it('a rung the planner never picks is labelled at the nearest reachable point', () => {
    expect(labelInterval(rungAt, 3, grid)).toEqual({ lo: 1, hi: 1 });
    // Skipped rung: 0 below z = 0.05, 2 from there; asking for 1 lands between the two grid points around the jump.
    const jump = (z: number): number => (z < 0.05 ? 0 : 2);
    const label = labelInterval(jump, 1, grid);
    expect(label.lo).toBeCloseTo(0.05, 9);
    expect(label.hi).toBeCloseTo(0.05, 9);
  });
});

describe('imitation model', () => {
  it('sums the leaves its feature vector reaches, clamped', () => {
    const m = model([
      [
        [0, 0.5, 1, 2],
        [-1, 0.2, 0, 0],
        [-1, -0.3, 0, 0],
      ],
      [[-1, 0.1, 0, 0]],
    ]);
    expect(predictLog(m, vec(0.4))).toBeCloseTo(0.3, 12);
    expect(predictLog(m, vec(0.6))).toBeCloseTo(-0.2, 12);
    expect(predictLog({ ...m, clampLog: 0.25 }, vec(0.4))).toBe(0.25);
  });

  it('boosting on the interval loss lands inside each group’s interval and leaves the indifferent group at 0', () => {
    // Group A (feature 0 < 0.5): the teacher wants z in [0.5, 0.7]. Group B: any z is fine (the shipped pick agrees).
    const data: Example[] = [];
    for (let i = 0; i < 100; i++) data.push({ x: vec(i / 200), lo: 0.5, hi: 0.7 });
    for (let i = 0; i < 100; i++) data.push({ x: vec(0.5 + i / 200), lo: -Infinity, hi: Infinity });
    const fitted = fitModel(data, { trees: 40, depth: 2, learningRate: 0.25, minLeaf: 10, overWeight: 1, clampLog: 1 });
    const a = predictLog(fitted, vec(0.1));
    expect(a).toBeGreaterThanOrEqual(0.5 - 1e-3);
    expect(a).toBeLessThanOrEqual(0.7);
    expect(predictLog(fitted, vec(0.9))).toBe(0);
    // Same data, same trees: deterministic.
    expect(fitModel(data, { trees: 40, depth: 2, learningRate: 0.25, minLeaf: 10, overWeight: 1, clampLog: 1 })).toEqual(fitted);
  });

  it('with the L1 interval loss a leaf moves only where most of its states want the move', () => {
    // Identical features: 40 states want z in [0.5, 0.7] (the teacher saw a burst coming), 60 want z ≤ 0 (the
    // shipped pick or lower). L2's mean leaf settles where the pulls cancel, 40 × (0.5 − z) = 60 × z → z = 0.2 (each
    // tree closes a quarter of the gap: 0.2 × (1 − 0.75⁴⁰)); L1's median leaf stays at 0, with the majority.
    const data: Example[] = [];
    for (let i = 0; i < 40; i++) data.push({ x: vec(0), lo: 0.5, hi: 0.7 });
    for (let i = 0; i < 60; i++) data.push({ x: vec(0), lo: -Infinity, hi: 0 });
    const base = { trees: 40, depth: 1, learningRate: 0.25, minLeaf: 10, overWeight: 1, clampLog: 1 };
    expect(predictLog(fitModel(data, { ...base, loss: 'l1' }), vec(0))).toBe(0);
    const l2 = predictLog(fitModel(data, { ...base, loss: 'l2' }), vec(0));
    expect(l2).toBeCloseTo(0.2 * (1 - 0.75 ** 40), 5);
  });
});

describe('oracle from a mid-run state (the DAgger teacher)', () => {
  it('continues the whole-run optimum of the hand-solved case', () => {
    // oracle.test.ts's tiny case: 2 Mbit/s, rungs 1 and 2 Mbit/s, 2 s segments, 4 s buffer → [0, 1, 1]. After
    // segment 0 (2 Mbit at 2 Mbit/s: 1 s, no RTT) the state is t = 1 s, buffer 2 s, last rung 0; from there the rest
    // of the optimum is [1, 1]: each 4 Mbit segment takes 2 s out of a 2 s buffer, no stall, value 2 + 2 − 1 (one
    // switch) = 3 (and [0, 0] is 2, [0, 1] is 2, [1, 0] is 3 − 2 = 1).
    const stream: AbrStream = { bitrates: [1e6, 2e6], segmentDurationSec: 2, maxBufferSec: 4 };
    const trace = parseTrace('constant', '0 2\n10 2\n');
    const rest = solveOracle(trace, { stream, segmentCount: 3, rttSec: 0, start: { index: 1, timeSec: 1, bufferSec: 2, lastLevel: 0 } });
    expect(rest.levels).toEqual([1, 1]);
    expect(rest.value).toBeCloseTo(3, 9);
  });
});

describe('imitation controller', () => {
  const stream: AbrStream = { bitrates: [0.4e6, 0.8e6, 1.5e6, 3e6], segmentDurationSec: 6, maxBufferSec: 30 };
  // A link that alternates 1 and 4 Mbit/s every 20 s.
  const trace = parseTrace('alternating', Array.from({ length: 30 }, (_, i) => `${i * 20} ${i % 2 ? 4 : 1}`).join('\n'));
  const options = { stream, segmentCount: 20, rttSec: 0.08, progressIntervalSec: 0.1 };

  it('with no trees is the shipped controller exactly; a constant tree is the shipped planner with that multiplier', () => {
    const shipped = simulateRun(trace, createPlatformController(stream), options).levels;
    expect(simulateRun(trace, createImitationController(stream, model([])), options).levels).toEqual(shipped);
    const doubled = simulateRun(trace, createImitationController(stream, model([[[-1, Math.log(2), 0, 0]]])), options).levels;
    const byHand = simulateRun(trace, createLabController(stream, { adjustEstimate: (e) => 2 * e }), options).levels;
    expect(doubled).toEqual(byHand);
    expect(doubled).not.toEqual(shipped);
  });

  it('the committed model has the run-time features, is under 100 KB, and `imitation: 1` is deterministic', () => {
    expect(IMITATION_MODEL.features).toEqual([...IMITATION_FEATURES]);
    expect(JSON.stringify(IMITATION_MODEL).length).toBeLessThan(100_000);
    const run = () => simulateRun(trace, createLabController(stream, { params: { imitation: 1 } }), options).levels;
    expect(run()).toEqual(run());
    expect(run()).toEqual(simulateRun(trace, createImitationController(stream, IMITATION_MODEL), options).levels);
  });
});

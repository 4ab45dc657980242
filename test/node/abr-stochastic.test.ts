/**
 * The stochastic MPC planner (abr/lab/controllers/stochastic-mpc.ts, the non-learned Fugu): tiny cases whose expected values are
 * worked out by hand (a bimodal link where the expected-value choice differs from any point estimate's, the abandon
 * model, persistence), agreement with brute force over every plan when the distribution is one point, and the
 * platform controller's `stochastic` switch using its recent transfers as the distribution.
 */
import { describe, expect, it } from 'vitest';
import { createLabController } from '../../abr/lab/controllers/lab-platform';
import type { AbrStream } from '../../abr/types';
import { planStochastic, type StochasticPlanInput } from '../../abr/lab/controllers/stochastic-mpc';
import { LADDER } from '../../workers/shared/config';

const MBPS = 1e6;

/** Two rungs of 1 and 3 Mbit/s, 4 s segments, one step, no RTT, no terminal cost: every value is one segment's QoE. */
const tiny = (over: Partial<StochasticPlanInput>): StochasticPlanInput => ({
  bufferSec: 8,
  lastLevel: -1,
  utilities: [1, 3],
  segmentDurationSec: 4,
  maxBufferSec: 20,
  steps: 1,
  bits: (_step, level) => [4, 12][level]! * MBPS,
  ttfbSec: 0,
  samples: [
    { bps: 10 * MBPS, weight: 1 },
    { bps: 1 * MBPS, weight: 1 },
  ],
  rebufferPenalty: 4.3,
  switchPenalty: 1,
  terminalBufferSec: 0,
  terminalWeight: 0,
  bufferStepSec: 0.25,
  ...over,
});

describe('stochastic MPC planner', () => {
  it('a bimodal link: the expected QoE picks the rung that no point estimate of the link picks', () => {
    // Half the time 10 Mbit/s, half the time 1 Mbit/s; 8 s buffered.
    // Point estimates: mean 5.5 Mbit/s, harmonic mean 2 / (1/10 + 1/1) = 1.82 Mbit/s. The 12 Mbit segment of the
    // 3 Mbit/s rung takes 2.2 s or 6.6 s at those: inside 8 s, so a point-estimate planner takes rung 1 (3 > 1).
    // Expected QoE: rung 1 lands in 1.2 s (3) or in 12 s, stalling 4 s (3 − 4.3 × 4 = −14.2): mean −5.6.
    // Rung 0 (4 Mbit) lands in 0.4 s or 4 s, never stalls: 1. So rung 0.
    const plan = planStochastic(tiny({}));
    expect(plan.values[0]).toBeCloseTo(1, 9);
    expect(plan.values[1]).toBeCloseTo(-5.6, 9);
    expect(plan.level).toBe(0);
    // With 13 s buffered the slow half lands 1 s before the buffer runs dry: rung 1 is worth 3 either way.
    const deeper = planStochastic(tiny({ bufferSec: 13 }));
    expect(deeper.values[1]).toBeCloseTo(3, 9);
    expect(deeper.level).toBe(1);
  });

  it('weights, a cap and the switch cost enter as written', () => {
    // 3:1 for the fast sample: rung 1 = 0.75 × 3 + 0.25 × (−14.2) = −1.3; still below rung 0's 1.
    expect(planStochastic(tiny({ samples: [{ bps: 10 * MBPS, weight: 3 }, { bps: 1 * MBPS, weight: 1 }] })).values[1]).toBeCloseTo(-1.3, 9);
    // After rung 1, staying costs nothing and stepping down costs |1 − 3| = 2: with 13 s buffered, 3 vs 1 − 2.
    expect(planStochastic(tiny({ bufferSec: 13, lastLevel: 1 })).values).toEqual([expect.closeTo(-1, 9), expect.closeTo(3, 9)]);
    // A cap at rung 0 leaves one choice.
    expect(planStochastic(tiny({ bufferSec: 13, maxLevel: 0 }))).toEqual({ level: 0, values: [expect.closeTo(1, 9)] });
    // Nothing usable to plan with (no sample, a zero or non-finite rate): the lowest rung.
    expect(planStochastic(tiny({ samples: [] })).level).toBe(0);
    expect(planStochastic(tiny({ samples: [{ bps: 0, weight: 1 }, { bps: Number.NaN, weight: 1 }] })).level).toBe(0);
  });

  it('with the emergency abandon in the model, a would-be stall costs the abandon, not the stall', () => {
    // Rung 1 under 1 Mbit/s would take 12 s > 8 s: the rule sees it at 1 s, with 7 s of buffer left, and refetches
    // rung 0 (4 s ≤ 7 s): landed at 5 s, no stall, rung 0 played (utility 1). Rung 1 = (3 + 1) / 2 = 2 > rung 0's 1.
    const plan = planStochastic(tiny({ abandonAfterSec: 1 }));
    expect(plan.values).toEqual([expect.closeTo(1, 9), expect.closeTo(2, 9)]);
    expect(plan.level).toBe(1);
    // If even the lowest rung cannot land in time, the rule still takes it when that beats finishing: at 0.5 Mbit/s
    // rung 1 takes 24 s (stall 16 s), rung 0 after the abandon 1 + 8 = 9 s (stall 1 s, played rung 0: 1 − 4.3).
    const slow = planStochastic(tiny({ abandonAfterSec: 1, samples: [{ bps: 0.5 * MBPS, weight: 1 }] }));
    expect(slow.values[1]).toBeCloseTo(1 - 4.3, 9);
  });

  it('persistence: the next segment sees the latest rate again with probability rho', () => {
    // rho = 1 and the latest transfer was the slow one: the link is 1 Mbit/s for sure, rung 1 stalls 4 s.
    const slow = planStochastic(tiny({ persistence: 1, currentSample: 1 }));
    expect(slow.values[1]).toBeCloseTo(3 - 4.3 * 4, 9);
    expect(slow.level).toBe(0);
    // The latest was the fast one: rung 1 lands in 1.2 s.
    expect(planStochastic(tiny({ persistence: 1, currentSample: 0 })).level).toBe(1);
    // rho = 0.5 after the fast one: 0.5 × 3 + 0.5 × (−5.6) = −1.3.
    expect(planStochastic(tiny({ persistence: 0.5, currentSample: 0 })).values[1]).toBeCloseTo(-1.3, 9);
  });

  it('with one throughput sample it finds the best plan that brute force over every rung sequence finds', () => {
    // Deterministic link: the expected value is the plain QoE, and the optimal first rung of the recursion is the
    // first rung of the best of all 3^4 plans (the buffer after step 0 goes through the grid, so values agree to
    // the grid's interpolation error). The player model: wait for room (buffer ≤ max − segment) before a request.
    const utilities = [0.4, 1.5, 3];
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 12; trial++) {
      const bps = (0.5 + 3.5 * random()) * MBPS;
      const input: StochasticPlanInput = {
        ...tiny({}),
        utilities,
        segmentDurationSec: 6,
        maxBufferSec: 30,
        steps: 4,
        bits: (step, level) => utilities[level]! * 6 * MBPS * (1 + 0.1 * step),
        ttfbSec: 0.08,
        bufferSec: 24 * random(),
        lastLevel: Math.floor(3 * random()),
        samples: [{ bps, weight: 1 }],
        terminalBufferSec: 12,
        terminalWeight: 1,
        bufferStepSec: 0.02,
      };
      let best = -Infinity;
      const visit = (step: number, buffer: number, prev: number, value: number): void => {
        if (step === input.steps) {
          best = Math.max(best, value - 4.3 * Math.max(0, 12 - buffer));
          return;
        }
        const start = Math.min(buffer, 30 - 6);
        for (let level = 0; level < 3; level++) {
          const t = 0.08 + input.bits(step, level) / bps;
          const stall = Math.max(0, t - start);
          const after = Math.min(Math.max(0, start - t) + 6, 30);
          visit(step + 1, after, level, value + utilities[level]! - 4.3 * stall - Math.abs(utilities[level]! - utilities[prev]!));
        }
      };
      visit(0, input.bufferSec, input.lastLevel, 0);
      const plan = planStochastic(input);
      expect(plan.values[plan.level]!).toBeCloseTo(best, 1);
    }
  });
});

describe('platform controller with the stochastic planner', () => {
  const stream: AbrStream = { bitrates: LADDER.map((r) => r.bitrate), segmentDurationSec: 6, maxBufferSec: 30 };
  const feed = (controller: ReturnType<typeof createLabController>, mbps: number, level: number): void => {
    const bits = (stream.bitrates[level] ?? 0) * 6;
    controller.onDownloaded({ level, bits, durationSec: 0.08 + bits / (mbps * MBPS), ttfbSec: 0.08 });
  };

  it('plans against its recent transfers: an on/off link is planned as one, a steady link of the same mean is not', () => {
    // 16 transfers of 720p at 6 and 0.6 Mbit/s alternately (harmonic mean 1.09, mean 3.3) against 16 at a steady
    // 1.09 Mbit/s; 10 s buffered, last rung 480p. On the steady link 480p (9 Mbit, 8.3 s) is safe and taken; on the
    // on/off link half the draws take 15 s for it (a 5 s stall), and the planner steps down.
    const onOff = createLabController(stream, { params: { stochastic: 1, stochAbandonModel: 0 } });
    const steady = createLabController(stream, { params: { stochastic: 1, stochAbandonModel: 0 } });
    for (let i = 0; i < 16; i++) {
      feed(onOff, i % 2 ? 0.6 : 6, 3);
      feed(steady, 1.09, 3);
    }
    const decision = { bufferSec: 10, lastLevel: 2, segmentIndex: 16, segmentsLeft: 30 };
    expect(steady.chooseLevel(decision)).toBe(2);
    expect(onOff.chooseLevel(decision)).toBeLessThan(2);
  });

  it('before any transfer it starts on the lowest rung like every controller, and keeps the emergency abandon', () => {
    const platform = createLabController(stream, { params: { stochastic: 1 } });
    expect(platform.chooseLevel({ bufferSec: 0, lastLevel: -1, segmentIndex: 0, segmentsLeft: 50 })).toBe(0);
    for (let i = 0; i < 5; i++) feed(platform, 20, 4);
    expect(platform.onProgress?.({ level: 4, segmentIndex: 7, bitsLoaded: 1_000_000, bitsTotal: 36_000_000, elapsedSec: 4, bufferSec: 3 })).toBe(0);
  });
});

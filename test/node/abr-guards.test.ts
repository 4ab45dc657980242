/**
 * The lab's guard options of the platform controller (reference-guards.ts; all off by default, none shipped):
 * the reference rule's rung as a cap under a buffer threshold, on a fade or on a jittery link; a rate cap; the
 * download-time deadline downshift; the two-predictor ensemble; the volatility reserve of the terminal cost.
 */
import { describe, expect, it } from 'vitest';
import { CONTROLLERS, createHarmonicMeanController } from '../../abr/lab/controllers';
import { createLabController } from '../../abr/lab/controllers/lab-platform';
import { assertLabParamNames, LAB_PARAMS, type LabParams } from '../../abr/lab/controllers/lab-params';
import type { AbrController, AbrStream } from '../../abr/types';
import { scoreRow, tuneBaselines, type TuneRow } from '../../abr/lab/train/tune';
import { parseTrace } from '../../abr/lab/sim/traces';
import { simulateRun } from '../../abr/lab/sim/simulator';
import { LADDER } from '../../workers/shared/config';

const stream: AbrStream = { bitrates: LADDER.map((r) => r.bitrate), segmentDurationSec: 6, maxBufferSec: 30 };
const MBPS = 1e6;

/** Downloads at `level` whose transfer ran at `mbps` (80 ms TTFB on top), as [mbps, level, times]. */
type Feed = Array<[mbps: number, level: number, times: number]>;

function fed(controller: AbrController, feeds: Feed): AbrController {
  for (const [mbps, level, times] of feeds) {
    for (let i = 0; i < times; i++) {
      const bits = (stream.bitrates[level] ?? 0) * 6;
      controller.onDownloaded({ level, bits, durationSec: 0.08 + bits / (mbps * MBPS), ttfbSec: 0.08 });
    }
  }
  return controller;
}

const platform = (params: Partial<LabParams>, feeds: Feed): AbrController => fed(createLabController(stream, { params }), feeds);
const reference = (feeds: Feed): AbrController => fed(createHarmonicMeanController(stream), feeds);
const at = (bufferSec: number, lastLevel: number) => ({ bufferSec, lastLevel, segmentIndex: 10, segmentsLeft: 40 });

describe('the guard options are off by default', () => {
  it('every one defaults to 0 (the shipped controller is unchanged)', () => {
    const { guardBufferSec, guardFadeRatio, guardCv, capSafety, capRelax, deadlineFactor, deadlineBufferSec, ensembleRatio, terminalCvSec } = LAB_PARAMS;
    expect([guardBufferSec, guardFadeRatio, guardCv, capSafety, capRelax, deadlineFactor, deadlineBufferSec, ensembleRatio, terminalCvSec]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('abr:tune rejects an option name the lab does not have', () => {
    expect(() => assertLabParamNames(['guardBufferSec', 'horizon'])).not.toThrow();
    expect(() => assertLabParamNames(['guardBufferSecs', 'toString'])).toThrow(/unknown option\(s\) guardBufferSecs, toString/);
  });
});

describe('guard: the reference rule caps the rung', () => {
  // Five 480p segments (9 Mbit) at 2 Mbps: each request takes 0.08 + 4.5 s, so the reference rule's whole-request rate
  // is 9 / 4.58 = 1.965 Mbps; under 10 s of buffer its safety 0.5 leaves 0.98 Mbps → 360p (rung 1).
  const feeds: Feed = [[2, 2, 5]];

  it('under guardBufferSec the pick is the reference rule\'s; above it, the planner\'s', () => {
    expect(reference(feeds).chooseLevel(at(8, 2))).toBe(1);
    expect(platform({}, feeds).chooseLevel(at(8, 2))).toBe(2);
    expect(platform({ guardBufferSec: 10 }, feeds).chooseLevel(at(8, 2))).toBe(1);
    // 12 s: above the threshold, the guard does not act (and the reference rule, with safety 0.8, would say 480p too).
    expect(platform({ guardBufferSec: 10 }, feeds).chooseLevel(at(12, 2))).toBe(platform({}, feeds).chooseLevel(at(12, 2)));
  });

  it('on a fade: the latest whole-request rate under guardFadeRatio × the harmonic mean of the ones before it', () => {
    // Five 720p segments at 4 Mbps (whole request 18 / 4.58 = 3.93 Mbps), then one at 1 Mbps (18 / 18.08 = 0.996):
    // 0.996 < 0.5 × 3.93. The reference rule: harmonic mean of the five latest = 5 / (4 / 3.93 + 1 / 0.996) = 2.47 Mbps,
    // × 0.8 at 20 s = 1.98 → 480p (rung 2). The planner, unguarded, with 20 s buffered and the long-run floor: 720p.
    const fade: Feed = [[4, 3, 5], [1, 3, 1]];
    expect(platform({}, fade).chooseLevel(at(20, 3))).toBe(3);
    expect(reference(fade).chooseLevel(at(20, 3))).toBe(2);
    expect(platform({ guardFadeRatio: 0.5 }, fade).chooseLevel(at(20, 3))).toBe(2);
    // A steady link is no fade: the same ratio leaves the pick alone.
    expect(platform({ guardFadeRatio: 0.5 }, [[4, 3, 6]]).chooseLevel(at(20, 3))).toBe(platform({}, [[4, 3, 6]]).chooseLevel(at(20, 3)));
  });

  it('on a jittery link: the coefficient of variation of the last 5 whole-request rates above guardCv', () => {
    // 480p at 2, 6, 2, 6, 6 Mbps: whole-request rates 9 / 4.58 = 1.965 and 9 / 1.58 = 5.70 Mbps; mean 4.21, standard
    // deviation 1.83, CV 0.435. The reference rule: harmonic mean 3.3 × 0.8 = 2.6 Mbps → 480p; the planner at 16 s: 720p.
    const jitter: Feed = [[2, 2, 1], [6, 2, 1], [2, 2, 1], [6, 2, 2]];
    expect(platform({}, jitter).chooseLevel(at(16, 2))).toBe(3);
    expect(reference(jitter).chooseLevel(at(16, 2))).toBe(2);
    expect(platform({ guardCv: 0.4 }, jitter).chooseLevel(at(16, 2))).toBe(2);
    expect(platform({ guardCv: 0.5 }, jitter).chooseLevel(at(16, 2))).toBe(3);
  });

  it('rate cap: at any buffer, at most capSafety × the reference rule\'s estimate', () => {
    // Whole-request harmonic mean 1.965 Mbps (above): × 0.7 = 1.38 → 360p even with 24 s buffered; × 1 → 480p.
    const feeds2: Feed = [[2, 2, 5]];
    expect(platform({}, feeds2).chooseLevel(at(24, 2))).toBe(2);
    expect(platform({ capSafety: 0.7 }, feeds2).chooseLevel(at(24, 2))).toBe(1);
    expect(platform({ capSafety: 1 }, feeds2).chooseLevel(at(24, 2))).toBe(2);
    // capRelax: the margin shrinks as the buffer fills: 0.3 + 0.6 × 24 / 30 = 0.78 → 1.53 Mbps → 480p; with 3 s
    // buffered 0.3 + 0.6 × 0.1 = 0.36 → 0.71 Mbps → 240p, where the planner alone takes 360p.
    expect(platform({ capSafety: 0.3, capRelax: 0.6 }, feeds2).chooseLevel(at(24, 2))).toBe(2);
    expect(platform({}, feeds2).chooseLevel(at(3, 2))).toBe(1);
    expect(platform({ capSafety: 0.3, capRelax: 0.6 }, feeds2).chooseLevel(at(3, 2))).toBe(0);
  });
});

describe('download-time deadline', () => {
  // Nine 720p segments at 4 Mbps, then one at 2.5 Mbps: its request took 0.08 + 18 / 2.5 = 7.28 s, longer than the
  // 6 s of video it brought (the buffer shrank while it ran).
  const slow: Feed = [[4, 3, 9], [2.5, 3, 1]];

  it('downshifts the next request one rung below the previous one', () => {
    expect(platform({}, slow).chooseLevel(at(12, 3))).toBe(3);
    expect(platform({ deadlineFactor: 1 }, slow).chooseLevel(at(12, 3))).toBe(2);
    expect(platform({ deadlineFactor: 1, deadlineStep: 2 }, slow).chooseLevel(at(12, 3))).toBe(1);
    // 7.28 s is under 1.25 × 6 s: no downshift.
    expect(platform({ deadlineFactor: 1.25 }, slow).chooseLevel(at(12, 3))).toBe(3);
  });

  it('only under deadlineBufferSec when that is set', () => {
    expect(platform({ deadlineFactor: 1, deadlineBufferSec: 15 }, slow).chooseLevel(at(12, 3))).toBe(2);
    expect(platform({ deadlineFactor: 1, deadlineBufferSec: 15 }, slow).chooseLevel(at(20, 3))).toBe(3);
  });

  it('a download that kept up with playback is no reason to downshift', () => {
    expect(platform({ deadlineFactor: 1 }, [[4, 3, 10]]).chooseLevel(at(12, 3))).toBe(3);
  });
});

describe('ensemble of two predictors', () => {
  // Nine 720p segments at 4 Mbps, then one at 1 Mbps. With 24 s buffered the long-run floor is Σ bits / Σ s of the ten
  // transfers, (10 × 18) / (9 × 4.5 + 18) = 3.08 Mbps, × 24 / 30 = 2.46 Mbps: above the short robust estimate
  // (3-sample harmonic mean 2.0 ÷ (1 + 0.2 × the 100 % error) = 1.67), so the planner plans at 2.46 → 720p.
  const drop: Feed = [[4, 3, 9], [1, 3, 1]];

  it('after the floor: 2.46 Mbps is more than 2 × the latest rate (1 Mbps), so the latest wins', () => {
    expect(platform({}, drop).chooseLevel(at(24, 1))).toBe(3);
    expect(platform({ ensembleRatio: 2, ensembleAfterFloor: 1 }, drop).chooseLevel(at(24, 1))).toBe(1);
  });

  it('before the floor (the default placement) the robust 1.67 is within 2 × of 1: no change, the floor still lifts it', () => {
    expect(platform({ ensembleRatio: 2 }, drop).chooseLevel(at(24, 1))).toBe(3);
  });

  it('bandwidthEstimate (empty buffer: no floor, no relax) follows the ensemble too', () => {
    // Ten at 4 Mbps, then 1 Mbps: harmonic mean of [4, 4, 1] = 2.0 ÷ (1 + 1) = 1.0; the latest is 1.0: no disagreement.
    expect(platform({ ensembleRatio: 1.5 }, drop).bandwidthEstimate()! / MBPS).toBeCloseTo(1.0, 6);
    // Second predictor = the reference rule's estimate (whole requests): 5 / (4 × 4.58 / 18 + 18.08 / 18) = 2.47 Mbps;
    // 1.0 is the lower one already, and the ensemble never raises an estimate.
    expect(platform({ ensembleRatio: 1.5, ensembleWith: 1 }, drop).bandwidthEstimate()! / MBPS).toBeCloseTo(1.0, 6);
  });
});

describe('volatility reserve', () => {
  it('a jittery link ends its plans with more buffer: one rung lower at 14 s, the same at 20 s', () => {
    // 480p at 1, 5, 1, 5, 5 Mbps: whole-request rates 9 / 9.08 = 0.991 and 9 / 1.88 = 4.79 Mbps; mean 3.27, standard
    // deviation 1.86, CV 0.569: the terminal target grows from 12 s to 12 + 24 × 0.569 = 25.7 s.
    const jitter: Feed = [[1, 2, 1], [5, 2, 1], [1, 2, 1], [5, 2, 2]];
    expect(platform({}, jitter).chooseLevel(at(14, 2))).toBe(2);
    expect(platform({ terminalCvSec: 24 }, jitter).chooseLevel(at(14, 2))).toBe(1);
    expect(platform({ terminalCvSec: 24 }, jitter).chooseLevel(at(20, 2))).toBe(platform({}, jitter).chooseLevel(at(20, 2)));
  });
});

describe('abr:tune scoring (--baselines, --pick rebuffer)', () => {
  it('rebuffer % is Σ stall / (Σ stall + Σ video) per family and overall; mean QoE is per run', () => {
    const row: TuneRow = {
      params: {},
      families: {
        a: { qoe: 30, oracle: 60, floor: 0, rebufferSec: 3, videoSec: 597, runs: 2 },
        b: { qoe: 10, oracle: 20, floor: 10, rebufferSec: 0, videoSec: 300, runs: 1 },
      },
    };
    const score = scoreRow(row);
    expect(score.a!.rebufferRatio).toBeCloseTo(3 / 600, 12);
    expect(score.a!.meanQoe).toBe(15);
    expect(score.b!.rebufferRatio).toBe(0);
    expect(score.b!.headroom).toBe(0);
    expect(score.overall!.rebufferRatio).toBeCloseTo(3 / 900, 12);
    expect(score.overall!.ratio).toBeCloseTo(40 / 80, 12);
    expect(score.overall!.meanQoe).toBeCloseTo(40 / 3, 12);
  });

  it('the baselines are scored like a grid row, one row each, on the same traces', () => {
    // 2 Mbps forever, 3 segments: each row holds exactly that controller's own run on the trace.
    const trace = parseTrace('steady/t', '0 2\n10 2\n', 'steady');
    const options = { stream, segmentCount: 3, rttSec: 0.08, progressIntervalSec: 0.1 };
    const rows = tuneBaselines([trace], options);
    expect(rows.map((r) => r.controller)).toEqual(['reference', 'hlsjs', 'bba', 'bola']);
    for (const row of rows) {
      const own = simulateRun(trace, CONTROLLERS.find((c) => c.name === row.controller)!.create(stream), options).metrics;
      expect(row.families.steady).toMatchObject({ runs: 1, videoSec: 18, qoe: own.qoeLin, rebufferSec: own.rebufferSec });
    }
  });
});

/**
 * The Oboe-style auto-tuner (abr/lab/controllers/oboe.ts, abr/lab/train/oboe-train.ts; a lab controller, not
 * shipped): state features, online change points, the table's vote, the switch with
 * hysteresis, the offline segmentation, and the committed table's shape. Every number is worked out in the comments.
 */
import { describe, expect, it } from 'vitest';
import { ChangePointDetector, createOboeController, lookup, OBOE_CANDIDATES, OBOE_PARAMS, stateFeatures } from '../../abr/lab/controllers/oboe';
import { OBOE_MAP, type OboeMap } from '../../abr/lab/models/oboe-map';
import { createPlatformController } from '../../abr/platform';
import type { AbrStream } from '../../abr/types';
import { segmentTrace, runFeatures } from '../../abr/lab/train/oboe-train';
import { parseTrace } from '../../abr/lab/sim/traces';
import { simulateRun } from '../../abr/lab/sim/simulator';
import { LADDER } from '../../workers/shared/config';

const stream: AbrStream = { bitrates: LADDER.map((r) => r.bitrate), segmentDurationSec: 6, maxBufferSec: 30 };
const MBPS = 1e6;

describe('state features', () => {
  it('a flat link: its rate, and no spread, no low share, no autocorrelation', () => {
    const f = stateFeatures([1, 1, 1, 1].map((m) => ({ bps: m * MBPS, sec: 2 })));
    expect(f[0]).toBeCloseTo(0, 9); // log2(1 Mbit/s)
    expect(f.slice(1)).toEqual([0, 0, 0, 0]);
  });

  it('an on/off link: half its time under 0.3 × the mean, and alternating log rates (lag 1: −0.75, lag 2: +0.5)', () => {
    // 2, 0.1, 2, 0.1 Mbit/s for 1 s each: time mean 1.05 Mbit/s; arithmetic mean 1.05, sd 0.95 → CV 0.905;
    // 0.1 < 0.315 → low share 0.5. Log rates ±d around their mean: lag 1 Σ = 3 × (−d²) over 4d² = −0.75; lag 2 2d²/4d².
    const f = stateFeatures([2, 0.1, 2, 0.1].map((m) => ({ bps: m * MBPS, sec: 1 })));
    expect(f[0]).toBeCloseTo(Math.log2(1.05), 9);
    expect(f[1]).toBeCloseTo(0.95 / 1.05, 9);
    expect(f[2]).toBe(0.5);
    expect(f[3]).toBeCloseTo(-0.75, 9);
    expect(f[4]).toBeCloseTo(0.5, 9);
  });

  it('a run\'s features skip startup\'s first 3 transfers and average windows of them', () => {
    // 3 startup transfers at 9 Mbit/s, then 12 at 1 Mbit/s: one window of 12, all flat at 1 Mbit/s.
    const samples = [...[9, 9, 9], ...Array.from({ length: 12 }, () => 1)].map((m) => ({ bps: m * MBPS, sec: 1 }));
    expect(runFeatures(samples).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('online change points', () => {
  it('a drop from 4 to 1 Mbit/s is a change once the latest 3 sit ln 4 × 2/3 below the state (threshold 2.5 × 0.25)', () => {
    const detector = new ChangePointDetector();
    const fired: number[] = [];
    [4, 4, 4, 4, 4, 4, 1, 1, 1].forEach((m, i) => detector.push(m * MBPS) && fired.push(i));
    // 7th transfer: latest 3 = 4, 4, 1 → mean ln shift 1.386 / 3 = 0.46 < 0.625. 8th: 4, 1, 1 → 0.92 > 0.625 → change,
    // and the new state starts at the latest 3 (index 5). 9th: only 4 transfers in the new state (< 3 + 4): no test.
    expect(fired).toEqual([7]);
    expect(detector.start).toBe(5);
  });

  it('a wobble within the state\'s own spread is no change', () => {
    const detector = new ChangePointDetector();
    const fired = [3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 1, 3].map((m) => detector.push(m * MBPS));
    expect(fired.some(Boolean)).toBe(false);
    expect(detector.start).toBe(0);
  });
});

describe('the table\'s vote', () => {
  const map: OboeMap = {
    candidates: ['a', 'b', 'c'],
    scales: [1, 1, 1, 1, 1],
    entries: [
      { features: [0, 0, 0, 0, 0], gains: [0, 10, 6] },
      { features: [0.1, 0, 0, 0, 0], gains: [0, -4, 6] },
      { features: [5, 0, 0, 0, 0], gains: [0, 50, 0] },
    ],
  };
  const near = [0, 0, 0, 0, 0];

  it('the best mean gain of the k nearest entries, if over the margin and half of them agree', () => {
    // k 2: the two near entries; b: (10 − 4) / 2 = 3, c: 6 → c.
    expect(lookup(map, near, { ...OBOE_PARAMS, k: 2, margin: 2 })).toBe(2);
    // Margin 6: c's 6 is not over it → the shipped setting.
    expect(lookup(map, near, { ...OBOE_PARAMS, k: 2, margin: 6 })).toBe(0);
    // c masked off: b's 3 is over margin 2 and one of two agree (0.5 ≥ 0.5) → b; with minAgree 0.6 → shipped.
    expect(lookup(map, near, { ...OBOE_PARAMS, k: 2, margin: 2, candidateMask: 0b011 })).toBe(1);
    expect(lookup(map, near, { ...OBOE_PARAMS, k: 2, margin: 2, candidateMask: 0b011, minAgree: 0.6 })).toBe(0);
    // k 1 near the far entry: b.
    expect(lookup(map, [5, 0, 0, 0, 0], { ...OBOE_PARAMS, k: 1, margin: 2 })).toBe(1);
  });

  it('an empty table always says the shipped setting', () => {
    expect(lookup({ candidates: [], scales: [], entries: [] }, near)).toBe(0);
  });
});

describe('the auto-tuned controller', () => {
  const trace = parseTrace('onoff/t', '0 3\n20 0.4\n40 3\n60 0.4\n', 'onoff');
  const options = { stream, segmentCount: 20, rttSec: 0.08, progressIntervalSec: 0.1 };

  it('with a table that never votes for a change it plays exactly like the shipped controller', () => {
    const shipped = simulateRun(trace, createPlatformController(stream), options);
    const tuned = simulateRun(trace, createOboeController(stream, { map: { candidates: [], scales: [], entries: [] } }), options);
    expect(tuned.levels).toEqual(shipped.levels);
    expect(tuned.metrics.qoeLin).toBe(shipped.metrics.qoeLin);
  });

  it('switches after the same vote `confirm` times in a row, once a state has `minStateSamples` transfers', () => {
    // Every entry says candidate 3 (terminal6) gains 100: the vote is 3 from the 6th transfer on (a state needs 6),
    // the 6th, 7th and 8th votes make the streak of 3, so the switch comes with the 8th download.
    const always: OboeMap = { candidates: OBOE_CANDIDATES.map((c) => c.name), scales: [1, 1, 1, 1, 1], entries: [{ features: [0, 0, 0, 0, 0], gains: [0, 0, 0, 100, 0, 0] }] };
    const switches: number[] = [];
    let downloads = 0;
    const controller = createOboeController(stream, { map: always, onSwitch: (c) => switches.push(c, downloads) });
    const bits = stream.bitrates[1]! * 6;
    for (let i = 0; i < 10; i++) {
      downloads += 1;
      controller.onDownloaded({ level: 1, bits, durationSec: 0.08 + bits / (2 * MBPS), ttfbSec: 0.08 });
    }
    expect(switches).toEqual([3, 8]);
    expect(controller.active()).toBe(3);
  });
});

describe('offline segmentation and the committed table', () => {
  it('binary segmentation cuts where the mean log rate shifts by more than a factor of 2, each side ≥ 60 s', () => {
    const bins = [...Array.from({ length: 100 }, () => 4 * MBPS), ...Array.from({ length: 100 }, () => 1 * MBPS)];
    expect(segmentTrace(bins)).toEqual([[0, 100], [100, 200]]);
    // 1.5×: under the factor of 2, one stretch; a 40 s dip: under 60 s, one stretch.
    expect(segmentTrace(bins.map((b) => (b === MBPS ? (4 / 1.5) * MBPS : b)))).toEqual([[0, 200]]);
    expect(segmentTrace([...bins.slice(0, 80), ...bins.slice(100, 140), ...bins.slice(0, 80)])).toEqual([[0, 200]]);
  });

  it('the table names the candidates in order, and every entry has 5 features and a gain per candidate (0 for the shipped)', () => {
    expect(OBOE_MAP.candidates).toEqual(OBOE_CANDIDATES.map((c) => c.name));
    expect(OBOE_MAP.scales).toHaveLength(5);
    expect(OBOE_MAP.entries.length).toBeGreaterThan(100);
    for (const e of OBOE_MAP.entries) {
      expect(e.features).toHaveLength(5);
      expect(e.gains).toHaveLength(OBOE_CANDIDATES.length);
      expect(e.gains[0]).toBe(0);
    }
  });
});

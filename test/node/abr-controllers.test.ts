/** Each ABR controller's decisions in crafted situations: empty buffer, steady high bandwidth, sudden drop, oscillation. */
import { describe, expect, it } from 'vitest';
import { CONTROLLERS, createBbaController, createBolaController, createHarmonicMeanController, createHlsjsThroughputController } from '../../abr/lab/controllers';
import { bbaParams } from '../../abr/lab/controllers/bba';
import { bolaParams } from '../../abr/lab/controllers/bola';
import { createLabController } from '../../abr/lab/controllers/lab-platform';
import { simulateRun } from '../../abr/lab/sim/simulator';
import { parseTrace } from '../../abr/lab/sim/traces';
import { createPlatformController } from '../../abr/platform';
import type { AbrController, AbrStream } from '../../abr/types';
import { LADDER } from '../../workers/shared/config';

const stream: AbrStream = { bitrates: LADDER.map((r) => r.bitrate), segmentDurationSec: 6, maxBufferSec: 30 };
const TOP = stream.bitrates.length - 1;
const MBPS = 1e6;

/** Feeds downloads of `level` that achieved `mbps` of throughput (80 ms TTFB). */
function feed(controller: AbrController, mbps: number, level = 3, times = 1): void {
  for (let i = 0; i < times; i++) {
    const bits = (stream.bitrates[level] ?? 0) * 6;
    controller.onDownloaded({ level, bits, durationSec: 0.08 + bits / (mbps * MBPS), ttfbSec: 0.08 });
  }
}

describe('empty buffer, nothing known', () => {
  it.each(CONTROLLERS.map((c) => [c.name, c.create] as const))('%s starts on the lowest rung', (_name, create) => {
    expect(create(stream).chooseLevel({ bufferSec: 0, lastLevel: -1, segmentIndex: 0, segmentsLeft: 50 })).toBe(0);
  });
});

describe('reference controller (harmonic mean)', () => {
  it('takes the harmonic mean of the last 5 samples with safety 0.8, or 0.5 under 10 s of buffer', () => {
    const reference = createHarmonicMeanController(stream);
    // Samples 2, 8, 2, 8, 2 Mbps (whole-request time): harmonic mean = 5 / (1/2 + 1/8 + 1/2 + 1/8 + 1/2) = 2.857 Mbps.
    for (const mbps of [2, 8, 2, 8, 2]) reference.onDownloaded({ level: 2, bits: 6 * MBPS, durationSec: 6 / mbps, ttfbSec: 0 });
    expect(reference.bandwidthEstimate()).toBeCloseTo(2.857e6, -3);
    // 0.8 × 2.857 = 2.29 Mbps → 1.5 Mbps rung; 0.5 × 2.857 = 1.43 Mbps → 0.8 Mbps rung.
    expect(reference.chooseLevel({ bufferSec: 20, lastLevel: 2, segmentIndex: 5 })).toBe(2);
    expect(reference.chooseLevel({ bufferSec: 9.9, lastLevel: 2, segmentIndex: 5 })).toBe(1);
    // Only the last 5 count: five 100 Mbps samples erase the history → 80 Mbps → top rung.
    for (let i = 0; i < 5; i++) reference.onDownloaded({ level: 2, bits: 6 * MBPS, durationSec: 0.06, ttfbSec: 0 });
    expect(reference.chooseLevel({ bufferSec: 20, lastLevel: 2, segmentIndex: 10 })).toBe(TOP);
  });
});

describe('steady high bandwidth (50 Mbps, 24 s buffered)', () => {
  it.each(CONTROLLERS.map((c) => [c.name, c.create] as const))('%s reaches the top rung', (_name, create) => {
    const controller = create(stream);
    feed(controller, 50, TOP, 6);
    expect(controller.chooseLevel({ bufferSec: 24, lastLevel: TOP, segmentIndex: 6, segmentsLeft: 40 })).toBe(TOP);
  });

  it('the top rung respects a cap (autoLevelCapping)', () => {
    const platform = createPlatformController(stream);
    feed(platform, 50, TOP, 6);
    expect(platform.chooseLevel({ bufferSec: 24, lastLevel: 3, segmentIndex: 6, maxLevel: 3 })).toBe(3);
  });
});

describe('sudden drop (10 Mbps → 1 Mbps) with 8 s buffered', () => {
  const decide = (controller: AbrController): number => {
    feed(controller, 10, 4, 5);
    feed(controller, 1, 4, 1);
    return controller.chooseLevel({ bufferSec: 8, lastLevel: 4, segmentIndex: 6, segmentsLeft: 40 });
  };

  it('throughput controllers step down below the old rate', () => {
    expect(decide(createHarmonicMeanController(stream))).toBeLessThan(4);
    expect(decide(createHlsjsThroughputController(stream))).toBeLessThan(4);
  });

  it('platform steps down to a rung the 8 s buffer can carry', () => {
    // Harmonic mean of the last 3 samples (10, 10, 1): 2.5 Mbps, divided by 1 + 1 (the 1 Mbps sample was 900 % off;
    // one error counts at most 100 %, so a single collapsed sample cannot freeze the estimate near zero): 1.25 Mbps.
    // At that rate a 1.5 Mbps segment (9 Mbit) takes 7.2 s, inside the 8 s buffer; a 3 Mbps one (14.4 s) would stall.
    const level = decide(createPlatformController(stream));
    expect(level).toBeLessThanOrEqual(2);
    expect(level).toBeGreaterThan(0);
  });

  it('buffer rules ignore throughput: BBA and BOLA decide from the 8 s buffer alone', () => {
    // 8 s is above BBA's 6 s reservoir: mapped rate 0.4 + 19.6 × 2/15 = 3.01 Mbps, just above the next rung down
    // (3 Mbps), so BBA-0's hysteresis holds rung 4 despite the drop; at 7 s (1.71 Mbps) it steps to 3 Mbps.
    expect(decide(createBbaController(stream))).toBe(4);
    const bba = createBbaController(stream);
    expect(bba.chooseLevel({ bufferSec: 7, lastLevel: 4, segmentIndex: 6 })).toBe(3);
    expect(decide(createBolaController(stream))).toBe(0);
  });
});

describe('emergency abandon (stalled download)', () => {
  const stalled = { level: 4, segmentIndex: 7, bitsLoaded: 1_000_000, bitsTotal: 36_000_000, elapsedSec: 4, bufferSec: 3 };

  it('platform abandons a download that will finish after the buffer runs dry, and learns the drop', () => {
    const platform = createPlatformController(stream);
    feed(platform, 20, 4, 5);
    // 1 Mbit in 3.92 s ≈ 0.26 Mbps; 35 Mbit left take ~137 s ≫ 3 s of buffer. A 0.4 Mbps segment (2.4 Mbit) takes
    // ~9 s: not in time either, but much sooner than finishing → lowest rung.
    expect(platform.onProgress?.(stalled)).toBe(0);
    expect(platform.bandwidthEstimate()).toBeLessThan(2 * MBPS);
  });

  it('platform lets a healthy download finish', () => {
    const platform = createPlatformController(stream);
    feed(platform, 20, 4, 5);
    expect(platform.onProgress?.({ ...stalled, bitsLoaded: 30_000_000, bufferSec: 20 })).toBeNull();
    // Too early to judge (under 1 s).
    expect(platform.onProgress?.({ ...stalled, elapsedSec: 0.5 })).toBeNull();
  });

  it('with a rate window, a download that collapses midway is judged by its recent rate, not its average', () => {
    // 1080p (36 Mbit): 24 Mbit in the first 8 s (3 Mbps), then 0.05 Mbps for 2 s; 12 s of buffer left.
    const progress = (elapsedSec: number, bitsLoaded: number) => ({ level: 4, segmentIndex: 7, bitsLoaded, bitsTotal: 36_000_000, elapsedSec, bufferSec: 12 });
    const run = (abandonRateWindowSec: number): Array<number | null> => {
      const platform = createPlatformController(stream, { params: { abandonRateWindowSec } });
      feed(platform, 4, 3, 5);
      const answers: Array<number | null> = [];
      for (let t = 1; t <= 8; t += 0.5) answers.push(platform.onProgress?.(progress(t, 3e6 * t)) ?? null);
      for (let t = 8.5; t <= 10; t += 0.5) answers.push(platform.onProgress?.(progress(t, 24e6 + 0.05e6 * (t - 8))) ?? null);
      return answers;
    };
    // Average since the request: 24.1 Mbit / ~9.9 s ≈ 2.4 Mbps, 12 Mbit left ≈ 5 s < 12 s: keeps going.
    expect(run(0).every((a) => a === null)).toBe(true);
    // The last 2 s: at t = 9.5 they hold 0.5 s at 3 Mbps and 1.5 s at 0.05 Mbps, 0.79 Mbps: the 11.9 Mbit left take
    // 15 s > 12 s of buffer → abandoned for 480p (9 Mbit in 11.4 s at that rate, inside the buffer).
    const windowed = run(2);
    expect(windowed.slice(0, 15).every((a) => a === null)).toBe(true);
    expect(windowed.findIndex((a) => a !== null)).toBe(17); // t = 9.5 s
    expect(windowed[17]).toBe(2);
  });

  it('hls.js rule abandons only after half a segment duration', () => {
    const hlsjs = createHlsjsThroughputController(stream);
    feed(hlsjs, 20, 4, 5);
    expect(hlsjs.onProgress?.({ ...stalled, elapsedSec: 2.9 })).toBeNull();
    expect(hlsjs.onProgress?.(stalled)).toBe(0);
  });
});

describe('oscillating bandwidth (2 ↔ 8 Mbps every segment, 20 s buffered)', () => {
  const switchesOf = (controller: AbrController): number => {
    let last = 2;
    let switches = 0;
    for (let i = 0; i < 20; i++) {
      feed(controller, i % 2 ? 8 : 2, last);
      const level = controller.chooseLevel({ bufferSec: 20, lastLevel: last, segmentIndex: i, segmentsLeft: 40 });
      if (level !== last) switches++;
      last = level;
    }
    return switches;
  };

  it('platform holds a steady rung instead of chasing each sample', () => {
    expect(switchesOf(createPlatformController(stream))).toBeLessThanOrEqual(2);
  });

  it('hls.js EWMA (min of fast/slow) is steady too; BBA/BOLA do not move at a constant buffer', () => {
    expect(switchesOf(createHlsjsThroughputController(stream))).toBeLessThanOrEqual(2);
    expect(switchesOf(createBbaController(stream))).toBeLessThanOrEqual(1);
    expect(switchesOf(createBolaController(stream))).toBeLessThanOrEqual(1);
  });
});

describe('buffer-based baselines', () => {
  it('BBA: lowest under the reservoir, highest above reservoir + cushion, hysteresis between', () => {
    const { reservoirSec, cushionSec } = bbaParams(stream);
    expect([reservoirSec, cushionSec]).toEqual([6, 15]);
    const bba = createBbaController(stream);
    expect(bba.chooseLevel({ bufferSec: 5.9, lastLevel: 3, segmentIndex: 1 })).toBe(0);
    expect(bba.chooseLevel({ bufferSec: 21, lastLevel: 0, segmentIndex: 1 })).toBe(TOP);
    // 12 s → f = 0.4 + 19.6 × 6/15 = 8.24 Mbps: from rung 4 (6 Mbps) the next up (10) is not reached and the next
    // down (3) is below → stay.
    expect(bba.chooseLevel({ bufferSec: 12, lastLevel: 4, segmentIndex: 1 })).toBe(4);
    // From rung 1 (0.8 Mbps) 8.24 passes the next rung up → highest rung below 8.24 = 6 Mbps.
    expect(bba.chooseLevel({ bufferSec: 12, lastLevel: 1, segmentIndex: 1 })).toBe(4);
  });

  it('BOLA: V and γ from the buffer size as dash.js computes them', () => {
    const { vp, gp, utilities } = bolaParams(stream);
    // bufferTime = max(30 − 6, 10 + 2 × 7) = 24 s; γp = ln(50) / (24/10 − 1); Vp = 10 / γp.
    expect(utilities[0]).toBe(1);
    expect(gp).toBeCloseTo(Math.log(50) / 1.4, 10);
    expect(vp).toBeCloseTo(10 / gp, 10);
    const bola = createBolaController(stream);
    expect(bola.chooseLevel({ bufferSec: 9, lastLevel: 3, segmentIndex: 1 })).toBe(0);
    expect(bola.chooseLevel({ bufferSec: 24, lastLevel: 3, segmentIndex: 1 })).toBe(TOP);
    const mid = bola.chooseLevel({ bufferSec: 17, lastLevel: 3, segmentIndex: 1 });
    expect(mid).toBeGreaterThan(0);
    expect(mid).toBeLessThan(TOP);
  });
});

describe('cold start', () => {
  it('with a cold-start error prior, the first sample is discounted like a doubtful estimate', () => {
    // One 0.4 Mbps segment fetched at 4 Mbps; 6 s buffered. Trusted fully, the planner climbs higher than when the
    // lone sample may be 100 % off (estimate halved at an empty buffer, relaxed by 6/30 here).
    const pick = (coldStartError: number): number => {
      const platform = createLabController(stream, { params: { coldStartError } });
      feed(platform, 4, 0, 1);
      return platform.chooseLevel({ bufferSec: 6, lastLevel: 0, segmentIndex: 1, segmentsLeft: 40 });
    };
    expect(pick(1)).toBeLessThan(pick(0));
    // Once two errors are known the prior no longer applies: a steady link gets its full rate back.
    const steady = createLabController(stream, { params: { coldStartError: 1 } });
    feed(steady, 4, 0, 4);
    const trusted = createLabController(stream, { params: { coldStartError: 0 } });
    feed(trusted, 4, 0, 4);
    expect(steady.bandwidthEstimate()).toBeCloseTo(trusted.bandwidthEstimate()!, 0);
  });
});

describe('long-run floor', () => {
  it('a full buffer plans with the last ten transfers, not the three slow ones; an empty buffer does not', () => {
    // Seven 720p segments at 3 Mbps, then three at 0.5 Mbps (a slow stretch): the 3-sample harmonic mean says 0.5.
    const make = (longWindow: number): AbrController => {
      const platform = createPlatformController(stream, { params: { longWindow } });
      feed(platform, 3, 3, 7);
      feed(platform, 0.5, 3, 3);
      return platform;
    };
    const floored = make(10);
    const plain = make(0);
    const full = { bufferSec: 18, lastLevel: 0, segmentIndex: 10, segmentsLeft: 40 };
    // Σ bits / Σ s over the ten transfers = 1.2 Mbps, × 18/30 of buffer = 0.72: above the short robust estimate (0.5
    // discounted by its 100 % recent error, relaxed by the buffer: 0.36), so it climbs where the plain estimate stays.
    expect(floored.chooseLevel(full)).toBeGreaterThan(plain.chooseLevel(full));
    // Empty buffer: the floor is 0 × the long-run rate, so both plan on the short robust estimate alike.
    const empty = { bufferSec: 0, lastLevel: 0, segmentIndex: 10, segmentsLeft: 40 };
    expect(floored.chooseLevel(empty)).toBe(plain.chooseLevel(empty));
    expect(floored.bandwidthEstimate()).toBeCloseTo(plain.bandwidthEstimate()!, 0);
  });
});

describe('persisted estimate (returning viewer)', () => {
  it('starts above the lowest rung from a fresh persisted estimate, discounted by a third', () => {
    // QoE_lin charges startup seconds like stalls, so the first rung is only as high as pays for its extra startup
    // time: with 60 Mbps persisted (trusted as 40 Mbps) a 1080p first segment takes ~1 s and is worth it.
    const platform = createPlatformController(stream, { persisted: { bandwidthBps: 60 * MBPS, savedAtMs: 1000 }, nowMs: 2000 });
    expect(platform.bandwidthEstimate()).toBeCloseTo(40 * MBPS, -3);
    expect(platform.chooseLevel({ bufferSec: 0, lastLevel: -1, segmentIndex: 0, segmentsLeft: 50 })).toBeGreaterThan(0);
    const cold = createPlatformController(stream);
    expect(cold.chooseLevel({ bufferSec: 0, lastLevel: -1, segmentIndex: 0, segmentsLeft: 50 })).toBe(0);
  });

  it('the stored estimate only stands in until the first measurement, which replaces it', () => {
    // Yesterday's slow network, today's fast one: the stale prior must not drag the harmonic mean for 5 segments
    // (it did, and a 10 s clip played entirely on the lowest rungs in the browser).
    const platform = createPlatformController(stream, { persisted: { bandwidthBps: 0.6 * MBPS, savedAtMs: 1000 }, nowMs: 2000 });
    expect(platform.bandwidthEstimate()).toBeCloseTo(0.4 * MBPS, -3);
    feed(platform, 50, 0, 1);
    expect(platform.bandwidthEstimate()).toBeCloseTo(50 * MBPS, -5);
    expect(platform.chooseLevel({ bufferSec: 6, lastLevel: 0, segmentIndex: 1, segmentsLeft: 4 })).toBeGreaterThan(2);
  });

  it('ignores an estimate older than a day, or a nonsensical one', () => {
    const stale = createPlatformController(stream, { persisted: { bandwidthBps: 60 * MBPS, savedAtMs: 0 }, nowMs: 25 * 3600 * 1000 });
    expect(stale.chooseLevel({ bufferSec: 0, lastLevel: -1, segmentIndex: 0 })).toBe(0);
    const bad = createPlatformController(stream, { persisted: { bandwidthBps: Number.NaN, savedAtMs: 0 }, nowMs: 0 });
    expect(bad.bandwidthEstimate()).toBeNull();
  });

  it('NetInfo downlink stands in when nothing is persisted; a fresh persisted estimate wins over it', () => {
    const hinted = createPlatformController(stream, { downlinkBps: 60 * MBPS });
    expect(hinted.bandwidthEstimate()).toBeCloseTo(40 * MBPS, -3);
    expect(hinted.chooseLevel({ bufferSec: 0, lastLevel: -1, segmentIndex: 0, segmentsLeft: 50 })).toBeGreaterThan(0);
    const both = createPlatformController(stream, { downlinkBps: 60 * MBPS, persisted: { bandwidthBps: 3 * MBPS, savedAtMs: 1000 }, nowMs: 2000 });
    expect(both.bandwidthEstimate()).toBeCloseTo(2 * MBPS, -3);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, null]) {
      expect(createPlatformController(stream, { downlinkBps: bad }).bandwidthEstimate()).toBeNull();
    }
  });

  it('before playback, a hinted first pick is kept unless the startup seconds saved outweigh the bitrate given up', () => {
    // 4K (20 Mbit/s, 120 Mbit) picked from a hint; nothing measured yet, buffer 0 (not playing, not draining).
    const hinted = (): AbrController => createPlatformController(stream, { downlinkBps: 60 * MBPS });
    // 30 Mbit/s achieved: 1.2 s in, 36 Mbit are here and 84 more take 2.8 s; refetching 240p would take 0.08 s.
    // Saving 2.7 s of startup (11.7 at 4.3 per second) is not worth 19.6 Mbit/s of first segment: keep it.
    const fast = { level: 6, segmentIndex: 0, bitsLoaded: 36e6, bitsTotal: 120e6, elapsedSec: 1.2, bufferSec: 0 };
    expect(hinted().onProgress?.(fast)).toBeNull();
    // 0.5 Mbit/s achieved: finishing takes ~4 minutes, 240p ~5 s: abandon to the lowest rung.
    expect(hinted().onProgress?.({ ...fast, bitsLoaded: 0.6e6 })).toBe(0);
  });

  it('exports what it learnt', () => {
    const platform = createPlatformController(stream);
    expect(platform.exportState?.(5)).toBeNull();
    feed(platform, 4, 3, 5);
    const state = platform.exportState?.(5);
    expect(state?.savedAtMs).toBe(5);
    expect(state?.bandwidthBps).toBeCloseTo(4 * MBPS, -4);
  });
});

describe('the lab controller with no options', () => {
  it('makes the shipped controller\'s decisions exactly (every rung, abandon, estimate and stored state) on varied links', () => {
    // Seeded links of 60 one-second slots: steady, on/off, fading and noisy, from 0.05 to 30 Mbit/s.
    let seed = 11;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const shapes = [
      (): number => 4,
      (i: number): number => (i % 7 < 3 ? 0.05 : 6),
      (i: number): number => Math.max(0.2, 12 - i * 0.2),
      (): number => 0.3 + random() * 30,
      (): number => (random() < 0.2 ? 0.1 : 1 + random() * 3),
    ];
    for (const [k, shape] of shapes.entries()) {
      const trace = parseTrace(`link-${k}`, Array.from({ length: 60 }, (_, i) => `${i + 1} ${shape(i).toFixed(3)}`).join('\n'));
      const options = { stream, segmentCount: 30, rttSec: 0.08, progressIntervalSec: 0.1 };
      const persisted = { bandwidthBps: 3 * MBPS, savedAtMs: 0 };
      for (const start of [{}, { persisted, nowMs: 1 }, { downlinkBps: 8 * MBPS }]) {
        const shipped = createPlatformController(stream, start);
        const lab = createLabController(stream, start);
        const a = simulateRun(trace, shipped, options);
        const b = simulateRun(trace, lab, options);
        expect(b.levels).toEqual(a.levels);
        expect(b.metrics).toEqual(a.metrics);
        expect(lab.bandwidthEstimate()).toBe(shipped.bandwidthEstimate());
        expect(lab.exportState(7)).toEqual(shipped.exportState(7));
      }
    }
  });
});

/** The ABR simulator: trace parsers, time integration, hand-computed run accounting, and the CLI's bad input. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AbrController, AbrStream } from '../../abr/types';
import { main } from '../../abr/lab/sim/cli';
import { PLATFORM_MEDIA } from '../../scripts/abr-media';
import { simulateRun } from '../../abr/lab/sim/simulator';
import { loadTraceDir, parsePensieveText, parseSabreJson, parseTrace, TraceClock, TraceError } from '../../abr/lab/sim/traces';
import { rotateTraces } from '../../abr/lab/train/tune';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** A controller that plays a fixed script of rungs, optionally abandoning once. */
function scripted(levels: number[], abandon?: { level: number; afterSec: number; to: number }): AbrController & { samples: number[] } {
  let i = 0;
  let abandoned = false;
  const samples: number[] = [];
  return {
    name: 'scripted',
    samples,
    chooseLevel: () => levels[i++] ?? 0,
    onDownloaded: (s) => void samples.push(s.durationSec),
    onProgress: abandon
      ? (p) => {
          if (!abandoned && p.level === abandon.level && p.elapsedSec >= abandon.afterSec - 1e-9) {
            abandoned = true;
            return abandon.to;
          }
          return null;
        }
      : undefined,
    bandwidthEstimate: () => null,
  };
}

describe('trace parsers', () => {
  it('Pensieve text: each value holds until its own timestamp; a non-zero first time (Oboe) starts with a slot', () => {
    // Oboe-style: first timestamp 1.132 → slot [0, 1.132) at 1.3 Mbps, then [1.132, 2.179) at 1.33 Mbps.
    const slots = parsePensieveText('1.132\t1.3\n2.179\t1.33\n');
    expect(slots.durationsSec.map((d) => +d.toFixed(3))).toEqual([1.132, 1.047]);
    expect(slots.bps).toEqual([1.3e6, 1.33e6]);
    // FCC/Puffer-style: starts at 0, so the first line only anchors time; space-separated and CRLF accepted.
    const fcc = parsePensieveText('0.0 5\r\n5.0 2\r\n10.0 0\r\n');
    expect(fcc.durationsSec).toEqual([5, 5]);
    expect(fcc.bps).toEqual([2e6, 0]);
  });

  it('Sabre JSON: slots in kbit/s and ms', () => {
    const slots = parseSabreJson('[{"duration_ms": 725, "bandwidth_kbps": 36014, "latency_ms": 20}, {"duration_ms": 1000, "bandwidth_kbps": 500, "latency_ms": 20}]');
    expect(slots.durationsSec).toEqual([0.725, 1]);
    expect(slots.bps).toEqual([36_014_000, 500_000]);
    expect(parseTrace('x.json', ' [{"duration_ms": 1, "bandwidth_kbps": 1}]').format).toBe('sabre-json');
  });

  it('rejects malformed traces with the reason', () => {
    expect(() => parsePensieveText('0 1\nabc def\n')).toThrow(/line 2/);
    expect(() => parsePensieveText('5 1\n4 1\n')).toThrow(/backwards/);
    expect(() => parsePensieveText('0 1\n1 -3\n')).toThrow(/negative/);
    expect(() => parsePensieveText('')).toThrow(TraceError);
    expect(() => parsePensieveText('0 0\n5 0\n')).toThrow(/zero throughout/);
    expect(() => parseSabreJson('[{"duration_ms": 1000}]')).toThrow(/bandwidth_kbps/);
    expect(() => parseSabreJson('{"a": 1}')).toThrow(/array/);
    expect(() => parseSabreJson('[{"duration_ms": 1000, ')).toThrow(/invalid JSON/);
  });

  // The shared traces live next to the repository (../shared/traces), outside version control; a checkout without
  // them (a bare CI clone) skips this one check. Every parser is covered above with crafted input either way.
  const sharedTraces = path.resolve(repoRoot, '../shared/traces');
  it.skipIf(!existsSync(sharedTraces))('parses every file of the shared traces (all folders present)', () => {
    const { traces, skipped } = loadTraceDir(sharedTraces);
    expect(skipped).toEqual([]);
    expect(traces.length).toBeGreaterThanOrEqual(28);
    const families = new Set(traces.map((t) => t.family));
    for (const f of ['fcc', 'lte4g', 'oboe', 'puffer']) expect(families.has(f)).toBe(true);
  });
});

describe('trace integration', () => {
  it('integrates bits over slots and loops when the trace ends', () => {
    // [0,1) at 1 Mbps, [1,2) at 3 Mbps; period 2 s carries 4 Mbit.
    const clock = new TraceClock(parsePensieveText('1 1\n2 3\n'));
    // 5 Mbit from t=0: 1 Mbit by 1 s, 4 by 2 s, then the loop's first slot gives the 5th by 3 s.
    expect(clock.timeToDeliver(0, 5e6)).toBeCloseTo(3, 9);
    expect(clock.bitsAt(3.5)).toBeCloseTo(6.5e6, 3);
    expect(clock.bitsBetween(0.5, 1.5)).toBeCloseTo(2e6, 3);
    // Across many loops: 41 Mbit = 10 periods (20 s) + 1 Mbit (1 s).
    expect(clock.timeToDeliver(0, 41e6)).toBeCloseTo(21, 9);
  });

  it('rotated copies (abr:tune --rotations) start k/n of the way into the slots and keep the period', () => {
    const trace = parseTrace('fam/t', '1 1\n2 2\n3 3\n4 4\n', 'fam');
    const rotated = rotateTraces([trace], 2);
    expect(rotated.map((t) => t.name)).toEqual(['fam/t@0', 'fam/t@1']);
    expect(rotated[0]!.bps).toEqual(trace.bps);
    expect(rotated[1]!.bps).toEqual([...trace.bps.slice(2), ...trace.bps.slice(0, 2)]);
    expect(new TraceClock(rotated[1]!).periodSec).toBeCloseTo(new TraceClock(trace).periodSec, 9);
    expect(rotated.every((t) => t.family === 'fam')).toBe(true);
  });

  it('skips over zero-bandwidth stretches', () => {
    const clock = new TraceClock(parsePensieveText('0 0\n2 2\n4 0\n'));
    // [0,2) at 2 Mbps, [2,4) at 0: 6 Mbit need 2 s, then 2 idle seconds, then 1 more second.
    expect(clock.timeToDeliver(0, 6e6)).toBeCloseTo(5, 9);
  });
});

describe('simulator accounting on a hand-computed run', () => {
  const stream: AbrStream = { bitrates: [1e6, 2e6], segmentDurationSec: 2, maxBufferSec: 4 };
  const trace = parseTrace('constant', '0 2\n10 2\n'); // 2 Mbps forever

  it('startup, waiting for room, stalls, QoE_lin', () => {
    const controller = scripted([1, 0, 1]);
    const result = simulateRun(trace, controller, { stream, segmentCount: 3, rttSec: 0.5, progressIntervalSec: 0.1 });
    // seg 0 @ 2 Mbps: 4 Mbit → 0.5 s RTT + 2 s = 2.5 s. Playback starts at 2.5 s (startup), buffer 2 s.
    // seg 1 @ 1 Mbps: buffer 2 + 2 ≤ 4, no wait. 2 Mbit → 0.5 + 1 = 1.5 s; buffer 2 − 1.5 + 2 = 2.5 s.
    // seg 2: 2.5 + 2 > 4 → wait 0.5 s (buffer 2). 4 Mbit → 2.5 s: stall 0.5 s, buffer 0 + 2.
    // QoE_lin = (2 + 1 + 2) − 4.3 × (0.5 stall + 2.5 startup) − (|1−2| + |2−1|) = 5 − 12.9 − 2 = −9.9.
    expect(result.levels).toEqual([1, 0, 1]);
    expect(controller.samples).toEqual([2.5, 1.5, 2.5]);
    const m = result.metrics;
    expect(m.startupSec).toBeCloseTo(2.5, 9);
    expect(m.rebufferSec).toBeCloseTo(0.5, 9);
    expect(m.qoeLin).toBeCloseTo(-9.9, 9);
    expect(m.qoeLinExStartup).toBeCloseTo(5 - 4.3 * 0.5 - 2, 9); // the same run with startup apart
    expect(m.avgBitrateMbps).toBeCloseTo(5 / 3, 9);
    expect(m.rebufferRatio).toBeCloseTo(0.5 / 6.5, 9); // stall / (6 s of video + stall)
    expect(m.switches).toBe(2);
    expect(m.abandons).toBe(0);
  });

  it('abandonment: time spent counts, bits are wasted, the segment is refetched lower', () => {
    const slow = parseTrace('slow', '0 1\n10 1\n'); // 1 Mbps
    const four: AbrStream = { bitrates: [1e6, 4e6], segmentDurationSec: 2, maxBufferSec: 10 };
    const controller = scripted([1], { level: 1, afterSec: 1, to: 0 });
    const result = simulateRun(slow, controller, { stream: four, segmentCount: 1, rttSec: 0, progressIntervalSec: 0.1 });
    // 8 Mbit at 1 Mbps would take 8 s; abandoned after 1 s (1 Mbit wasted), then 2 Mbit at rung 0 take 2 s.
    expect(result.levels).toEqual([0]);
    expect(result.metrics.abandons).toBe(1);
    expect(result.metrics.wastedMB).toBeCloseTo(1e6 / 8e6, 6);
    expect(result.metrics.startupSec).toBeCloseTo(3, 6);
    expect(controller.samples).toEqual([2]);
  });
});

describe('abr:sim CLI', () => {
  const io = (): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l) => void out.push(l), err: (l) => void err.push(l) } };
  };
  const made: string[] = [];
  const tmp = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'abr-sim-'));
    made.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('missing directory → exit 1 with a clear message', () => {
    const r = io();
    expect(main(['--traces', '/nonexistent/traces'], repoRoot, PLATFORM_MEDIA, r.io)).toBe(1);
    expect(r.err.join('\n')).toMatch(/traces directory not found: \/nonexistent\/traces/);
  });

  it('empty directory (or only documentation) → exit 1', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'README.md'), '# not a trace');
    const r = io();
    expect(main(['--traces', dir], repoRoot, PLATFORM_MEDIA, r.io)).toBe(1);
    expect(r.err.join('\n')).toMatch(/no traces found/);
  });

  it('only unparseable files → exit 1 naming the file; nothing written', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'bad.txt'), 'hello world\n');
    const out = path.join(dir, 'out.json');
    const r = io();
    expect(main(['--traces', dir, '--json', out], repoRoot, PLATFORM_MEDIA, r.io)).toBe(1);
    expect(r.err.join('\n')).toMatch(/bad\.txt: line 1/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unparseable file among good ones is skipped with a warning; the run goes on and writes JSON', () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'wifi'));
    mkdirSync(path.join(dir, 'lte'));
    writeFileSync(path.join(dir, 'wifi', 'a'), Array.from({ length: 60 }, (_, i) => `${i}\t${2 + (i % 3)}`).join('\n'));
    writeFileSync(path.join(dir, 'lte', 'b.json'), JSON.stringify(Array.from({ length: 60 }, () => ({ duration_ms: 1000, bandwidth_kbps: 12000, latency_ms: 20 }))));
    writeFileSync(path.join(dir, 'wifi', 'broken'), '0 1\n1 oops\n');
    const out = path.join(dir, 'nested', 'out.json');
    const r = io();
    expect(main(['--traces', dir, '--json', out, '--segments', '10'], repoRoot, PLATFORM_MEDIA, r.io)).toBe(0);
    expect(r.err).toEqual([expect.stringMatching(/warning: skipped wifi\/broken: line 2/)]);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      overall: Array<{ controller: string; traces: number; meanQoeLin: number }>;
      byFamily: Record<string, unknown>;
      skipped: unknown[];
      runs: unknown[];
    };
    expect(report.overall.map((o) => o.controller)).toEqual(['reference', 'hlsjs', 'bba', 'bola', 'platform', 'platform-stochastic', 'platform-returning', 'platform-netinfo', 'oracle']);
    expect(report.overall.every((o) => o.traces === 2 && Number.isFinite(o.meanQoeLin))).toBe(true);
    expect(Object.keys(report.byFamily)).toEqual(['lte', 'wifi']);
    expect(report.skipped).toHaveLength(1);
    expect(report.runs).toHaveLength(20); // 2 traces × (6 controllers + 2 platform variants + oracle + the always-lowest floor)
    expect(r.out.join('\n')).toMatch(/\| platform +\| +2 \|/);
  });

  it('rejects unknown flags and bad values', () => {
    for (const argv of [['--tracez', 'x'], ['--segments', '-3'], ['--json'], ['--max-buffer', '2']]) {
      const r = io();
      expect(main(argv, repoRoot, PLATFORM_MEDIA, r.io)).toBe(1);
      expect(r.err[0]).toMatch(/^abr:sim: /);
    }
  });

  it('real segment sizes: validated, and they drive the ladder and the video length', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 't'), '0 3\n100 3\n');
    const sizesFile = path.join(tmp(), 'sizes.json');
    writeFileSync(sizesFile, JSON.stringify({ '240p': [300_000, 250_000, 310_000], '360p': [600_000, 590_000, 610_000, 1] }));
    const out = path.join(tmp(), 'o.json');
    const ok = io();
    expect(main(['--traces', dir, '--segment-sizes', sizesFile, '--json', out], repoRoot, PLATFORM_MEDIA, ok.io)).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { options: { segmentCount: number; bitratesBps: number[]; realSegmentSizes: boolean } };
    // The rungs present form the ladder; the shortest list sets the video length.
    expect(report.options).toMatchObject({ segmentCount: 3, bitratesBps: [400_000, 800_000], realSegmentSizes: true });
    for (const [content, message] of [
      [JSON.stringify({ '999p': [1] }), /unknown rung\(s\) 999p/],
      [JSON.stringify({ '240p': [] }), /non-empty array/],
      ['not json', /cannot read segment sizes/],
    ] as const) {
      writeFileSync(sizesFile, content);
      const bad = io();
      expect(main(['--traces', dir, '--segment-sizes', sizesFile], repoRoot, PLATFORM_MEDIA, bad.io)).toBe(1);
      expect(bad.err[0]).toMatch(message);
    }
  });
});

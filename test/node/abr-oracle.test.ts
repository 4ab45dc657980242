/**
 * The offline-optimal oracle (abr/lab/sim/oracle.ts): a tiny case whose optimum is worked out by hand, an outage
 * case where the optimum must hold back, agreement with brute force over every plan on small seeded traces, and the
 * simulator's CLI reporting it as a row with every controller's fraction of it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AbrStream } from '../../abr/types';
import { main } from '../../abr/lab/sim/cli';
import { PLATFORM_MEDIA } from '../../scripts/abr-media';
import { solveOracle } from '../../abr/lab/sim/oracle';
import { createPerfectPredictionController } from '../../abr/lab/sim/perfect-prediction';
import { fractions, scriptedController, type OracleFractions } from '../../abr/lab/sim/run';
import { simulateRun, type RunResult } from '../../abr/lab/sim/simulator';
import { parseTrace, type Trace } from '../../abr/lab/sim/traces';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** QoE_lin of a fixed plan, measured by the simulator itself. */
function qoeOf(trace: Trace, plan: number[], stream: AbrStream, rttSec: number): number {
  return simulateRun(trace, scriptedController(plan), { stream, segmentCount: plan.length, rttSec, progressIntervalSec: 0.1 }).metrics.qoeLin;
}

describe('offline-optimal oracle', () => {
  it('a tiny case solved by hand: start low, then the top rung', () => {
    // 2 Mbit/s forever, no RTT, rungs 1 and 2 Mbit/s, 2 s segments, 4 s buffer, 3 segments.
    // [0,1,1]: startup 1 s (−4.3); seg 1 takes 2 s from a 2 s buffer (no stall); seg 2 the same.
    //          Quality 1 + 2 + 2 = 5, one switch of 1 → 5 − 4.3 − 1 = −0.3.
    // [1,1,1]: startup 2 s → 6 − 8.6 = −2.6.   [0,0,0]: 3 − 4.3 = −1.3.   [0,0,1]: 4 − 4.3 − 1 = −1.3.
    // [0,1,0]: 4 − 4.3 − 2 = −2.3.   Starting on rung 1 costs 8.6 of startup, more than any gain: the rest is worse.
    const stream: AbrStream = { bitrates: [1e6, 2e6], segmentDurationSec: 2, maxBufferSec: 4 };
    const trace = parseTrace('constant', '0 2\n10 2\n');
    const oracle = solveOracle(trace, { stream, segmentCount: 3, rttSec: 0 });
    expect(oracle.levels).toEqual([0, 1, 1]);
    expect(oracle.value).toBeCloseTo(-0.3, 9);
    expect(qoeOf(trace, oracle.levels, stream, 0)).toBeCloseTo(-0.3, 9);
  });

  it('perfect prediction of the whole video reaches that optimum; of one segment only, it cannot see the gain', () => {
    // The tiny case above. Knowing all 3 segments: [0, 1, 1] = −0.3, the oracle's. Knowing one segment: rung 1 next
    // is worth 2 − 1 (switch) = 1, the same as staying on rung 0, so it never climbs: [0, 0, 0] = −1.3.
    const stream: AbrStream = { bitrates: [1e6, 2e6], segmentDurationSec: 2, maxBufferSec: 4 };
    const trace = parseTrace('constant', '0 2\n10 2\n');
    const run = (horizon: number): RunResult =>
      simulateRun(trace, createPerfectPredictionController(trace, { stream, rttSec: 0, horizon, terminalBufferSec: 0 }), {
        stream,
        segmentCount: 3,
        rttSec: 0,
        progressIntervalSec: 0.1,
      });
    expect(run(3).levels).toEqual([0, 1, 1]);
    expect(run(3).metrics.qoeLin).toBeCloseTo(-0.3, 9);
    expect(run(1).levels).toEqual([0, 0, 0]);
    expect(run(1).metrics.qoeLin).toBeCloseTo(-1.3, 9);
  });

  it('with startup apart (weight 0) the same tiny case starts on the top rung', () => {
    // As above, startup not charged: [1,1,1] = 2 + 2 + 2 = 6 with no stall and no switch; [0,1,1] = 5 − 1 = 4.
    const stream: AbrStream = { bitrates: [1e6, 2e6], segmentDurationSec: 2, maxBufferSec: 4 };
    const trace = parseTrace('constant', '0 2\n10 2\n');
    const oracle = solveOracle(trace, { stream, segmentCount: 3, rttSec: 0, startupPenalty: 0 });
    expect(oracle.levels).toEqual([1, 1, 1]);
    expect(oracle.value).toBeCloseTo(6, 9);
    const metrics = simulateRun(trace, scriptedController(oracle.levels), { stream, segmentCount: 3, rttSec: 0, progressIntervalSec: 0.1 }).metrics;
    expect(metrics.qoeLinExStartup).toBeCloseTo(6, 9);
    expect(metrics.qoeLin).toBeCloseTo(6 - 4.3 * 2, 9); // the same run under QoE_lin pays 2 s of startup
  });

  it('an outage ahead: the optimum buffers low rungs first instead of stalling in it', () => {
    // 4 Mbit/s for 4 s, then nothing for 6 s, then 4 Mbit/s; rungs 1 and 4 Mbit/s, 2 s segments, 10 s buffer.
    const stream: AbrStream = { bitrates: [1e6, 4e6], segmentDurationSec: 2, maxBufferSec: 10 };
    const trace = parseTrace('outage', '4 4\n10 0\n100 4\n');
    const oracle = solveOracle(trace, { stream, segmentCount: 6, rttSec: 0 });
    const greedy = qoeOf(trace, [1, 1, 1, 1, 1, 1], stream, 0);
    expect(oracle.value).toBeGreaterThan(greedy);
    // Segments 1.. must be small enough to pile up buffer before t = 4 s.
    expect(oracle.levels.slice(0, 3)).toContain(0);
    expect(qoeOf(trace, oracle.levels, stream, 0)).toBeCloseTo(oracle.value, 9);
  });

  it('matches brute force over every plan on small seeded traces (and its value is what the simulator measures)', () => {
    const stream: AbrStream = { bitrates: [0.5e6, 1e6, 2.5e6], segmentDurationSec: 2, maxBufferSec: 6 };
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 6; t++) {
      const lines = Array.from({ length: 20 }, (_, i) => `${i + 1} ${(random() * 3.5).toFixed(2)}`).join('\n');
      const trace = parseTrace(`random-${t}`, lines);
      const n = 5;
      let best = -Infinity;
      for (let code = 0; code < 3 ** n; code++) {
        const plan = Array.from({ length: n }, (_, i) => Math.floor(code / 3 ** i) % 3);
        best = Math.max(best, qoeOf(trace, plan, stream, 0.05));
      }
      const oracle = solveOracle(trace, { stream, segmentCount: n, rttSec: 0.05 });
      expect(qoeOf(trace, oracle.levels, stream, 0.05)).toBeCloseTo(oracle.value, 6);
      expect(oracle.value).toBeGreaterThanOrEqual(best - 1e-6 - 0.01 * Math.abs(best));
      expect(oracle.value).toBeLessThanOrEqual(best + 1e-6);
    }
  });

  it('QoE_log has its own optimum, never below QoE_log of the QoE_lin plan', () => {
    const stream: AbrStream = { bitrates: [0.4e6, 1.5e6, 6e6], segmentDurationSec: 2, maxBufferSec: 8 };
    const trace = parseTrace('steps', '5 8\n10 1\n15 5\n20 0.5\n');
    const options = { stream, segmentCount: 8, rttSec: 0.08 };
    const lin = solveOracle(trace, { ...options, qoe: 'lin' });
    const log = solveOracle(trace, { ...options, qoe: 'log' });
    const logOfLinPlan = simulateRun(trace, scriptedController(lin.levels), { ...options, progressIntervalSec: 0.1 }).metrics.qoeLog;
    expect(log.value).toBeGreaterThanOrEqual(logOfLinPlan - 1e-9);
  });

  it('abr:sim reports the oracle as a row and every controller as a fraction of it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'abr-oracle-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, 'wifi'));
    writeFileSync(path.join(dir, 'wifi', 'a'), Array.from({ length: 60 }, (_, i) => `${i}\t${2 + (i % 3)}`).join('\n'));
    const out = path.join(dir, 'out.json');
    const lines: string[] = [];
    expect(main(['--traces', dir, '--json', out, '--segments', '8'], repoRoot, PLATFORM_MEDIA, { out: (l) => void lines.push(l), err: () => {} })).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      overall: Array<{ controller: string; meanQoeLin: number; meanQoeLog: number; fractionOfOracle: OracleFractions }>;
      runs: Array<{ controller: string; metrics: { qoeLin: number } }>;
    };
    const oracle = report.overall.find((r) => r.controller === 'oracle')!;
    expect(oracle.fractionOfOracle).toEqual({ qoeLin: 1, qoeLog: 1, headroomLin: 1, headroomLog: 1, perTraceLin: 1, perTraceLog: 1, perTraceCount: { lin: 1, log: 1 }, qoeLinExStartup: 1, headroomLinExStartup: 1 });
    // The always-lowest floor is in the runs (one trace here), not a row.
    const floor = report.runs.filter((s) => s.controller === 'lowest');
    expect(floor).toHaveLength(1);
    expect(report.overall.map((r) => r.controller)).not.toContain('lowest');
    for (const row of report.overall) {
      expect(row.meanQoeLin).toBeLessThanOrEqual(oracle.meanQoeLin + 1e-9);
      expect(row.fractionOfOracle.qoeLin).toBeCloseTo(row.meanQoeLin / oracle.meanQoeLin, 9);
      const f = floor[0]!.metrics.qoeLin;
      expect(row.fractionOfOracle.headroomLin).toBeCloseTo((row.meanQoeLin - f) / (oracle.meanQoeLin - f), 9);
    }
    expect(lines.join('\n')).toMatch(/\| oracle +\| +1 \|/);
  });

  it('fractions: the plain ratio is undefined where the optimum is ≤ 0; headroom and per-trace ratios stay defined', () => {
    const run = (trace: string, controller: string, qoe: number): RunResult =>
      ({ trace, family: 'x', controller, levels: [], metrics: { qoeLin: qoe, qoeLog: qoe / 2 } }) as unknown as RunResult;
    // Trace a: optimum 10, floor 2, controller 6. Trace b (an outage): optimum −15, floor −20, controller −17.
    const oracle = [run('a', 'oracle', 10), run('b', 'oracle', -15)];
    const floors = new Map([['a', run('a', 'lowest', 2).metrics], ['b', run('b', 'lowest', -20).metrics]]);
    const own = [run('a', 'c', 6), run('b', 'c', -17)];
    const f = fractions(own, oracle, floors);
    expect(f.qoeLin).toBeNaN(); // Σ oracle = −5: no meaningful ratio
    expect(f.headroomLin).toBeCloseTo((-11 - -18) / (-5 - -18), 12); // 7 / 13
    expect(f.perTraceLin).toBeCloseTo(0.6, 12); // only trace a counts
    expect(f.perTraceCount).toEqual({ lin: 1, log: 1 });
    // Every number in the JSON: NaN is written as null.
    expect(JSON.parse(JSON.stringify(f)).qoeLin).toBeNull();
    // Trace a alone: all three agree on the plain case's meaning (ratio 0.6, headroom (6−2)/(10−2) = 0.5).
    const a = fractions(own.slice(0, 1), oracle, floors);
    expect([a.qoeLin, a.headroomLin, a.perTraceLin]).toEqual([0.6, 0.5, 0.6]);
  });
});

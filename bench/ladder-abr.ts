/**
 * The ABR side of `npm run bench -- ladder`: does a cheaper ladder play better over the same networks? For every
 * source, the lab's simulator (abr/lab/sim) plays every trace with the platform controller over the fixed and the
 * per-title ladder as the player sees them: the master's measured BANDWIDTH per rung (video; rungs in the master's
 * order, by bandwidth) and the real segment sizes (repeated to 50 segments). Reported per ladder: stall ratio,
 * startup, switches, the mean bitrate fetched, and the mean height of the rungs played (the resolution viewers got;
 * each rung's picture is within the SSIM budget of its fixed counterpart). QoE_lin scores Mbps, so it falls with a
 * cheaper ladder by construction; the stalls and the resolution played are the comparison. (A mean of the rungs'
 * SSIM would not do: each rung is measured against the source at its own size, so lower rungs score higher.)
 */
import { createPlatformController } from '../abr/platform';
import { defaultSimOptions } from '../abr/lab/sim/cli';
import { simulateRun } from '../abr/lab/sim/simulator';
import { loadTraceDir, type Trace } from '../abr/lab/sim/traces';
import { defaults, LADDER } from '../workers/shared/config';
import type { SourceReport } from './ladder-measure';

interface LadderPlay {
  rebufferRatio: number;
  startupSec: number;
  switches: number;
  avgBitrateMbps: number;
  playedHeight: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const r4 = (x: number) => Math.round(x * 10000) / 10000;

function play(traces: Trace[], bandwidth: number[], segmentBytes: number[][], heights: number[]): LadderPlay {
  // The master lists variants by bandwidth; the controller's rungs are in that order.
  const order = bandwidth.map((_, i) => i).sort((a, b) => bandwidth[a]! - bandwidth[b]!);
  const options = defaultSimOptions({ ladder: LADDER, segmentDurationSec: defaults.transcoding.segmentDurationSec });
  options.stream = { ...options.stream, bitrates: order.map((i) => bandwidth[i]!) };
  options.segmentBits = (level, index) => {
    const sizes = segmentBytes[order[level]!]!;
    return sizes[index % sizes.length]! * 8;
  };
  const runs = traces.map((t) => simulateRun(t, createPlatformController(options.stream), options));
  return {
    rebufferRatio: r4(mean(runs.map((r) => r.metrics.rebufferRatio))),
    startupSec: r4(mean(runs.map((r) => r.metrics.startupSec))),
    switches: r4(mean(runs.map((r) => r.metrics.switches))),
    avgBitrateMbps: r4(mean(runs.map((r) => r.metrics.avgBitrateMbps))),
    playedHeight: Math.round(mean(runs.map((r) => mean(r.levels.map((l) => heights[order[l]!]!))))),
  };
}

export function abrComparison(reports: SourceReport[], tracesDir: string, log: (line: string) => void): { summary: string[]; data: Record<string, unknown> } {
  const traces = loadTraceDir(tracesDir).traces;
  log(`ABR simulator: ${traces.length} traces × ${reports.length} sources × 2 ladders`);
  const rows = reports.map((r) => {
    const heights = r.rungs.map((x) => x.height);
    return {
      source: r.name,
      fixed: play(traces, r.streams.fixed.bandwidth, r.streams.fixed.segmentBytes, heights),
      perTitle: play(traces, r.streams.perTitle.bandwidth, r.streams.perTitle.segmentBytes, heights),
    };
  });
  const worse = rows.filter((x) => x.perTitle.rebufferRatio > x.fixed.rebufferRatio + 1e-4 || x.perTitle.playedHeight < x.fixed.playedHeight);
  return {
    summary: [
      `ABR (platform controller, ${traces.length} traces): stall ratio fixed → per-title ${rows.map((x) => `${x.source} ${x.fixed.rebufferRatio}→${x.perTitle.rebufferRatio}`).join(', ')}`,
      `  mean height played ${rows.map((x) => `${x.source} ${x.fixed.playedHeight}→${x.perTitle.playedHeight}p`).join(', ')}; worse with per-title: ${worse.length ? worse.map((x) => x.source).join(', ') : 'none'}`,
    ],
    data: { traces: traces.length, controller: 'platform', rows, worseWithPerTitle: worse.map((x) => x.source) },
  };
}

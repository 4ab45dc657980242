import { capLevel, segmentBitsOf, type AbrDecision, type AbrStream } from './types';

/** What the RobustMPC search needs for one decision. */
export interface RobustPlanInput {
  stream: AbrStream;
  decision: AbrDecision;
  /** Throughput scenarios, bits/s, weighed equally (the player plans with one, its robust estimate). */
  bandwidths: readonly number[];
  /** Segments to plan. */
  steps: number;
  /** Time to first byte added to every download, seconds. */
  ttfbSec: number;
  /** A plan ending with less buffer than `sec` pays the shortfall as stall, × `weight`. */
  terminal: { sec: number; weight: number };
  rebufferPenalty: number;
  switchPenalty: number;
}

/**
 * The first rung of the best plan: every rung sequence over `steps` segments, each download taking TTFB + bits /
 * throughput while the buffer drains (capped at the player's maximum), scored by Mbps of each segment −
 * `rebufferPenalty` × stall seconds − `switchPenalty` × |Mbps change| − the terminal shortfall, averaged over the
 * throughput scenarios.
 */
export function planRobust(input: RobustPlanInput): number {
  const { stream, decision, bandwidths, steps, terminal, rebufferPenalty, switchPenalty } = input;
  const top = capLevel(stream, decision);
  const dur = stream.segmentDurationSec;
  const mbps = stream.bitrates.map((b) => b / 1e6);
  const k = bandwidths.length;
  // Download time of every (step, rung, scenario), computed once: the search below only adds and compares.
  const downloads = Array.from({ length: steps }, (_, step) =>
    Array.from({ length: top + 1 }, (_, level) => {
      const bits = segmentBitsOf(stream, decision, level, decision.segmentIndex + step);
      return bandwidths.map((bw) => input.ttfbSec + bits / bw);
    }),
  );
  let bestScore = -Infinity;
  let bestFirst = 0;
  // Depth-first over rung sequences; 7 rungs × 5 steps is 19,607 nodes.
  const visit = (step: number, buffers: number[], prev: number, score: number, first: number): void => {
    if (step === steps) {
      let shortfall = 0;
      for (const buffer of buffers) shortfall += Math.max(0, terminal.sec - buffer);
      score -= (terminal.weight * rebufferPenalty * shortfall) / k;
      if (score > bestScore) {
        bestScore = score;
        bestFirst = first;
      }
      return;
    }
    const row = downloads[step] as number[][];
    for (let level = 0; level <= top; level++) {
      const times = row[level] as number[];
      const next: number[] = new Array<number>(k);
      let stall = 0;
      for (let i = 0; i < k; i++) {
        const download = times[i] as number;
        const buffer = buffers[i] as number;
        if (download > buffer) stall += download - buffer;
        next[i] = Math.min((download < buffer ? buffer - download : 0) + dur, stream.maxBufferSec);
      }
      const quality = mbps[level] as number;
      const change = prev < 0 ? 0 : Math.abs(quality - (mbps[prev] as number));
      const gain = quality - (rebufferPenalty * stall) / k - switchPenalty * change;
      visit(step + 1, next, level, score + gain, step === 0 ? level : first);
    }
  };
  visit(0, bandwidths.map(() => decision.bufferSec), decision.lastLevel, 0, 0);
  return bestFirst;
}

/**
 * Perfect-prediction MPC, an analysis tool (not a controller a player could run): at each decision it knows the
 * trace exactly for the next `horizon` segments and nothing beyond, and picks the first rung of the best plan over
 * them under the simulator's own player model (RTT per request, waiting for room, stalls), scored with QoE_lin and
 * the platform's terminal-buffer cost. It splits a controller's gap to the offline oracle into what a perfect
 * predictor of the next `horizon` segments would recover (prediction error, in principle learnable by a causal
 * controller) and what needs knowledge beyond it (docs/abr.md, "Where the remaining loss is").
 *
 * The controller keeps its own clock from what the simulator tells every controller: the download durations, and the
 * wait for room, which shows as the buffer at the next decision being lower than the one the last download left.
 */
import { PLATFORM_PARAMS } from '../../platform-params';
import { capLevel, type AbrController, type AbrStream } from '../../types';
import { REBUFFER_PENALTY, SWITCH_PENALTY } from './simulator';
import { TraceClock, type Trace } from './traces';

export interface PerfectPredictionOptions {
  stream: AbrStream;
  rttSec: number;
  horizon: number;
  /** Plans ending under this much buffer pay the shortfall as stall (default: the platform's 12 s). */
  terminalBufferSec?: number;
  segmentBits?: (level: number, index: number) => number;
}

export function createPerfectPredictionController(trace: Pick<Trace, 'durationsSec' | 'bps'>, options: PerfectPredictionOptions): AbrController {
  const { stream, rttSec } = options;
  const clock = new TraceClock(trace);
  const dur = stream.segmentDurationSec;
  const terminalSec = options.terminalBufferSec ?? PLATFORM_PARAMS.terminalBufferSec;
  const bitsOf = options.segmentBits ?? ((level: number) => (stream.bitrates[level] ?? 0) * dur);
  let now = 0;
  let started = false;
  let bufferAtDecision = 0;
  let bufferAfterDownload = 0;

  return {
    name: `perfect-${options.horizon}`,
    chooseLevel(decision) {
      if (started) now += Math.max(0, bufferAfterDownload - decision.bufferSec);
      bufferAtDecision = decision.bufferSec;
      return perfectFirstRung(clock, {
        nowSec: now,
        bufferSec: decision.bufferSec,
        lastLevel: decision.lastLevel,
        segmentIndex: decision.segmentIndex,
        segmentsLeft: decision.segmentsLeft,
        playing: started,
        maxLevel: capLevel(stream, decision),
      }, { ...options, terminalBufferSec: terminalSec, segmentBits: bitsOf });
    },
    onDownloaded(sample) {
      now += sample.durationSec;
      bufferAfterDownload = (started ? Math.max(0, bufferAtDecision - sample.durationSec) : 0) + dur;
      started = true;
    },
    bandwidthEstimate: () => null,
  };
}

/** A decision state as the simulator knows it (trace time included), for `perfectFirstRung`. */
export interface PerfectState {
  nowSec: number;
  bufferSec: number;
  lastLevel: number;
  segmentIndex: number;
  segmentsLeft?: number;
  playing: boolean;
  maxLevel: number;
}

/**
 * The first rung of the best plan over the next `horizon` segments with the trace known exactly from `state.nowSec`
 * (the perfect-prediction MPC's decision; also the imitation learner's causal-horizon teacher, abr/lab/train/imitate.ts).
 */
export function perfectFirstRung(clock: TraceClock, state: PerfectState, options: PerfectPredictionOptions): number {
  const { stream, rttSec } = options;
  const dur = stream.segmentDurationSec;
  const terminalSec = options.terminalBufferSec ?? PLATFORM_PARAMS.terminalBufferSec;
  const mbps = stream.bitrates.map((b) => b / 1e6);
  const bitsOf = options.segmentBits ?? ((level: number) => (stream.bitrates[level] ?? 0) * dur);
  const top = state.maxLevel;
  const steps = Math.max(1, Math.min(options.horizon, state.segmentsLeft ?? options.horizon));
  let best = -Infinity;
  let bestFirst = 0;
  const visit = (step: number, time: number, buffer: number, prev: number, score: number, first: number, playing: boolean): void => {
    if (step === steps) {
      const value = score - REBUFFER_PENALTY * Math.max(0, terminalSec - buffer);
      if (value > best) {
        best = value;
        bestFirst = first;
      }
      return;
    }
    if (buffer + dur > stream.maxBufferSec) {
      time += buffer + dur - stream.maxBufferSec;
      buffer = stream.maxBufferSec - dur;
    }
    for (let level = 0; level <= top; level++) {
      const done = clock.timeToDeliver(time + rttSec, bitsOf(level, state.segmentIndex + step));
      const download = done - time;
      const stall = playing ? Math.max(0, download - buffer) : download;
      const change = prev < 0 ? 0 : Math.abs((mbps[level] as number) - (mbps[prev] as number));
      const gain = (mbps[level] as number) - REBUFFER_PENALTY * stall - SWITCH_PENALTY * change;
      visit(step + 1, done, (playing ? Math.max(0, buffer - download) : 0) + dur, level, score + gain, step === 0 ? level : first, true);
    }
  };
  visit(0, state.nowSec, state.bufferSec, state.lastLevel, 0, 0, state.playing);
  return bestFirst;
}

/**
 * Trace-driven playback simulation of one VOD run, and the QoE metrics.
 *
 * Model (all stated here, so every number in the README can be traced back):
 * - The video has `segmentCount` segments of `segmentDurationSec` (the platform's 6 s); segment k at rung l has
 *   `segmentBits(l, k)` bits: real sizes when a sizes file is given, else nominal bitrate × duration.
 * - Segments are fetched one at a time. Each request costs one RTT (default 80 ms, Pensieve's) before the first byte,
 *   then bits arrive at the trace's bandwidth, integrated over time; the trace loops when it ends.
 * - Startup: playback starts when the first segment has arrived (one segment buffered). The startup delay is that
 *   time.
 * - While playing, the buffer drains in real time during downloads; if it empties, playback stalls (rebuffering)
 *   until the segment being fetched arrives.
 * - Maximum buffer: the player holds at most `maxBufferSec` (default 30 s, hls.js's maxBufferLength); it waits before
 *   requesting a segment that would not fit.
 * - Abandonment: every `progressIntervalSec` (0.1 s, hls.js's check period) of a download the controller's
 *   onProgress hook may name a lower rung; the request is dropped (its bits wasted, the time spent counts) and the
 *   same segment is requested at that rung.
 *
 * QoE_lin (MPC, SIGCOMM 2015; Pensieve, SIGCOMM 2017): Σ bitrate (Mbps) − 4.3 × stall seconds − 1 × Σ |bitrate
 * change| (Mbps), with nominal rung bitrates. The startup delay counts as stall time, as in Pensieve's simulator
 * (its first chunk downloads into an empty buffer) and in MPC's QoE (startup weighted like rebuffering).
 *
 * QoE_log (the same papers' second utility): Σ ln(R / R_min) − 2.66 × stall seconds − Σ |ln R_k − ln R_{k−1}|,
 * Pensieve's weights (REBUF_PENALTY_LOG = 2.66). It values a step from 400 to 800 kbit/s like one from 10 to 20
 * Mbit/s, so a controller cannot look good on it just by riding the top rungs of the LTE traces.
 *
 * QoE_lin ex-startup (reported next to the two, never instead): QoE_lin without the startup term, the startup delay
 * being reported on its own; the oracle solves it separately (startup weight 0).
 */
import type { AbrController, AbrStream } from '../../types';
import { TraceClock, type Trace } from './traces';

export interface SimOptions {
  stream: AbrStream;
  segmentCount: number;
  rttSec: number;
  progressIntervalSec: number;
  /** Real segment sizes in bits, when known. */
  segmentBits?: (level: number, index: number) => number;
  /**
   * Called just before each `chooseLevel` with the simulator's own state (wall time since the run began, buffer,
   * whether playback has started). Analysis only (the imitation learner's teacher needs the trace time of a decision);
   * controllers never see it.
   */
  observe?: (state: { nowSec: number; bufferSec: number; playing: boolean; segmentIndex: number }) => void;
}

export const REBUFFER_PENALTY = 4.3;
export const SWITCH_PENALTY = 1;
export const LOG_REBUFFER_PENALTY = 2.66;

export interface RunMetrics {
  qoeLin: number;
  /**
   * QoE_lin with startup apart: Σ Mbps − 4.3 × stall s after startup − Σ |ΔMbps|. Startup delay is reported on its own
   * (`startupSec`) and not charged, as in the papers that count it separately (e.g. Oboe, Fugu); QoE_lin stays the
   * headline.
   */
  qoeLinExStartup: number;
  qoeLog: number;
  /** Nominal bitrate of the first segment, Mbps. */
  firstBitrateMbps: number;
  /** Mean nominal bitrate of the played segments, Mbps. */
  avgBitrateMbps: number;
  /** Stall seconds after startup / (stall seconds + video seconds). */
  rebufferRatio: number;
  rebufferSec: number;
  startupSec: number;
  switches: number;
  abandons: number;
  /** Bits fetched and thrown away by abandonment, MB. */
  wastedMB: number;
}

export interface RunResult {
  trace: string;
  family: string;
  controller: string;
  levels: number[];
  metrics: RunMetrics;
}

export function simulateRun(trace: Trace, controller: AbrController, options: SimOptions): RunResult {
  const { stream, segmentCount, rttSec } = options;
  const clock = new TraceClock(trace);
  const dur = stream.segmentDurationSec;
  const bitsOf = options.segmentBits ?? ((level: number) => (stream.bitrates[level] ?? 0) * dur);
  let now = 0;
  let buffer = 0;
  let playing = false;
  let startupSec = 0;
  let rebufferSec = 0;
  let abandons = 0;
  let wastedBits = 0;
  const levels: number[] = [];

  /** Lets `seconds` of wall time pass: the buffer drains while playing, and a dry buffer is a stall. */
  const elapse = (seconds: number): void => {
    if (playing) {
      rebufferSec += Math.max(0, seconds - buffer);
      buffer = Math.max(0, buffer - seconds);
    }
    now += seconds;
  };

  for (let index = 0; index < segmentCount; index++) {
    // Wait for room in the buffer.
    if (buffer + dur > stream.maxBufferSec) elapse(buffer + dur - stream.maxBufferSec);
    options.observe?.({ nowSec: now, bufferSec: buffer, playing, segmentIndex: index });
    let level = clampLevel(
      controller.chooseLevel({
        bufferSec: buffer,
        lastLevel: levels.length ? (levels[levels.length - 1] ?? -1) : -1,
        segmentIndex: index,
        segmentsLeft: segmentCount - index,
        segmentBits: options.segmentBits,
      }),
      stream,
    );
    for (;;) {
      const bits = bitsOf(level, index);
      const requestAt = now;
      const firstByteAt = requestAt + rttSec;
      const doneAt = clock.timeToDeliver(firstByteAt, bits);
      let abandonedTo: number | null = null;
      let abandonAfter = 0;
      if (controller.onProgress) {
        for (let elapsed = options.progressIntervalSec; requestAt + elapsed < doneAt; elapsed += options.progressIntervalSec) {
          const loaded = clock.bitsBetween(firstByteAt, requestAt + elapsed);
          const next = controller.onProgress({
            level,
            segmentIndex: index,
            bitsLoaded: loaded,
            bitsTotal: bits,
            elapsedSec: elapsed,
            bufferSec: playing ? Math.max(0, buffer - elapsed) : 0,
          });
          if (next !== null && next < level && next >= 0) {
            abandonedTo = next;
            abandonAfter = elapsed;
            wastedBits += loaded;
            break;
          }
        }
      }
      if (abandonedTo !== null) {
        elapse(abandonAfter);
        abandons++;
        level = abandonedTo;
        continue;
      }
      const downloadSec = doneAt - requestAt;
      elapse(downloadSec);
      buffer += dur;
      controller.onDownloaded({ level, bits, durationSec: downloadSec, ttfbSec: rttSec });
      break;
    }
    if (!playing) {
      playing = true;
      startupSec = now;
    }
    levels.push(level);
  }
  return { trace: trace.name, family: trace.family, controller: controller.name, levels, metrics: score(levels, stream, startupSec, rebufferSec, abandons, wastedBits) };
}

function clampLevel(level: number, stream: AbrStream): number {
  if (!Number.isInteger(level)) level = Math.floor(Number.isFinite(level) ? level : 0);
  return Math.max(0, Math.min(stream.bitrates.length - 1, level));
}

/**
 * QoE_lin's parts for the rungs played (index into `bitrates`, bits/s): Σ Mbps, Σ |Mbps change| and the number of
 * switches. One formula for the simulator and the real-player benchmark (bench/abr-player/qoe.ts).
 */
export function linearQoeParts(levels: readonly number[], bitrates: readonly number[]): { mbps: number[]; quality: number; changeSum: number; switches: number } {
  const mbps = levels.map((l) => (bitrates[l] ?? 0) / 1e6);
  const quality = mbps.reduce((a, b) => a + b, 0);
  let changeSum = 0;
  let switches = 0;
  for (let i = 1; i < mbps.length; i++) {
    const change = Math.abs((mbps[i] ?? 0) - (mbps[i - 1] ?? 0));
    changeSum += change;
    if (change > 0) switches++;
  }
  return { mbps, quality, changeSum, switches };
}

/** QoE_lin (MPC / Pensieve): Σ Mbps − 4.3 × (stall + startup) seconds − Σ |Mbps change|. */
export const qoeLin = (quality: number, changeSum: number, startupSec: number, rebufferSec: number): number =>
  quality - REBUFFER_PENALTY * (rebufferSec + startupSec) - SWITCH_PENALTY * changeSum;

export function score(
  levels: number[],
  stream: AbrStream,
  startupSec: number,
  rebufferSec: number,
  abandons = 0,
  wastedBits = 0,
): RunMetrics {
  const { mbps, quality, changeSum, switches } = linearQoeParts(levels, stream.bitrates);
  const lowest = stream.bitrates[0] ?? 1;
  const logs = levels.map((l) => Math.log((stream.bitrates[l] ?? lowest) / lowest));
  let logChange = 0;
  for (let i = 1; i < logs.length; i++) logChange += Math.abs((logs[i] ?? 0) - (logs[i - 1] ?? 0));
  const videoSec = levels.length * stream.segmentDurationSec;
  return {
    qoeLin: qoeLin(quality, changeSum, startupSec, rebufferSec),
    qoeLinExStartup: qoeLin(quality, changeSum, 0, rebufferSec),
    qoeLog: logs.reduce((a, b) => a + b, 0) - LOG_REBUFFER_PENALTY * (rebufferSec + startupSec) - SWITCH_PENALTY * logChange,
    firstBitrateMbps: mbps[0] ?? 0,
    avgBitrateMbps: levels.length ? quality / levels.length : 0,
    rebufferRatio: videoSec + rebufferSec > 0 ? rebufferSec / (videoSec + rebufferSec) : 0,
    rebufferSec,
    startupSec,
    switches,
    abandons,
    wastedMB: wastedBits / 8e6,
  };
}

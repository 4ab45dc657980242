/**
 * The offline-optimal oracle: the best rung sequence any controller could have picked on a trace, knowing the whole
 * future throughput, under the very player model of simulator.ts (one request at a time, RTT per request, waiting
 * for room when the buffer is full, startup when the first segment lands, startup and stalls penalised alike).
 * It only chooses rungs, as a controller does; it never idles on purpose and never abandons (with the future known,
 * fetching the lower rung from the start always beats abandoning to it).
 *
 * Dynamic programming over (segment, buffer level, previous rung). After segment k the exact continuous state of a
 * path is (time, buffer, rung), and time = (k + 1) × segment − buffer + stall so far, so for a given buffer the time
 * differs between paths only by stall, which the value already charges. The buffer is discretised in steps of
 * `bufferStepSec`: every state keeps the best-valued path that lands in its (buffer bucket, rung) cell, with that
 * path's exact time and buffer (no rounding of the state itself), and the others are dropped. The grid only decides
 * which paths are merged; a finer grid merges fewer. The plan is then replayed through simulateRun, so the
 * oracle's number is one a controller could really reach in this simulator (a lower bound on the true optimum,
 * which the grid check in the docs shows is within 1 %).
 *
 * The utility is a parameter, so the same DP gives the optimum of QoE_lin and of QoE_log (see simulator.ts).
 */
import type { AbrStream } from '../../types';
import { LOG_REBUFFER_PENALTY, REBUFFER_PENALTY, SWITCH_PENALTY } from './simulator';
import { TraceClock, type Trace } from './traces';

export type QoeKind = 'lin' | 'log';

export interface OracleOptions {
  stream: AbrStream;
  segmentCount: number;
  rttSec: number;
  segmentBits?: (level: number, index: number) => number;
  /** Buffer grid, seconds. */
  bufferStepSec?: number;
  qoe?: QoeKind;
  /**
   * Weight of the startup delay per second (default: the stall weight, as QoE_lin and QoE_log count it). 0 gives the
   * optimum of the startup-apart QoE (`qoeLinExStartup`), where startup is reported on its own and not charged.
   */
  startupPenalty?: number;
  /**
   * Solve from a mid-run state instead of the run's start (the imitation learner's teacher, abr/lab/train/imitate.ts):
   * segment `index` is about to be requested at trace time `timeSec` with `bufferSec` buffered after playback began,
   * the previous segment at `lastLevel`. The plan then covers segments index … segmentCount − 1.
   */
  start?: { index: number; timeSec: number; bufferSec: number; lastLevel: number };
}

/** 50 ms: halving it (25 ms) moves the total optimum over the shared traces by far less than 1 % (docs/abr.md). */
export const ORACLE_BUFFER_STEP_SEC = 0.05;

export interface OracleResult {
  levels: number[];
  /** The DP's value of that plan (QoE_lin or QoE_log, per `qoe`). */
  value: number;
  /** Cells explored (for the docs' cost note). */
  states: number;
}

/** Utility of a rung in Mbps-equivalent units: Mbps for QoE_lin, ln(R / R_min) for QoE_log. */
export function utilities(stream: AbrStream, qoe: QoeKind): number[] {
  const lowest = stream.bitrates[0] ?? 1;
  return stream.bitrates.map((b) => (qoe === 'lin' ? b / 1e6 : Math.log(b / lowest)));
}

export function rebufferPenalty(qoe: QoeKind): number {
  return qoe === 'lin' ? REBUFFER_PENALTY : LOG_REBUFFER_PENALTY;
}

export function solveOracle(trace: Pick<Trace, 'durationsSec' | 'bps'>, options: OracleOptions): OracleResult {
  const { stream, segmentCount, rttSec } = options;
  const step = options.bufferStepSec ?? ORACLE_BUFFER_STEP_SEC;
  const qoe = options.qoe ?? 'lin';
  const clock = new TraceClock(trace);
  const dur = stream.segmentDurationSec;
  const levels = stream.bitrates.length;
  const bitsOf = options.segmentBits ?? ((level: number) => (stream.bitrates[level] ?? 0) * dur);
  const util = utilities(stream, qoe);
  const stallPenalty = rebufferPenalty(qoe);
  const startupPenalty = options.startupPenalty ?? stallPenalty;
  const buckets = Math.floor(stream.maxBufferSec / step) + 2;
  const cells = buckets * levels;

  // Layer k holds, per cell, the best path after segment k: value, exact time and buffer, and the parent cell.
  type Layer = { value: Float64Array; time: Float64Array; buffer: Float64Array; parent: Int32Array };
  const newLayer = (): Layer => ({
    value: new Float64Array(cells).fill(-Infinity),
    time: new Float64Array(cells),
    buffer: new Float64Array(cells),
    parent: new Int32Array(cells).fill(-1),
  });
  const layers: Layer[] = [];
  let states = 0;

  const relax = (layer: Layer, level: number, value: number, time: number, buffer: number, parent: number): void => {
    const cell = Math.min(buckets - 1, Math.floor(buffer / step + 1e-9)) * levels + level;
    const old = layer.value[cell] ?? -Infinity;
    // Best value wins; on a tie the earlier time (less stall is never worse for what follows).
    if (value > old || (value === old && time < (layer.time[cell] ?? Infinity))) {
      layer.value[cell] = value;
      layer.time[cell] = time;
      layer.buffer[cell] = buffer;
      layer.parent[cell] = parent;
    }
  };

  const start = options.start;
  const startIndex = start?.index ?? 0;
  const first = newLayer();
  if (start) {
    // A playing run: the state is exact, the download drains the buffer and a dry buffer stalls.
    for (let level = 0; level < levels; level++) {
      const done = clock.timeToDeliver(start.timeSec + rttSec, bitsOf(level, startIndex));
      const download = done - start.timeSec;
      const stall = Math.max(0, download - start.bufferSec);
      const change = start.lastLevel < 0 ? 0 : Math.abs((util[level] ?? 0) - (util[start.lastLevel] ?? 0));
      relax(first, level, (util[level] ?? 0) - stallPenalty * stall - SWITCH_PENALTY * change, done, Math.max(0, start.bufferSec - download) + dur, -1);
    }
  } else {
    // Segment 0: the buffer is empty and playback has not started; the whole download is startup delay.
    for (let level = 0; level < levels; level++) {
      const done = clock.timeToDeliver(rttSec, bitsOf(level, 0));
      relax(first, level, (util[level] ?? 0) - startupPenalty * done, done, dur, -1);
    }
  }
  layers.push(first);

  for (let index = startIndex + 1; index < segmentCount; index++) {
    const prev = layers[index - startIndex - 1] as Layer;
    const next = newLayer();
    for (let cell = 0; cell < cells; cell++) {
      const base = prev.value[cell] ?? -Infinity;
      if (base === -Infinity) continue;
      states++;
      const from = cell % levels;
      let time = prev.time[cell] ?? 0;
      let buffer = prev.buffer[cell] ?? 0;
      // Wait for room, as the player does (no stall: the wait is shorter than the buffer).
      if (buffer + dur > stream.maxBufferSec) {
        const wait = buffer + dur - stream.maxBufferSec;
        time += wait;
        buffer -= wait;
      }
      for (let level = 0; level < levels; level++) {
        const done = clock.timeToDeliver(time + rttSec, bitsOf(level, index));
        const download = done - time;
        const stall = Math.max(0, download - buffer);
        const gain = (util[level] ?? 0) - stallPenalty * stall - SWITCH_PENALTY * Math.abs((util[level] ?? 0) - (util[from] ?? 0));
        relax(next, level, base + gain, done, Math.max(0, buffer - download) + dur, cell);
      }
    }
    layers.push(next);
  }

  const last = layers[layers.length - 1] as Layer;
  let bestCell = 0;
  for (let cell = 1; cell < cells; cell++) if ((last.value[cell] ?? -Infinity) > (last.value[bestCell] ?? -Infinity)) bestCell = cell;
  const plan: number[] = [];
  let cell = bestCell;
  for (let index = layers.length - 1; index >= 0; index--) {
    plan.push(cell % levels);
    cell = (layers[index] as Layer).parent[cell] ?? -1;
  }
  plan.reverse();
  return { levels: plan, value: last.value[bestCell] ?? -Infinity, states };
}

export interface GridCheckRow {
  stepSec: number;
  /** Σ oracle QoE over the traces. */
  total: number;
  /** Largest |change| of one trace's optimum against the next finer step, relative to max(|value|, 1). */
  maxTraceChangeVsFiner: number | null;
  totalChangeVsFiner: number | null;
  seconds: number;
}

/**
 * The grid check: the oracle on every trace at each buffer step (coarse to fine); each row compares its optimum with
 * the next finer step's. The default step is fine enough when going one step finer moves the total by < 1 %.
 */
export function oracleGridCheck(traces: Array<Pick<Trace, 'durationsSec' | 'bps'>>, options: Omit<OracleOptions, 'bufferStepSec'>, steps: number[]): GridCheckRow[] {
  const values = steps.map((stepSec) => {
    const t0 = performance.now();
    const perTrace = traces.map((trace) => solveOracle(trace, { ...options, bufferStepSec: stepSec }).value);
    return { stepSec, perTrace, seconds: (performance.now() - t0) / 1000 };
  });
  return values.map((v, i) => {
    const finer = values[i + 1];
    const total = v.perTrace.reduce((a, b) => a + b, 0);
    if (!finer) return { stepSec: v.stepSec, total, maxTraceChangeVsFiner: null, totalChangeVsFiner: null, seconds: v.seconds };
    const finerTotal = finer.perTrace.reduce((a, b) => a + b, 0);
    const maxTrace = Math.max(...v.perTrace.map((x, j) => Math.abs((finer.perTrace[j] ?? 0) - x) / Math.max(Math.abs(finer.perTrace[j] ?? 0), 1)));
    return { stepSec: v.stepSec, total, maxTraceChangeVsFiner: maxTrace, totalChangeVsFiner: Math.abs(finerTotal - total) / Math.max(Math.abs(finerTotal), 1), seconds: v.seconds };
  });
}

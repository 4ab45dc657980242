/**
 * Offline half of the Oboe-style auto-tuner (abr/lab/controllers/oboe.ts): learn the table from network state to each
 * candidate setting's gain, on the training half of the shared traces only.
 *
 * 1. Each training trace, resampled to 1 s bins, is cut into piecewise-stationary stretches by binary segmentation
 *    of its log rate (`segmentTrace`: split where the two sides' mean log rates differ most, if by more than
 *    `minShift` with each side at least `minLenSec`; recursively).
 * 2. Each stretch is a synthetic trace of its own (the simulator loops it, so a run sees that state for its whole
 *    length), also scaled by each of `scales` (the same state at other rates) — and each whole training trace too.
 * 3. On each synthetic trace: the shipped controller's measured transfers give the state's features (the mean of
 *    `stateFeatures` over windows of the transfers, as the online detector would see them), and every candidate's
 *    QoE_lin minus the shipped setting's gives the gains. One table entry per synthetic trace.
 * Deterministic: no randomness at all.
 */
import { createPlatformController } from '../../platform';
import type { AbrController } from '../../types';
import { createLabController } from '../controllers/lab-platform';
import { OBOE_CANDIDATES, stateFeatures, type RateSample } from '../controllers/oboe';
import type { OboeMap } from '../models/oboe-map';
import { simulateRun, type SimOptions } from '../sim/simulator';
import { TraceClock, type Trace } from '../sim/traces';

export interface TrainOptions {
  minLenSec: number;
  /** Natural-log shift of the mean rate that makes a change point (0.69: a factor of 2). */
  minShift: number;
  scales: number[];
  /** Start offsets (fractions of the length) of the runs on each whole trace and on each stretch. */
  wholeRotations: number[];
  stretchRotations: number[];
  /** A stretch from 0 at least this long is what a run on the whole trace sees (≈ 50 × 6 s + stalls): skipped. */
  runSec: number;
  /** Transfers per feature window and stride. */
  window: number;
  stride: number;
}

export const TRAIN_OPTIONS: TrainOptions = { minLenSec: 60, minShift: 0.69, scales: [0.6, 1, 1.6], wholeRotations: [0, 1 / 3, 2 / 3], stretchRotations: [0, 0.5], runSec: 330, window: 12, stride: 4 };

/** One period of the trace as 1 s bins of bits/s (the last bin may be shorter and is dropped). */
export function resample(trace: Pick<Trace, 'durationsSec' | 'bps'>): number[] {
  const clock = new TraceClock(trace);
  const bins: number[] = [];
  for (let t = 0; t + 1 <= clock.periodSec; t += 1) bins.push(clock.bitsBetween(t, t + 1));
  return bins;
}

/** Piecewise-stationary stretches of 1 s bins, as [start, end) bin ranges, by binary segmentation on the log rate. */
export function segmentTrace(bins: readonly number[], options: Pick<TrainOptions, 'minLenSec' | 'minShift'> = TRAIN_OPTIONS): Array<[number, number]> {
  const logs = bins.map((b) => Math.log(Math.max(b, 1e4)));
  const out: Array<[number, number]> = [];
  const split = (from: number, to: number): void => {
    const prefix = [0];
    for (let i = from; i < to; i++) prefix.push((prefix.at(-1) as number) + (logs[i] as number));
    const total = prefix.at(-1) as number;
    let best = -1;
    let bestShift = options.minShift;
    let bestScore = 0;
    for (let cut = from + options.minLenSec; cut <= to - options.minLenSec; cut++) {
      const left = (prefix[cut - from] as number) / (cut - from);
      const right = (total - (prefix[cut - from] as number)) / (to - cut);
      const shift = Math.abs(left - right);
      // Score as the reduction of squared error, so a long stretch's shift counts more than a short one's.
      const score = (shift * shift * (cut - from) * (to - cut)) / (to - from);
      if (shift > options.minShift && score > bestScore) {
        best = cut;
        bestScore = score;
        bestShift = shift;
      }
    }
    if (best < 0 || bestShift <= options.minShift) {
      out.push([from, to]);
      return;
    }
    split(from, best);
    split(best, to);
  };
  if (logs.length > 0) split(0, logs.length);
  return out;
}

/** `bins` started at `fraction` of their length (the simulator loops a trace, so this is the same trace, later). */
function rotate(bins: readonly number[], fraction: number): number[] {
  const k = Math.floor(fraction * bins.length);
  return [...bins.slice(k), ...bins.slice(0, k)];
}

/**
 * The synthetic traces of one training trace: the whole trace (at `wholeRotations`: its transitions between states,
 * which a looped stretch does not have) and each stationary stretch (at `stretchRotations`), each at every scale.
 */
export function synthesise(trace: Trace, options: TrainOptions = TRAIN_OPTIONS): Trace[] {
  const bins = resample(trace);
  const stretches = segmentTrace(bins, options).filter(([a, b]) => !(a === 0 && b - a >= options.runSec));
  const pieces: Array<{ label: string; bins: number[] }> = [
    ...options.wholeRotations.map((r) => ({ label: `whole@${r.toFixed(2)}`, bins: rotate(bins, r) })),
    ...(stretches.length > 1 ? stretches : []).flatMap(([a, b]) => options.stretchRotations.map((r) => ({ label: `${a}-${b}s@${r.toFixed(2)}`, bins: rotate(bins.slice(a, b), r) }))),
  ];
  return pieces.flatMap(({ label, bins: piece }) =>
    options.scales.map((scale) => ({
      name: `${trace.name}#${label}x${scale}`,
      family: trace.family,
      format: trace.format,
      durationsSec: piece.map(() => 1),
      bps: piece.map((b) => b * scale),
    })),
  );
}

/** The features of a run's transfers: the mean of `stateFeatures` over windows of them, startup's first 3 skipped. */
export function runFeatures(samples: readonly RateSample[], options: Pick<TrainOptions, 'window' | 'stride'> = TRAIN_OPTIONS): number[] {
  const usable = samples.slice(3);
  const windows: number[][] = [];
  for (let end = Math.min(usable.length, options.window); end <= usable.length; end += options.stride) {
    windows.push(stateFeatures(usable.slice(Math.max(0, end - options.window), end)));
    if (end === usable.length) break;
  }
  if (windows.length === 0) windows.push(stateFeatures(usable));
  const width = windows[0]?.length ?? 0;
  return Array.from({ length: width }, (_, i) => windows.reduce((sum, w) => sum + (w[i] ?? 0), 0) / windows.length);
}

/** The shipped controller's transfers on a trace, and its run QoE_lin. */
function shippedRun(trace: Trace, sim: SimOptions): { samples: RateSample[]; qoe: number } {
  const samples: RateSample[] = [];
  const inner = createPlatformController(sim.stream);
  const spy: AbrController = {
    name: 'platform',
    chooseLevel: (d) => inner.chooseLevel(d),
    onDownloaded(s) {
      const sec = Math.max(s.durationSec - s.ttfbSec, 1e-3);
      samples.push({ bps: s.bits / sec, sec });
      inner.onDownloaded(s);
    },
    onProgress: (p) => inner.onProgress?.(p) ?? null,
    bandwidthEstimate: () => inner.bandwidthEstimate(),
  };
  const qoe = simulateRun(trace, spy, sim).metrics.qoeLin;
  return { samples, qoe };
}

export function trainMap(train: Trace[], sim: SimOptions, options: TrainOptions = TRAIN_OPTIONS, progress: (line: string) => void = () => {}): OboeMap {
  const synthetic = train.flatMap((t) => synthesise(t, options));
  const entries = synthetic.map((trace, i) => {
    const shipped = shippedRun(trace, sim);
    const gains = OBOE_CANDIDATES.map((c, j) =>
      j === 0 ? 0 : simulateRun(trace, createLabController(sim.stream, { params: c.params }), sim).metrics.qoeLin - shipped.qoe,
    );
    const features = runFeatures(shipped.samples, options);
    progress(`[${i + 1}/${synthetic.length}] ${trace.name} ${features.map((f) => f.toFixed(2)).join(' ')} | ${gains.map((g) => g.toFixed(1)).join(' ')}`);
    return { features: features.map(round), gains: gains.map(round) };
  });
  const width = entries[0]?.features.length ?? 0;
  const scales = Array.from({ length: width }, (_, i) => {
    const values = entries.map((e) => e.features[i] ?? 0);
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    return round(Math.max(1e-3, Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length))));
  });
  return { candidates: OBOE_CANDIDATES.map((c) => c.name), scales, entries };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

/** The table as the TypeScript module abr/lab/models/oboe-map.ts. */
export function mapModule(map: OboeMap, command: string): string {
  return `/**
 * The Oboe-style auto-tuner's table (abr/lab/controllers/oboe.ts): written by \`${command}\` (abr/lab/train/oboe-train.ts) from the training
 * half of the shared traces only (${map.entries.length} synthetic runs). Do not edit by hand.
 */
export interface OboeMap {
  /** Candidate names (abr/lab/controllers/oboe.ts OBOE_CANDIDATES), in gain order. */
  candidates: string[];
  /** Per-feature scale for the nearest-neighbour distance (the training entries' standard deviation). */
  scales: number[];
  /** One synthetic run per entry: its state's features and each candidate's QoE_lin gain over the shipped setting. */
  entries: Array<{ features: number[]; gains: number[] }>;
}

export const OBOE_MAP: OboeMap = {
  candidates: ${JSON.stringify(map.candidates)},
  scales: ${JSON.stringify(map.scales)},
  entries: [
${map.entries.map((e) => `    { features: ${JSON.stringify(e.features)}, gains: ${JSON.stringify(e.gains)} },`).join('\n')}
  ],
};
`;
}

/**
 * Oboe-style auto-tuning of the platform controller (Akhtar et al., "Oboe: Auto-tuning Video ABR Algorithms to
 * Network Conditions", SIGCOMM 2018). A lab controller, not shipped; reported by `npm run abr:oboe` (docs/abr.md).
 *
 * The network is taken to be piecewise stationary. Online, the controller keeps the transfer rates it measured and
 * detects change points in them (a shift of the mean log rate of the latest few transfers against the state's earlier
 * ones, beyond its spread); the transfers since the latest change point are the current *state*, described by a few
 * throughput statistics (`stateFeatures`). A table learned offline (abr/lab/models/oboe-map.ts, by
 * abr/lab/train/oboe-train.ts on the training half of the shared traces only) maps states to how much each candidate
 * setting of the platform controller (`OBOE_CANDIDATES`, lab options) gained over the shipped setting on synthetic traces
 * of such a state; the current state's nearest table entries vote, and the controller switches to the winner after the
 * same winner has come up `confirm` times in a row (hysteresis). Each candidate is its own platform controller fed
 * every download, so a switch hands over to a controller whose estimators are warm.
 *
 * Pure and deterministic.
 */
import type { AbrController, AbrStream } from '../../types';
import { OBOE_MAP, type OboeMap } from '../models/oboe-map';
import { createLabController, type LabControllerOptions } from './lab-platform';
import { STOCHASTIC_PARAMS, type LabParams } from './lab-params';

/** The settings the auto-tuner chooses among; index 0 is the shipped setting (the fallback). */
export const OBOE_CANDIDATES: ReadonlyArray<{ name: string; params: Partial<LabParams> }> = [
  { name: 'shipped', params: {} },
  /** The volatility reserve: the terminal buffer target grows by 12 s × the CV of recent rates. */
  { name: 'reserve12', params: { terminalCvSec: 12 } },
  { name: 'terminal18', params: { terminalBufferSec: 18 } },
  { name: 'terminal6', params: { terminalBufferSec: 6 } },
  /** The guard: the reference rule's rung as a cap under 10 s of buffer. */
  { name: 'guard10', params: { guardBufferSec: 10 } },
  /** The stochastic planner (the non-learned Fugu), `platform-stochastic`'s setting. */
  { name: 'stochastic', params: STOCHASTIC_PARAMS },
];

export const OBOE_PARAMS = {
  /** Change point: the mean log rate of the latest `cpRecent` transfers… */
  cpRecent: 3,
  /** …differs from the state's earlier transfers' by more than `cpZ` × their standard deviation of log rate… */
  cpZ: 2.5,
  /** …floored at this (a flat link's tiny spread would make every wobble a change)… */
  cpMinSpread: 0.25,
  /** …and the earlier part has at least this many transfers. */
  cpMinBefore: 4,
  /** A state is described once it has this many transfers; before that the current setting stays. */
  minStateSamples: 6,
  /** The state's statistics use at most its latest this-many transfers. */
  maxStateSamples: 16,
  /** Nearest table entries that vote. */
  k: 15,
  /** A candidate replaces the shipped setting only if its mean gain over the neighbours exceeds this (QoE_lin per run). */
  margin: 5,
  /** …and at least this share of the neighbours gained with it (one lucky neighbour is not a state's verdict). */
  minAgree: 0.5,
  /** Bit c set: candidate c may be chosen (the shipped setting, bit 0, always may). */
  candidateMask: 0b111111,
  /** Hysteresis: the same winner this many transfers in a row before a switch. */
  confirm: 3,
};
export type OboeParams = typeof OBOE_PARAMS;

/** One measured transfer: rate (bits/s, TTFB excluded) and its seconds. */
export interface RateSample {
  bps: number;
  sec: number;
}

export const FEATURE_NAMES = ['log2 Mbps', 'cv', 'low share', 'lag-1 autocorrelation', 'lag-2 autocorrelation'] as const;

/**
 * A state's description: log2 of its time-averaged rate (Mbit/s), the coefficient of variation of the transfer rates,
 * the share of transfer time at under 0.3 × the time-averaged rate (the duty cycle of near-zero periods), and the lag-1
 * and lag-2 autocorrelations of the log rates (a fading link drifts: high; an on/off link alternates: low).
 */
export function stateFeatures(samples: readonly RateSample[]): number[] {
  const n = samples.length;
  if (n === 0) return [0, 0, 0, 0, 0];
  let bits = 0;
  let sec = 0;
  for (const s of samples) {
    bits += s.bps * s.sec;
    sec += s.sec;
  }
  const mean = sec > 0 ? bits / sec : 0;
  const rates = samples.map((s) => s.bps);
  const am = rates.reduce((a, b) => a + b, 0) / n;
  const cv = am > 0 ? Math.sqrt(rates.reduce((a, b) => a + (b - am) ** 2, 0) / n) / am : 0;
  const low = sec > 0 ? samples.filter((s) => s.bps < 0.3 * mean).reduce((a, s) => a + s.sec, 0) / sec : 0;
  const logs = rates.map((r) => Math.log(Math.max(r, 1e3)));
  const lm = logs.reduce((a, b) => a + b, 0) / n;
  const autocorrelation = (lag: number): number => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      const d = (logs[i] as number) - lm;
      den += d * d;
      if (i >= lag) num += d * ((logs[i - lag] as number) - lm);
    }
    return den > 1e-9 ? num / den : 0;
  };
  return [Math.log2(Math.max(mean, 1e3) / 1e6), cv, low, autocorrelation(1), autocorrelation(2)];
}

/**
 * Online change-point detection over transfer rates: returns the index (into the samples pushed so far) where the
 * current state began. A change is declared when the mean log rate of the latest `cpRecent` transfers lies more than
 * `cpZ` × max(`cpMinSpread`, the state's earlier spread) from the state's earlier mean; the new state starts at them.
 */
export class ChangePointDetector {
  private readonly logs: number[] = [];
  start = 0;

  constructor(private readonly p: OboeParams = OBOE_PARAMS) {}

  /** Adds one transfer rate; true when it completed a change point. */
  push(bps: number): boolean {
    this.logs.push(Math.log(Math.max(bps, 1e3)));
    const n = this.logs.length;
    const { cpRecent, cpMinBefore, cpZ, cpMinSpread } = this.p;
    if (n - this.start < cpRecent + cpMinBefore) return false;
    const before = this.logs.slice(this.start, n - cpRecent);
    const recent = this.logs.slice(n - cpRecent);
    const mb = before.reduce((a, b) => a + b, 0) / before.length;
    const sd = Math.sqrt(before.reduce((a, b) => a + (b - mb) ** 2, 0) / before.length);
    const mr = recent.reduce((a, b) => a + b, 0) / recent.length;
    if (Math.abs(mr - mb) <= cpZ * Math.max(cpMinSpread, sd)) return false;
    this.start = n - cpRecent;
    return true;
  }
}

/** The table's vote for a state: the candidate index with the best mean gain over the k nearest entries (0 unless it beats `margin`). */
export function lookup(map: OboeMap, features: readonly number[], p: OboeParams = OBOE_PARAMS): number {
  if (map.entries.length === 0) return 0;
  const distance = (f: readonly number[]): number => f.reduce((sum, v, i) => sum + ((v - (features[i] ?? 0)) / (map.scales[i] ?? 1)) ** 2, 0);
  // Ties in distance are broken by table order, so the vote is deterministic.
  const nearest = map.entries
    .map((entry, i) => ({ entry, d: distance(entry.features), i }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, Math.max(1, p.k));
  const candidates = map.entries[0]?.gains.length ?? 0;
  let best = 0;
  let bestGain = p.margin;
  for (let c = 1; c < candidates; c++) {
    if (((p.candidateMask >> c) & 1) === 0) continue;
    const gain = nearest.reduce((sum, { entry }) => sum + (entry.gains[c] ?? 0), 0) / nearest.length;
    const agree = nearest.filter(({ entry }) => (entry.gains[c] ?? 0) > 0).length / nearest.length;
    if (gain > bestGain && agree >= p.minAgree) {
      best = c;
      bestGain = gain;
    }
  }
  return best;
}

export interface OboeControllerOptions extends Omit<LabControllerOptions, 'params'> {
  map?: OboeMap;
  oboe?: Partial<OboeParams>;
  /** Called at every switch with the new candidate's index (for traces and tests). */
  onSwitch?: (candidate: number) => void;
}

export function createOboeController(stream: AbrStream, options: OboeControllerOptions = {}): AbrController & { active(): number } {
  const p: OboeParams = { ...OBOE_PARAMS, ...options.oboe };
  const map = options.map ?? OBOE_MAP;
  const { map: _map, oboe: _oboe, onSwitch, name, ...shared } = options;
  const controllers = OBOE_CANDIDATES.map((c) => createLabController(stream, { ...shared, params: c.params }));
  const detector = new ChangePointDetector(p);
  const samples: RateSample[] = [];
  let active = 0;
  let proposal = 0;
  let streak = 0;
  const current = (): AbrController => controllers[active] as AbrController;

  const observe = (sample: RateSample): void => {
    samples.push(sample);
    detector.push(sample.bps);
    const from = Math.max(detector.start, samples.length - p.maxStateSamples);
    if (samples.length - from < p.minStateSamples) return;
    const vote = lookup(map, stateFeatures(samples.slice(from)), p);
    streak = vote === proposal ? streak + 1 : 1;
    proposal = vote;
    if (vote !== active && streak >= p.confirm) {
      active = vote;
      onSwitch?.(vote);
    }
  };

  return {
    name: name ?? 'platform-oboe',
    active: () => active,
    chooseLevel: (decision) => current().chooseLevel(decision),
    onDownloaded(sample) {
      for (const c of controllers) c.onDownloaded(sample);
      const sec = Math.max(sample.durationSec - sample.ttfbSec, 1e-3);
      observe({ bps: sample.bits / sec, sec });
    },
    onProgress(progress) {
      // Every candidate sees the progress (an abandon it would make records the rate it saw); the active one decides.
      let decided: number | null = null;
      controllers.forEach((c, i) => {
        const out = c.onProgress?.(progress) ?? null;
        if (i === active) decided = out;
      });
      return decided;
    },
    bandwidthEstimate: () => current().bandwidthEstimate(),
    exportState: (nowMs) => current().exportState?.(nowMs) ?? null,
  };
}

import { HarmonicWindow, TimeWeightedWindow } from './estimators';
import { PLATFORM_PARAMS, type PlatformParams } from './platform-params';
import { planRobust } from './robust-mpc';
import type { AbrController, AbrDecision, AbrStream, DownloadProgress, DownloadSample, PersistedAbrState } from './types';

export interface PlatformControllerOptions {
  /** State saved by `exportState` on the viewer's earlier visit (the adapter reads it from localStorage). */
  persisted?: PersistedAbrState | null;
  /** Wall-clock now, ms, to judge the persisted state's age. */
  nowMs?: number;
  /**
   * `navigator.connection.downlink` in bits/s where the browser has the Network Information API (Chromium): its
   * estimate of the link from the browser's recent transfers, rounded and capped at 10 Mbit/s. Used before the first
   * download when there is no (fresh) persisted estimate, discounted like one.
   */
  downlinkBps?: number | null;
  /** Overrides of PLATFORM_PARAMS (the player uses the defaults). */
  params?: Partial<PlatformParams>;
  /** The controller's name in reports (default `platform`). */
  name?: string;
}

/** What one transfer added to the estimators: its bits, seconds and rate, and the short estimate made before it. */
export interface Transfer {
  bits: number;
  seconds: number;
  bps: number;
  before: number | null;
}

/**
 * The platform's controller: model-predictive control over a short horizon (RobustMPC, Yin et al., "A
 * Control-Theoretic Approach for Dynamic Adaptive Video Streaming over HTTP", SIGCOMM 2015), plus an emergency
 * abandon rule and a stored estimate for returning viewers.
 *
 * Decision: enumerate every rung sequence for the next `horizon` segments, simulate the buffer under the predicted
 * throughput (TTFB + bits / throughput per segment, buffer capped at the player's maximum), and score each plan with
 * the QoE it is judged by (Mbps of each segment − `rebufferPenalty` × stall seconds − `switchPenalty` × |Mbps
 * change|). Take the first rung of the best plan; plan again at every segment. Plans ending under
 * `terminalBufferSec` of buffer pay for the shortfall as stall (plain MPC cannot see a stall just past its horizon).
 *
 * Prediction: the harmonic mean of the last `estimateWindow` transfer rates, divided by (1 + the largest relative
 * error that estimate made over the last `errorWindow` transfers, each error capped at `errorCap`), the discount
 * shrinking as the buffer fills (`bufferRelax`). With buffer in hand the estimate never drops below the last
 * `longWindow` transfers' throughput × the buffer's fill fraction, so one slow transfer or abandon does not send a
 * full buffer down to the lowest rung. Before the first transfer: a returning viewer's stored estimate, else the
 * browser's downlink hint, each discounted as if it had been `persistedPriorError` wrong; else the lowest rung.
 *
 * Emergency abandon: from `abandonMinElapsedSec` into a download, if at the rate it is achieving the segment will
 * finish after the buffer runs dry, it is requested again at the highest lower rung that arrives in time (or the
 * lowest, if that still beats finishing), and the observed rate enters the estimate.
 *
 * How the defaults were chosen, and the options measured and not shipped, are in docs/abr.md; the lab
 * (abr/lab/controllers/lab-platform.ts) extends this class with them. The config is in platform-params.ts, the
 * planner's search in robust-mpc.ts.
 */
export class PlatformController implements AbrController {
  readonly name: string;
  protected readonly p: PlatformParams;
  protected readonly stream: AbrStream;
  /** Rates of the short estimate. */
  protected readonly harmonic: HarmonicWindow;
  /** Transfers of the long-run floor. */
  protected readonly long: TimeWeightedWindow;
  /** Relative errors of the latest predictions, oldest first. */
  protected readonly errors: number[] = [];
  /** Mean time to first byte, seconds: every planned download pays it. */
  protected ttfbSec = 0;
  private ttfbSamples = 0;
  /** The short estimate after the latest transfer (what `exportState` stores). */
  private lastPrediction: number | null = null;
  /** Before the first transfer: the stored estimate or downlink hint, already discounted; then null. */
  protected prior: number | null;
  /** (elapsed s, bits loaded) of the download in flight, for its recent rate; reset when a new download starts. */
  private progressLog: Array<{ at: number; bits: number }> = [];
  private progressKey = '';

  constructor(stream: AbrStream, options: PlatformControllerOptions = {}) {
    const p: PlatformParams = { ...PLATFORM_PARAMS, ...options.params };
    this.name = options.name ?? 'platform';
    this.p = p;
    this.stream = stream;
    this.harmonic = new HarmonicWindow(p.estimateWindow);
    this.long = new TimeWeightedWindow(Math.max(1, p.longWindow));
    const persisted = options.persisted;
    this.prior =
      persisted &&
      persisted.bandwidthBps > 0 &&
      Number.isFinite(persisted.bandwidthBps) &&
      (options.nowMs ?? persisted.savedAtMs) - persisted.savedAtMs <= p.persistedMaxAgeMs
        ? persisted.bandwidthBps / (1 + p.persistedPriorError)
        : options.downlinkBps && options.downlinkBps > 0 && Number.isFinite(options.downlinkBps)
          ? options.downlinkBps / (1 + p.persistedPriorError)
          : null;
  }

  /** The short estimate: the harmonic mean of the latest transfer rates (null before the first). */
  protected shortMean(): number | null {
    return this.harmonic.mean();
  }

  /** How full the buffer is, 0..1. */
  protected fill(bufferSec: number): number {
    return Math.min(1, bufferSec / this.stream.maxBufferSec);
  }

  /** The largest relative error of the recent predictions (0 before any). */
  protected largestError(): number {
    return Math.max(0, ...this.errors);
  }

  /** The short estimate discounted by how wrong it has recently been, the discount relaxed as the buffer fills. */
  protected discounted(mean: number, bufferSec: number): number {
    return mean / (1 + this.p.errorScale * (1 - this.p.bufferRelax * this.fill(bufferSec)) * this.largestError());
  }

  /** The long-run floor at this buffer, or null (off, or nothing measured). */
  protected longFloor(bufferSec: number): number | null {
    const longMean = this.p.longWindow > 0 ? this.long.mean() : null;
    return longMean === null ? null : longMean * this.fill(bufferSec);
  }

  /** The rate the planner plans with at this buffer, bits/s; null when nothing is known. */
  estimate(bufferSec = 0): number | null {
    const mean = this.shortMean();
    if (mean === null) return this.prior;
    const robust = this.discounted(mean, bufferSec);
    const floor = this.longFloor(bufferSec);
    return floor === null ? robust : Math.max(robust, floor);
  }

  /** The short estimate each new rate is judged against (the discount's errors). */
  protected errorBaseline(): number | null {
    return this.harmonic.mean();
  }

  /** Relative error of a prediction `before` against the rate that came. */
  protected errorOf(before: number, bps: number): number {
    return Math.min(this.p.errorCap, Math.abs(before - bps) / bps);
  }

  /** Feeds one transfer rate to the estimators. */
  protected observe(transfer: Transfer): void {
    this.harmonic.push(transfer.bps);
    this.long.push(transfer.bits, transfer.seconds);
  }

  private recordRate(bits: number, seconds: number): void {
    this.prior = null;
    const bps = bits / seconds;
    const before = this.errorBaseline();
    if (before !== null) {
      this.errors.push(this.errorOf(before, bps));
      if (this.errors.length > this.p.errorWindow) this.errors.shift();
    }
    this.observe({ bits, seconds, bps, before });
    this.lastPrediction = this.shortMean();
  }

  /** Segments the planner looks ahead at this decision. */
  protected steps(decision: AbrDecision): number {
    return Math.max(1, Math.min(this.p.horizon, decision.segmentsLeft ?? this.p.horizon));
  }

  /** The terminal cost of a plan: its buffer target, seconds, and weight. */
  protected terminalCost(_decision: AbrDecision, _steps: number): { sec: number; weight: number } {
    return { sec: this.p.terminalBufferSec, weight: this.p.terminalWeight };
  }

  /** The best first rung over the horizon against the throughput scenarios `bandwidths` (abr/robust-mpc.ts). */
  protected plan(decision: AbrDecision, bandwidths: readonly number[]): number {
    const steps = this.steps(decision);
    return planRobust({
      stream: this.stream,
      decision,
      bandwidths,
      steps,
      ttfbSec: this.ttfbSec,
      terminal: this.terminalCost(decision, steps),
      rebufferPenalty: this.p.rebufferPenalty,
      switchPenalty: this.p.switchPenalty,
    });
  }

  chooseLevel(decision: AbrDecision): number {
    const bandwidth = this.estimate(decision.bufferSec);
    // Nothing known (first-time viewer, first segment): the lowest rung starts fastest.
    if (bandwidth === null) return 0;
    return this.plan(decision, [bandwidth]);
  }

  onDownloaded(sample: DownloadSample): void {
    // Running mean of the TTFB that turns into a moving average over ~5 requests once the count saturates.
    this.ttfbSec = (this.ttfbSec * this.ttfbSamples + sample.ttfbSec) / (this.ttfbSamples + 1);
    this.ttfbSamples = Math.min(this.ttfbSamples + 1, this.p.estimateWindow - 1);
    const transfer = Math.max(sample.durationSec - sample.ttfbSec, 1e-3);
    this.recordRate(sample.bits, transfer);
  }

  onProgress(progress: DownloadProgress): number | null {
    const { stream, p, ttfbSec } = this;
    if (progress.level <= 0 || progress.bitsLoaded >= progress.bitsTotal) return null;
    if (progress.elapsedSec < Math.max(p.abandonMinElapsedSec, 2 * ttfbSec)) return null;
    // Bytes so far over time so far: a stalled download (nothing yet) is credited one 1500-byte packet.
    const streamingSec = Math.max(progress.elapsedSec - ttfbSec, 1e-3);
    // …or, with a rate window, the bytes of the last `abandonRateWindowSec` over that time, once that much is seen.
    const key = `${progress.segmentIndex}:${progress.level}`;
    if (key !== this.progressKey || this.progressLog.some((e) => e.at > progress.elapsedSec)) this.progressLog = [];
    this.progressKey = key;
    const log = this.progressLog;
    log.push({ at: progress.elapsedSec, bits: progress.bitsLoaded });
    const window = p.abandonRateWindowSec;
    while (log.length > 2 && (log[1] as { at: number }).at <= progress.elapsedSec - window) log.shift();
    const oldest = log[0] as { at: number; bits: number };
    const span = progress.elapsedSec - oldest.at;
    const recent = window > 0 && span >= window * 0.9;
    const sampleBits = recent ? Math.max(progress.bitsLoaded - oldest.bits, 12_000) : Math.max(progress.bitsLoaded, 12_000);
    const sampleSec = recent ? span : streamingSec;
    const rate = sampleBits / sampleSec;
    const finishSec = (progress.bitsTotal - progress.bitsLoaded) / rate;
    if (finishSec <= progress.bufferSec) return null;
    const freshSec = (level: number): number => ttfbSec + ((stream.bitrates[level] ?? 0) * stream.segmentDurationSec) / rate;
    let target = -1;
    for (let level = progress.level - 1; level >= 0; level--) {
      if (freshSec(level) <= progress.bufferSec) {
        target = level;
        break;
      }
    }
    if (target < 0 && freshSec(0) < finishSec) target = 0;
    if (target < 0) return null;
    // Before playback (nothing measured yet: the pick came from a stored or downlink estimate) the empty buffer is
    // not draining: every rung "finishes after the buffer runs dry". There the trade is startup seconds at the stall
    // weight against the rung's bitrate, as the planner made it: keep the download unless the seconds saved by
    // fetching lower outweigh the bitrate given up.
    if (this.shortMean() === null) {
      const saved = finishSec - freshSec(target);
      const givenUp = ((stream.bitrates[progress.level] ?? 0) - (stream.bitrates[target] ?? 0)) / 1e6;
      if (p.rebufferPenalty * saved <= givenUp) return null;
    }
    this.recordRate(sampleBits, sampleSec);
    return target;
  }

  bandwidthEstimate(): number | null {
    return this.estimate();
  }

  exportState(nowMs: number): PersistedAbrState | null {
    const mean = this.lastPrediction ?? this.shortMean();
    return mean === null ? null : { bandwidthBps: mean, savedAtMs: nowMs };
  }
}

export function createPlatformController(stream: AbrStream, options: PlatformControllerOptions = {}): PlatformController {
  return new PlatformController(stream, options);
}

/**
 * The platform controller with the lab's options (lab-params.ts): the shipped `PlatformController` (abr/platform.ts)
 * extended through its protected steps, so the shipped arithmetic is shared, not copied. With no overrides it makes
 * the shipped controller's decisions exactly (test/node/abr-controllers.test.ts checks it on every shared trace).
 */
import { TimeWeightedWindow } from '../../estimators';
import { PlatformController, type PlatformControllerOptions, type Transfer } from '../../platform';
import { capLevel, segmentBitsOf, type AbrDecision, type AbrStream, type DownloadSample } from '../../types';
import { learnedModel, IMITATION_MODEL } from '../models/committed';
import { createImitationPolicy } from '../models/imitation';
import { featuresOf, predictDistribution, quantileZ, TransferLog, type LearnedWeights } from '../models/learned-predictor';
import { LAB_PARAMS, type LabParams } from './lab-params';
import { ReferenceGuards } from './reference-guards';
import { planStochastic, type ThroughputSample } from './stochastic-mpc';
import { FallingTrend, HoltTrend } from './trend';

export interface LabControllerOptions extends Omit<PlatformControllerOptions, 'params'> {
  /** Overrides of LAB_PARAMS. */
  params?: Partial<LabParams>;
  /**
   * Observer for the learned predictor's training data (abr/lab/train/learn.ts): the predictor's inputs at every
   * decision (null before the first transfer) and every transfer rate the controller records (completed or abandoned).
   */
  probe?: {
    /** `ref`: the 3-transfer harmonic mean the model's bins are relative to; `estimate`: the rate the planner would use. */
    decision(features: number[] | null, ref: number | null, estimate: number): void;
    transfer(bps: number, seconds: number): void;
  };
  /** Replaces the estimate the RobustMPC planner plans with (training of the imitation model, abr/lab/train/imitate.ts). */
  adjustEstimate?: (estimate: number, decision: AbrDecision) => number;
}

/** A recent transfer for the stochastic planner's distribution; `ratio` and `centerRatio` = actual / predicted rate. */
interface HistoryEntry {
  bps: number;
  seconds: number;
  ratio: number;
  centerRatio: number;
}

export class LabPlatformController extends PlatformController {
  private readonly params: LabParams;
  private readonly timed: TimeWeightedWindow;
  private readonly trend: FallingTrend;
  private readonly holt: HoltTrend;
  private readonly guards: ReferenceGuards;
  /** The learned predictor's view of the transfers (every recorded rate, like the estimators'). */
  private readonly transferLog = new TransferLog();
  private readonly learnedWeights: LearnedWeights | null;
  private readonly imitation: ReturnType<typeof createImitationPolicy> | null;
  private readonly adjustEstimate: ((estimate: number, decision: AbrDecision) => number) | null;
  private readonly probe: LabControllerOptions['probe'];
  private readonly history: HistoryEntry[] = [];
  /** The stochastic planner's centre (undiscounted estimate with the long-run floor) at the latest decision. */
  private lastCenter: number | null = null;

  constructor(stream: AbrStream, options: LabControllerOptions = {}) {
    const params: LabParams = { ...LAB_PARAMS, ...options.params };
    super(stream, { ...options, params });
    const p = params;
    this.params = p;
    this.timed = new TimeWeightedWindow(p.estimateWindow);
    this.trend = new FallingTrend(Math.max(p.trendWindow, p.fadeK, 2), p.trendFloor);
    this.holt = new HoltTrend(p.holtAlpha, p.holtBeta, p.trendFloor);
    this.guards = new ReferenceGuards(stream, p, () => this.harmonic.recent().at(-1) ?? null);
    this.learnedWeights = p.learnedQuantile > 0 || p.learnedDist ? learnedModel(p.learnedModel) : null;
    this.imitation = p.imitation ? createImitationPolicy(stream, IMITATION_MODEL) : null;
    this.adjustEstimate = options.adjustEstimate ?? (this.imitation ? this.imitation.adjust : null);
    this.probe = options.probe;
  }

  /** The recent mean before any trend: time-weighted or harmonic. */
  private plainMean(): number | null {
    return this.params.timeWeighted ? this.timed.mean() : this.harmonic.mean();
  }

  /** The recent mean, lowered by a falling trend or a fade when those options are on. */
  protected override shortMean(): number | null {
    const p = this.params;
    const mean = this.plainMean();
    if (mean === null) return null;
    let estimate = mean;
    if (p.trendWindow >= 2) {
      const falling = this.trend.predict(p.trendAheadSec, p.trendPerTransfer === 1, p.trendMinR2);
      if (falling !== null) estimate = Math.min(estimate, falling);
    }
    if (p.holtAlpha > 0) {
      const falling = this.holt.predict(1);
      if (falling !== null) estimate = Math.min(estimate, falling);
    }
    if (p.fadeK >= 2 && this.trend.falling(p.fadeK)) estimate = Math.min(estimate, this.trend.latest() ?? estimate);
    return estimate;
  }

  protected override largestError(): number {
    return Math.max(this.errors.length < 2 ? this.params.coldStartError : 0, ...this.errors);
  }

  private learnedQuantileAt(bufferSec: number): number {
    const p = this.params;
    const full = p.learnedQuantileFull > 0 ? p.learnedQuantileFull : p.learnedQuantile;
    return p.learnedQuantile + (full - p.learnedQuantile) * this.fill(bufferSec);
  }

  protected override discounted(mean: number, bufferSec: number): number {
    const p = this.params;
    // With `trendRelax`, a full buffer takes back part of the trend's lowering.
    const plain = this.plainMean() ?? mean;
    const shipped = super.discounted(mean + p.trendRelax * this.fill(bufferSec) * (plain - mean), bufferSec);
    const weights = this.learnedWeights;
    const learned = weights && p.learnedQuantile > 0 ? predictDistribution(this.transferLog, bufferSec, this.stream.maxBufferSec, weights) : null;
    const quantile = learned && weights ? learned.ref * Math.exp(quantileZ(learned.probs, this.learnedQuantileAt(bufferSec), weights)) : null;
    const discounted = quantile === null ? shipped : p.learnedCap ? Math.min(shipped, quantile) : quantile;
    return p.ensembleAfterFloor ? discounted : this.guards.ensemble(discounted);
  }

  protected override longFloor(bufferSec: number): number | null {
    const p = this.params;
    const floor = super.longFloor(bufferSec);
    if (floor === null || !(p.trendCapsFloor && p.trendWindow >= 2)) return floor;
    return Math.min(floor, this.trend.predict(p.trendAheadSec, p.trendPerTransfer === 1, p.trendMinR2) ?? floor);
  }

  override estimate(bufferSec = 0): number | null {
    const estimate = super.estimate(bufferSec);
    return this.params.ensembleAfterFloor && estimate !== null && this.shortMean() !== null ? this.guards.ensemble(estimate) : estimate;
  }

  protected override errorBaseline(): number | null {
    return this.params.trendErrors ? this.shortMean() : this.plainMean();
  }

  protected override errorOf(before: number, bps: number): number {
    return this.params.errorOverOnly && before <= bps ? 0 : super.errorOf(before, bps);
  }

  protected override observe(transfer: Transfer): void {
    const { bits, seconds, bps, before } = transfer;
    if (Number.isFinite(bps) && bps > 0) {
      const center = this.lastCenter;
      this.history.push({ bps, seconds, ratio: before !== null && before > 0 ? bps / before : 1, centerRatio: center !== null && center > 0 ? bps / center : 1 });
      if (this.history.length > Math.max(1, this.params.stochWindow)) this.history.shift();
    }
    super.observe(transfer);
    this.transferLog.push(bits, seconds);
    this.probe?.transfer(bps, seconds);
    this.trend.push(bps, seconds);
    this.holt.push(bps);
    this.timed.push(bits, seconds);
  }

  protected override terminalCost(decision: AbrDecision, steps: number): { sec: number; weight: number } {
    const p = this.params;
    const atEnd = decision.segmentsLeft !== undefined && decision.segmentsLeft <= steps;
    return {
      sec: p.terminalBufferSec + (p.terminalCvSec > 0 ? p.terminalCvSec * Math.min(1, this.guards.recentCv()) : 0),
      weight: !p.terminalAtEnd && atEnd ? 0 : p.terminalWeight,
    };
  }

  /** The undiscounted short estimate with the long-run floor (the stochastic planner's centre with `stochMode` 2). */
  private centerOf(bufferSec: number): number | null {
    const short = this.shortMean();
    if (short === null) return this.prior;
    const longMean = this.params.longWindow > 0 ? this.long.mean() : null;
    return longMean === null ? short : Math.max(short, longMean * this.fill(bufferSec));
  }

  /** The stochastic planner's distribution: the recent transfers (or the estimate × their errors), weighted. */
  private distribution(bufferSec: number): ThroughputSample[] {
    const p = this.params;
    const center = p.stochMode === 2 ? this.centerOf(bufferSec) : this.shortMean();
    const n = this.history.length;
    return this.history.map((h, i) => {
      const age = n - 1 - i;
      const recency = p.stochHalfLife > 0 ? Math.pow(0.5, age / p.stochHalfLife) : 1;
      const bps = center === null || !p.stochMode ? h.bps : center * (p.stochMode === 2 ? h.centerRatio : h.ratio);
      return { bps, weight: recency * (p.stochTimeWeight ? h.seconds : 1) };
    });
  }

  private planExpected(decision: AbrDecision, samples: ThroughputSample[], persistFromLast = true): number {
    const { stream, params: p } = this;
    const steps = this.steps(decision);
    const terminal = this.terminalCost(decision, steps);
    return planStochastic({
      bufferSec: decision.bufferSec,
      lastLevel: decision.lastLevel,
      utilities: stream.bitrates.map((b) => b / 1e6),
      maxLevel: capLevel(stream, decision),
      segmentDurationSec: stream.segmentDurationSec,
      maxBufferSec: stream.maxBufferSec,
      steps,
      bits: (step, level) => segmentBitsOf(stream, decision, level, decision.segmentIndex + step),
      ttfbSec: this.ttfbSec,
      samples,
      rebufferPenalty: p.rebufferPenalty,
      switchPenalty: p.switchPenalty,
      terminalBufferSec: p.terminalBufferSec,
      terminalWeight: terminal.weight,
      bufferStepSec: p.stochGridSec,
      abandonAfterSec: p.stochAbandonModel ? (p.stochAbandonSec > 0 ? p.stochAbandonSec : p.abandonMinElapsedSec) : 0,
      persistence: p.stochPersist,
      currentSample: p.stochPersistFromLast && persistFromLast ? samples.length - 1 : undefined,
    }).level;
  }

  override chooseLevel(decision: AbrDecision): number {
    const p = this.params;
    const bandwidth = this.estimate(decision.bufferSec);
    if (bandwidth === null) return 0;
    this.lastCenter = this.centerOf(decision.bufferSec);
    this.probe?.decision(featuresOf(this.transferLog, decision.bufferSec, this.stream.maxBufferSec), this.transferLog.harmonic(3), bandwidth);
    if (p.stochastic && p.learnedDist && this.learnedWeights) {
      const learned = predictDistribution(this.transferLog, decision.bufferSec, this.stream.maxBufferSec, this.learnedWeights);
      if (learned) return this.planExpected(decision, learned.bps.map((bps, i) => ({ bps, weight: learned.probs[i] as number })), false);
    }
    if (p.stochastic && p.stochMode === 3) return this.planExpected(decision, [{ bps: bandwidth, weight: 1 }]);
    if (p.stochastic) return this.planExpected(decision, this.history.length ? this.distribution(decision.bufferSec) : [{ bps: bandwidth, weight: 1 }]);
    const recent = p.scenarios ? this.harmonic.recent() : [];
    const planned = this.adjustEstimate ? this.adjustEstimate(bandwidth, decision) : bandwidth;
    return this.guards.guarded(decision, this.plan(decision, recent.length >= 2 ? recent : [planned]));
  }

  override onDownloaded(sample: DownloadSample): void {
    super.onDownloaded(sample);
    this.imitation?.push(sample);
    this.guards.onDownloaded(sample);
  }
}

export function createLabController(stream: AbrStream, options: LabControllerOptions = {}): LabPlatformController {
  return new LabPlatformController(stream, options);
}

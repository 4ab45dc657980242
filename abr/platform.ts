import { FallingTrend, HarmonicWindow, HoltTrend, TimeWeightedWindow } from './estimators';
import { planStochastic, type ThroughputSample } from './stochastic-mpc';
import { featuresOf, learnedModel, predictDistribution, quantileZ, TransferLog } from './learned-predictor';
import { HARMONIC_MEAN_PARAMS } from './harmonic-mean';
import { createImitationPolicy } from './imitation';
import { abrModel } from './models';
import { capLevel, highestRungUnder, segmentBitsOf, type AbrController, type AbrDecision, type AbrStream, type PersistedAbrState } from './types';

/**
 * The platform's controller: model-predictive control over a short horizon (RobustMPC, Yin et al., "A
 * Control-Theoretic Approach for Dynamic Adaptive Video Streaming over HTTP", SIGCOMM 2015), plus an emergency
 * abandon rule and a persisted estimate for returning viewers.
 *
 * Decision: enumerate every rung sequence for the next `horizon` segments, simulate the buffer under the predicted
 * throughput (TTFB + bits / throughput per segment, buffer capped at the player's maximum), and score each plan with the
 * very QoE we are judged by (Mbps of each segment − 4.3 × stall seconds − |Mbps change|). Take the first rung of the
 * best plan, re-plan at every segment. Buffer and throughput are therefore weighed against each other by the QoE
 * itself instead of by hand-set thresholds.
 *
 * Prediction (the "robust" part): harmonic mean of the last 3 transfer rates, divided by (1 + the largest relative
 * error that estimate made over the last 5 segments, each error capped at 100 %, the whole discount shrinking as the
 * buffer fills). Steady networks get their full rate; jittery ones are discounted by how wrong we have recently
 * been, but one near-zero sample cannot divide the estimate by 100, and a full buffer (where a wrong estimate costs a
 * later switch, not a stall) is not planned like an empty one. Plans ending under 12 s of buffer pay for the
 * shortfall as stall (a terminal cost: plain MPC cannot see a stall just past its horizon). With buffer in hand the
 * estimate never drops below the last 10 transfers' throughput × the buffer's fill fraction (a long-run floor: one
 * slow transfer or abandon no longer sends a full buffer down to the lowest rung; #17 round three, docs/abr.md).
 *
 * Parameters: horizon 5 and error window 5 are RobustMPC's; rebuffer penalty 4.3 and switch penalty 1 per Mbps are
 * QoE_lin's own weights. Estimate window 3, error cap 1, buffer relax 1 and terminal buffer 12 s were picked on a
 * 32-setting grid over the shared traces as a fraction of the offline optimum, and checked by leave-one-family-out
 * (`npm run abr:tune -- --lofo`; docs/abr.md). The others:
 * - rebuffer penalty 4.3 and switch penalty 1 per Mbps: QoE_lin's own weights (Pensieve / MPC);
 * - PERSISTED_PRIOR_ERROR 0.5: a stored estimate from an earlier session is trusted like an estimate that was
 *   recently 50 % off (first pick uses 2/3 of it), and is ignored after PERSISTED_MAX_AGE_MS (a day: the viewer has
 *   likely changed network). It only stands in until this session's first measurement, which replaces it: kept in
 *   the 5-sample harmonic mean, a stale low prior (yesterday's slow network) held a fast link's estimate down for
 *   five segments, the whole of a short clip;
 * - emergency abandon, checked from ABANDON_MIN_ELAPSED_SEC into a download: if, at the rate it is achieving, the
 *   segment will finish after the buffer runs dry, re-request it at the highest lower rung that would arrive in
 *   time (or the lowest, if that still beats finishing), and record the observed rate so the next plans see the drop.
 */
export const PLATFORM_PARAMS = {
  horizon: 5,
  estimateWindow: 3,
  errorWindow: 5,
  rebufferPenalty: 4.3,
  switchPenalty: 1,
  persistedPriorError: 0.5,
  persistedMaxAgeMs: 24 * 3600 * 1000,
  abandonMinElapsedSec: 1,
  /** Discount = 1 + errorScale × the largest recent relative error (RobustMPC: 1). */
  errorScale: 1,
  /** Terminal cost: a plan ending with less than this much buffer pays for the shortfall as if it were stall… */
  terminalBufferSec: 12,
  /** …weighted by this (0 = plain RobustMPC, which is blind to stalls just past its horizon). */
  terminalWeight: 1,
  /** 0..1: how much of the error discount a full buffer removes (0 = RobustMPC). */
  bufferRelax: 1,
  /** Cap on one relative prediction error (Infinity = RobustMPC: a near-zero sample makes the discount explode). */
  errorCap: 1,
  /** 1: estimate = Σ bits / Σ seconds of the last transfers; 0: harmonic mean of their rates (RobustMPC). */
  timeWeighted: 0,
  /** 1: plan against each recent transfer rate as a scenario (mean QoE) instead of one robust estimate. */
  scenarios: 0,
  /**
   * Relative error assumed while fewer than two prediction errors have been measured (RobustMPC: 0, i.e. the first
   * samples are trusted as if they had never been wrong, which is when a cold start is most likely to overshoot).
   */
  coldStartError: 0,
  /**
   * The emergency rule judges a download by its rate over this many recent seconds (0: since the request began). A
   * link that collapses mid-download shows at once in the recent rate, while the whole-download average lags it: on
   * hsdpa/bus…2011 the average noticed a fade 12 s late, with 4.6 s of buffer left, and the session stalled.
   * 10 s: only a download that has run for 9 s or more is judged by its recent rate, so ordinary downloads are judged
   * as before (windows of 1–8 s abandoned LTE's big segments on momentary dips: lte4g and puffer lost up to 0.06 and
   * 0.17 of oracle headroom), and a long one whose link collapsed after a fast start (bench abr-player, puffer: a
   * 720p download of 18.7 s, its first seconds at ~3 Mbit/s) no longer hides the collapse behind its early average.
   * `npm run abr:sim`: identical on every family but puffer, where one session gains 1.1 QoE_lin; nothing worse.
   */
  abandonRateWindowSec: 10,
  /**
   * Long-run floor: the estimate is at least Σ bits / Σ seconds of the last `longWindow` transfers × the buffer's fill
   * fraction (0: off, RobustMPC). The 3-sample harmonic mean collapses after one slow transfer or abandon (to 0.02
   * Mbit/s on puffer/traceO00C54 with 24 s buffered, which then fetched 240p for five segments); with the buffer full
   * the longer view is the better bet, and with it empty the floor vanishes and the short robust estimate rules.
   */
  longWindow: 10,
  /**
   * 1: pick the rung by stochastic MPC (stochastic-mpc.ts, the non-learned Fugu): the expected QoE_lin over the
   * empirical distribution of recent transfer rates, by value iteration on a buffer grid, instead of RobustMPC's
   * tree search against one discounted estimate. The estimate, abandon rule and startup hints are the same.
   */
  stochastic: 0,
  /** Stochastic: how many recent transfers form the throughput distribution. */
  stochWindow: 16,
  /** Stochastic: half-life of a sample's weight, in transfers (0: every sample weighs the same). */
  stochHalfLife: 0,
  /** Stochastic: 1 = each sample also weighs by its transfer seconds (a time average of the link); 0 = per transfer. */
  stochTimeWeight: 0,
  /**
   * Stochastic: 0 = the samples are the recent rates themselves; 1 = the current short estimate × each recent
   * transfer's actual / predicted ratio (the distribution of how wrong the estimate has been, re-centred on it now);
   * 2 = the same around the undiscounted estimate with the long-run floor (what the platform's planner starts from);
   * 3 = one point, the platform's own robust estimate (a check: the value iteration then reproduces RobustMPC).
   */
  stochMode: 0,
  /** Stochastic: buffer grid of the value iteration, seconds. */
  stochGridSec: 0.25,
  /** Stochastic: 1 = the planner models the emergency abandon (a would-be stall is cut after abandonMinElapsedSec). */
  stochAbandonModel: 1,
  /** Stochastic: probability that a segment sees the previous segment's rate again (0: independent draws). */
  stochPersist: 0,
  /** Stochastic: 1 = the first step persists from the latest transfer's rate; 0 = it is drawn from the distribution. */
  stochPersistFromLast: 1,
  /**
   * 0: no terminal cost when the horizon reaches the video's last segment (nothing after it can stall). Better in the
   * simulator in every view (held out 0.885 vs 0.881 headroom), but in one real-player run the controller's end-of-video
   * climbs met hls.js's re-fetch of a buffered segment on the next down-switch; not shipped (docs/abr.md, round four).
   */
  terminalAtEnd: 1,
  /**
   * Trend (#17 round four, continued; 0 = off): the least-squares slope of the last `trendWindow` transfer rates against transfer
   * time. When it is negative, the short estimate is min(harmonic mean, the line extrapolated `trendAheadSec` past the
   * latest transfer, floored at `trendFloor` × the latest rate); a rising line is not extrapolated upward. A fading
   * link is a trend that a window of recent rates lags (docs/abr.md "Fourth round"). These trend options are off: on
   * the shared traces each helps hsdpa on some traces and costs the non-fading families, and none beats the shipped
   * estimator held out (docs/abr.md "Round four, continued").
   */
  trendWindow: 0,
  trendAheadSec: 3,
  trendFloor: 0.5,
  /** The trend counts only when the fitted line explains at least this share of the rates' variance (r²; 0: any fall). */
  trendMinR2: 0,
  /** 1: the long-run floor is itself capped by a falling trend's prediction (else a full buffer ignores the fade). */
  trendCapsFloor: 0,
  /** 1: the trend's axis is the transfer index and `trendAheadSec` counts transfers (0: seconds of transfer). */
  trendPerTransfer: 0,
  /** 1: the discount's errors are measured against the trend-lowered estimate; 0: against the plain recent mean (the discount keeps RobustMPC's meaning). */
  trendErrors: 0,
  /** Holt's linear smoothing as the trend (0 = off; else its α): falling → min(harmonic mean, level + trend one transfer ahead, floored at `trendFloor` × the latest rate). */
  holtAlpha: 0,
  holtBeta: 0.3,
  /** 0..1: how much of the trend's (and fade detector's) lowering a full buffer removes, like `bufferRelax` for the discount (0: the full lowering at any buffer). */
  trendRelax: 0,
  /** Fade detector (0 = off): when the last `fadeK` transfers each came slower than the one before, the short estimate is min(harmonic mean, the latest rate). */
  fadeK: 0,
  /** 1: only over-predictions (estimate above the rate that came) count as errors in the discount; 0: both directions (RobustMPC). */
  errorOverOnly: 0,
  /**
   * Safety guard (#17 round five; 0 = off): while the buffer is under `guardBufferSec`, the rung is at most the
   * reference rule's (harmonic mean of the last 5 whole-request rates × 0.8, × 0.5 under 10 s of buffer; the rule whose
   * hsdpa rebuffering the issue sets as the bar). The reference rule's own estimate is kept for this, apart from the
   * platform's (whole requests including TTFB, completed downloads only, as that rule measures them). This and the
   * round-five options below (rate cap, volatility reserve, deadline, ensemble) are off: held out none brings hsdpa's
   * rebuffering down to the reference rule's, and the one that comes closest (the volatility reserve) costs puffer and
   * the overall fraction (docs/abr.md "Fifth round").
   */
  guardBufferSec: 0,
  /** Guard on a fade (0 = off): also cap at the reference rule's rung while the latest whole-request rate is under this fraction of the harmonic mean of the ones before it (up to 5). */
  guardFadeRatio: 0,
  /**
   * Rate cap (0 = off): at any buffer, the rung's bitrate is at most (`capSafety` + `capRelax` × the buffer's fill
   * fraction) × the reference rule's estimate (harmonic mean of the last 5 whole-request rates): the margin the
   * reference rule keeps between the rung and the link, which the planner gives up as the buffer fills.
   */
  capSafety: 0,
  capRelax: 0,
  /**
   * Volatility reserve (0 = off): the terminal buffer target grows by this many seconds × the coefficient of variation
   * of the last 5 whole-request rates (capped at 1), so a jittery link is planned to end its horizon with more buffer.
   */
  terminalCvSec: 0,
  /** Guard on variance (0 = off): also cap at the reference rule's rung while the coefficient of variation of the last 5 whole-request rates is above this. */
  guardCv: 0,
  /**
   * Download-time deadline (0 = off): when the latest completed download (request to last byte) took longer than
   * `deadlineFactor` × the segment duration (the buffer shrank while it ran), the next rung is at most the previous
   * one minus `deadlineStep` — a downshift of the next request, not an abandon of the current one — while the buffer
   * is under `deadlineBufferSec` (0: at any buffer).
   */
  deadlineFactor: 0,
  deadlineStep: 1,
  deadlineBufferSec: 0,
  /**
   * Ensemble of two predictors (0 = off): when the robust estimate is more than this factor above a second predictor,
   * the second (the more conservative) is planned with; it never raises the estimate. The second predictor: `ensembleWith` 0 = the latest transfer's rate,
   * 1 = the reference rule's estimate (harmonic mean of the last 5 whole-request rates). `ensembleAfterFloor` 1: the
   * lower one wins after the long-run floor too (0: the floor may still lift it with buffer in hand).
   */
  ensembleRatio: 0,
  ensembleWith: 0,
  ensembleAfterFloor: 0,
  /**
   * Learned throughput predictor (#17 round six; abr/learned-predictor.ts, all off): `learnedDist` 1 = the stochastic
   * planner (`stochastic: 1`) draws from the model's distribution of the next transfer's rate instead of the recent
   * rates. `learnedQuantile` q > 0 = RobustMPC plans with the model's q-quantile instead of the discounted harmonic
   * mean, moving to `learnedQuantileFull` (0: the same q) as the buffer fills; the long-run floor still applies.
   * Neither meets the ship criterion held out (docs/abr.md "Sixth round, a learned throughput predictor").
   */
  learnedDist: 0,
  learnedQuantile: 0,
  learnedQuantileFull: 0,
  /** 1: the learned quantile only caps the shipped discounted estimate (min of the two) instead of replacing it. */
  learnedCap: 0,
  /** Stochastic: seconds after which the modelled abandon fires (0: abandonMinElapsedSec, as the real rule's earliest check). */
  stochAbandonSec: 0,
  /** Which committed model: 0 = the next transfer's rate; 1 = the next 5 transfers' time-average rate (the horizon). */
  learnedModel: 0,
  /**
   * Imitation (#17 round six; 0 = off): the planner plans with its robust estimate × a multiplier predicted by a small
   * boosted tree ensemble (abr/imitation.ts, weights in abr/imitation-model.ts) trained by DAgger to make the
   * planner's pick match a teacher's (the perfect-prediction MPC or the offline oracle) on the training half of the
   * shared traces (`npm run abr:imitate`; docs/abr.md "Sixth round, imitation of the oracle").
   */
  imitation: 0,
};

/**
 * The stochastic planner's setting reported as the `platform-stochastic` row: chosen on the training half of the
 * shared traces (`npm run abr:tune -- --split --grid …`, 48 settings; docs/abr.md "Fourth round"). It does not ship:
 * held out it ties the shipped RobustMPC overall and loses hsdpa badly.
 */
export const STOCHASTIC_PARAMS: Partial<PlatformParams> = {
  stochastic: 1,
  stochWindow: 8,
  stochHalfLife: 4,
  stochAbandonModel: 1,
  stochPersist: 0,
  terminalAtEnd: 0,
};

/**
 * #17 round six, picked on the training half (`npm run abr:tune -- --split --grid …`, docs/abr.md "Sixth round, a
 * learned throughput predictor"): the stochastic planner over the learned horizon model's distribution. Not shipped:
 * held out it gains fcc, lte4g and puffer and loses hsdpa.
 */
export const LEARNED_STOCHASTIC_PARAMS: Partial<PlatformParams> = {
  stochastic: 1,
  learnedDist: 1,
  learnedModel: 1,
  stochPersist: 0.8,
  stochAbandonSec: 3,
  terminalAtEnd: 0,
};

/** #17 round six, picked on the training half: the learned next-transfer model's 5 %–50 % quantile caps RobustMPC's estimate. Not shipped. */
export const LEARNED_CAP_PARAMS: Partial<PlatformParams> = { learnedQuantile: 0.05, learnedQuantileFull: 0.5, learnedCap: 1 };

export type PlatformParams = { -readonly [K in keyof typeof PLATFORM_PARAMS]: number };

export interface PlatformControllerOptions {
  /** State saved by `exportState` in an earlier session (the adapter reads it from localStorage). */
  persisted?: PersistedAbrState | null;
  /** Wall-clock now, ms, to judge the persisted state's age. */
  nowMs?: number;
  horizon?: number;
  /**
   * `navigator.connection.downlink` in bits/s where the browser has the Network Information API (Chromium): its
   * estimate of the link from the browser's recent transfers, rounded and capped at 10 Mbit/s. Used before the first
   * download when there is no (fresh) persisted estimate, discounted like one.
   */
  downlinkBps?: number | null;
  /** Overrides of PLATFORM_PARAMS (the tuning script's grid; production uses the defaults). */
  params?: Partial<PlatformParams>;
  /** Row name in the simulator's report (default `platform`). */
  name?: string;
  /**
   * Observer for the learned predictor's training data (abr/sim/learn.ts): the predictor's inputs at every decision
   * (null before the first transfer) and every transfer rate the controller records (completed or abandoned).
   */
  probe?: {
    /** `ref`: the 3-transfer harmonic mean the model's bins are relative to; `estimate`: the rate the shipped planner would use. */
    decision(features: number[] | null, ref: number | null, estimate: number): void;
    transfer(bps: number, seconds: number): void;
  };
  /**
   * Replaces the estimate the RobustMPC planner plans with (training of the imitation model, abr/sim/imitate.ts:
   * it sets the multiplier to find which ones make the planner pick the teacher's rung). Not for production.
   */
  adjustEstimate?: (estimate: number, decision: AbrDecision) => number;
}

export function createPlatformController(stream: AbrStream, options: PlatformControllerOptions = {}): AbrController {
  const p: PlatformParams = { ...PLATFORM_PARAMS, ...options.params };
  const imitation = p.imitation ? createImitationPolicy(stream, abrModel('imitation')) : null;
  // The learned predictor's weights, resolved once (and only when an option uses them: see abr/models.ts).
  const learnedWeights = p.learnedQuantile > 0 || p.learnedDist ? learnedModel(p.learnedModel) : null;
  const adjustEstimate = options.adjustEstimate ?? (imitation ? imitation.adjust : null);
  const horizon = options.horizon ?? p.horizon;
  const harmonic = new HarmonicWindow(p.estimateWindow);
  const timed = new TimeWeightedWindow(p.estimateWindow);
  const long = new TimeWeightedWindow(Math.max(1, p.longWindow));
  const trend = new FallingTrend(Math.max(p.trendWindow, p.fadeK, 2), p.trendFloor);
  /** The short estimate: the recent mean, lowered by a falling trend or a fade when those options are on. */
  const holt = new HoltTrend(p.holtAlpha, p.holtBeta, p.trendFloor);
  const plainMean = (): number | null => (p.timeWeighted ? timed.mean() : harmonic.mean());
  const shortMean = (): number | null => {
    const mean = plainMean();
    if (mean === null) return null;
    let estimate = mean;
    if (p.trendWindow >= 2) {
      const falling = trend.predict(p.trendAheadSec, p.trendPerTransfer === 1, p.trendMinR2);
      if (falling !== null) estimate = Math.min(estimate, falling);
    }
    if (p.holtAlpha > 0) {
      const falling = holt.predict(1);
      if (falling !== null) estimate = Math.min(estimate, falling);
    }
    if (p.fadeK >= 2 && trend.falling(p.fadeK)) estimate = Math.min(estimate, trend.latest() ?? estimate);
    return estimate;
  };
  const rates = { mean: shortMean };
  /** The reference rule's estimator (whole requests, completed downloads), for the guard and the ensemble. */
  const wholeRates = new HarmonicWindow(HARMONIC_MEAN_PARAMS.window + 1);
  /** Request-to-last-byte seconds of the latest completed download, for the deadline check. */
  let lastRequestSec: number | null = null;
  /** Harmonic mean of the reference rule's last 5 whole-request rates (null before the first). */
  const referenceMean = (): number | null => {
    const recent = wholeRates.recent().slice(-HARMONIC_MEAN_PARAMS.window);
    return recent.length ? recent.length / recent.reduce((sum, v) => sum + 1 / v, 0) : null;
  };
  /** The second predictor of the ensemble. */
  const secondPredictor = (): number | null => (p.ensembleWith === 1 ? referenceMean() : (harmonic.recent().at(-1) ?? null));
  const ensemble = (estimate: number): number => {
    if (!(p.ensembleRatio > 0)) return estimate;
    const second = secondPredictor();
    return second !== null && estimate > p.ensembleRatio * second ? second : estimate;
  };
  /** Coefficient of variation of the last 5 whole-request rates (0 with fewer than 3). */
  const recentCv = (): number => {
    const last = wholeRates.recent().slice(-HARMONIC_MEAN_PARAMS.window);
    if (last.length < 3) return 0;
    const mean = last.reduce((sum, v) => sum + v, 0) / last.length;
    return Math.sqrt(last.reduce((sum, v) => sum + (v - mean) ** 2, 0) / last.length) / mean;
  };
  /** Is the guard on: a thin buffer, a fade of the latest whole-request rate, or a jittery link? */
  const guardActive = (bufferSec: number): boolean => {
    if (p.guardBufferSec > 0 && bufferSec < p.guardBufferSec) return true;
    const recent = wholeRates.recent();
    if (p.guardFadeRatio > 0 && recent.length >= 2) {
      const before = recent.slice(0, -1);
      const mean = before.length / before.reduce((sum, v) => sum + 1 / v, 0);
      if ((recent.at(-1) as number) < p.guardFadeRatio * mean) return true;
    }
    return p.guardCv > 0 && recentCv() > p.guardCv;
  };
  /** The reference rule's rung (abr/harmonic-mean.ts) at this decision. */
  const referenceLevel = (decision: AbrDecision): number => {
    const h = HARMONIC_MEAN_PARAMS;
    const safety = decision.bufferSec < h.lowBufferSec ? h.lowBufferSafety : h.safety;
    return highestRungUnder(stream.bitrates, (referenceMean() ?? 0) * safety, capLevel(stream, decision));
  };
  /** The round-five guards on the planner's pick: the deadline downshift and the reference rule's cap. */
  const guarded = (decision: AbrDecision, level: number): number => {
    let out = level;
    if (
      p.deadlineFactor > 0 &&
      lastRequestSec !== null &&
      decision.lastLevel >= 0 &&
      lastRequestSec > p.deadlineFactor * stream.segmentDurationSec &&
      (p.deadlineBufferSec <= 0 || decision.bufferSec < p.deadlineBufferSec)
    ) {
      out = Math.min(out, Math.max(0, decision.lastLevel - p.deadlineStep));
    }
    const reference = referenceMean();
    if (reference !== null && guardActive(decision.bufferSec)) out = Math.min(out, referenceLevel(decision));
    if (reference !== null && p.capSafety > 0) {
      const fill = Math.min(1, decision.bufferSec / stream.maxBufferSec);
      out = Math.min(out, highestRungUnder(stream.bitrates, reference * (p.capSafety + p.capRelax * fill), capLevel(stream, decision)));
    }
    return out;
  };
  /** The learned predictor's view of the transfers (every recorded rate, like the estimators'). */
  const transferLog = new TransferLog();
  const learnedQuantileAt = (bufferSec: number): number => {
    const fill = Math.min(1, bufferSec / stream.maxBufferSec);
    const full = p.learnedQuantileFull > 0 ? p.learnedQuantileFull : p.learnedQuantile;
    return p.learnedQuantile + (full - p.learnedQuantile) * fill;
  };
  const errors: number[] = [];
  let ttfbSec = 0;
  let ttfbSamples = 0;
  /** Estimate made before the latest sample, to measure how wrong it was. */
  let lastPrediction: number | null = null;

  const persisted = options.persisted;
  /** The returning viewer's stored estimate, already discounted; null once a download has been measured. */
  let prior: number | null =
    persisted &&
    persisted.bandwidthBps > 0 &&
    Number.isFinite(persisted.bandwidthBps) &&
    (options.nowMs ?? persisted.savedAtMs) - persisted.savedAtMs <= p.persistedMaxAgeMs
      ? persisted.bandwidthBps / (1 + p.persistedPriorError)
      : options.downlinkBps && options.downlinkBps > 0 && Number.isFinite(options.downlinkBps)
        ? options.downlinkBps / (1 + p.persistedPriorError)
        : null;

  /** (elapsed s, bits loaded) of the download in flight, for its recent rate; reset when a new download starts. */
  let progressLog: Array<{ at: number; bits: number }> = [];
  let progressKey = '';

  const pushError = (error: number): void => {
    errors.push(error);
    if (errors.length > p.errorWindow) errors.shift();
  };
  const robustEstimate = (bufferSec = 0): number | null => {
    const lowered = rates.mean();
    if (lowered === null) return prior;
    // A trend or fade lowers the short estimate; with `trendRelax`, a full buffer takes back part of the lowering.
    const plain = plainMean() ?? lowered;
    const mean = lowered + p.trendRelax * Math.min(1, bufferSec / stream.maxBufferSec) * (plain - lowered);
    // With a full buffer a wrong estimate costs a switch down, not a stall: relax the discount as the buffer fills.
    const relax = 1 - p.bufferRelax * Math.min(1, bufferSec / stream.maxBufferSec);
    // Until two prediction errors are known the estimate rests on one or two samples: assume it may be this far off.
    const cold = errors.length < 2 ? p.coldStartError : 0;
    const learned = learnedWeights && p.learnedQuantile > 0 ? predictDistribution(transferLog, bufferSec, stream.maxBufferSec, learnedWeights) : null;
    const shipped = mean / (1 + p.errorScale * relax * Math.max(cold, ...errors));
    const quantile = learned && learnedWeights ? learned.ref * Math.exp(quantileZ(learned.probs, learnedQuantileAt(bufferSec), learnedWeights)) : null;
    const discounted = quantile === null ? shipped : p.learnedCap ? Math.min(shipped, quantile) : quantile;
    const robust = p.ensembleAfterFloor ? discounted : ensemble(discounted);
    const longMean = p.longWindow > 0 ? long.mean() : null;
    if (longMean === null) return p.ensembleAfterFloor ? ensemble(robust) : robust;
    const floor = longMean * Math.min(1, bufferSec / stream.maxBufferSec);
    const floored = Math.max(robust, p.trendCapsFloor && p.trendWindow >= 2 ? Math.min(floor, trend.predict(p.trendAheadSec, p.trendPerTransfer === 1, p.trendMinR2) ?? floor) : floor);
    return p.ensembleAfterFloor ? ensemble(floored) : floored;
  };
  /** Recent transfers for the stochastic planner's distribution, oldest first; `ratio` = actual / predicted rate. */
  const history: Array<{ bps: number; seconds: number; ratio: number; centerRatio: number }> = [];
  /** The stochastic planner's centre (undiscounted estimate with the long-run floor) at the latest decision. */
  let lastCenter: number | null = null;
  const centerOf = (bufferSec: number): number | null => {
    const short = rates.mean();
    if (short === null) return prior;
    const longMean = p.longWindow > 0 ? long.mean() : null;
    return longMean === null ? short : Math.max(short, longMean * Math.min(1, bufferSec / stream.maxBufferSec));
  };
  const recordRate = (bits: number, seconds: number): void => {
    prior = null;
    const bps = bits / seconds;
    const before = p.trendErrors ? rates.mean() : plainMean();
    if (before !== null) pushError(p.errorOverOnly && before <= bps ? 0 : Math.min(p.errorCap, Math.abs(before - bps) / bps));
    if (Number.isFinite(bps) && bps > 0) {
      history.push({ bps, seconds, ratio: before !== null && before > 0 ? bps / before : 1, centerRatio: lastCenter !== null && lastCenter > 0 ? bps / lastCenter : 1 });
      if (history.length > Math.max(1, p.stochWindow)) history.shift();
    }
    harmonic.push(bps);
    transferLog.push(bits, seconds);
    options.probe?.transfer(bps, seconds);
    trend.push(bps, seconds);
    holt.push(bps);
    timed.push(bits, seconds);
    long.push(bits, seconds);
    lastPrediction = rates.mean();
  };

  /**
   * Best first rung over the horizon. `bandwidths` are throughput scenarios weighed equally: one (the robust
   * estimate) for RobustMPC, or the recent transfers' own rates with `scenarios` on (every plan is scored by its mean
   * QoE over them, so a link that recently collapsed for one segment in five is planned for as such).
   */
  function plan(decision: AbrDecision, bandwidths: number[]): number {
    const top = capLevel(stream, decision);
    const steps = Math.max(1, Math.min(horizon, decision.segmentsLeft ?? horizon));
    const terminalWeight = !p.terminalAtEnd && decision.segmentsLeft !== undefined && decision.segmentsLeft <= steps ? 0 : p.terminalWeight;
    const dur = stream.segmentDurationSec;
    const mbps = stream.bitrates.map((b) => b / 1e6);
    const k = bandwidths.length;
    const terminalSec = p.terminalBufferSec + (p.terminalCvSec > 0 ? p.terminalCvSec * Math.min(1, recentCv()) : 0);
    // Download time of every (step, rung, scenario), computed once: the search below only adds and compares.
    const downloads = Array.from({ length: steps }, (_, step) =>
      Array.from({ length: top + 1 }, (_, level) => {
        const bits = segmentBitsOf(stream, decision, level, decision.segmentIndex + step);
        return bandwidths.map((bw) => ttfbSec + bits / bw);
      }),
    );
    let bestScore = -Infinity;
    let bestFirst = 0;
    // Depth-first over rung sequences; 7 rungs × 5 steps is 19,607 nodes.
    const visit = (step: number, buffers: number[], prev: number, score: number, first: number): void => {
      if (step === steps) {
        let terminal = 0;
        for (const buffer of buffers) terminal += Math.max(0, terminalSec - buffer);
        score -= (terminalWeight * p.rebufferPenalty * terminal) / k;
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
        const gain = quality - (p.rebufferPenalty * stall) / k - p.switchPenalty * change;
        visit(step + 1, next, level, score + gain, step === 0 ? level : first);
      }
    };
    visit(0, bandwidths.map(() => decision.bufferSec), decision.lastLevel, 0, 0);
    return bestFirst;
  }

  /** The stochastic planner's distribution: the recent transfers (or the estimate × their errors), weighted. */
  function distribution(bufferSec: number): ThroughputSample[] {
    const center = p.stochMode === 2 ? centerOf(bufferSec) : rates.mean();
    const n = history.length;
    return history.map((h, i) => {
      const age = n - 1 - i;
      const recency = p.stochHalfLife > 0 ? Math.pow(0.5, age / p.stochHalfLife) : 1;
      const bps = center === null || !p.stochMode ? h.bps : center * (p.stochMode === 2 ? h.centerRatio : h.ratio);
      return { bps, weight: recency * (p.stochTimeWeight ? h.seconds : 1) };
    });
  }

  function planExpected(decision: AbrDecision, samples: ThroughputSample[], persistFromLast = true): number {
    const steps = Math.max(1, Math.min(horizon, decision.segmentsLeft ?? horizon));
    const atEnd = decision.segmentsLeft !== undefined && decision.segmentsLeft <= steps;
    return planStochastic({
      bufferSec: decision.bufferSec,
      lastLevel: decision.lastLevel,
      utilities: stream.bitrates.map((b) => b / 1e6),
      maxLevel: capLevel(stream, decision),
      segmentDurationSec: stream.segmentDurationSec,
      maxBufferSec: stream.maxBufferSec,
      steps,
      bits: (step, level) => segmentBitsOf(stream, decision, level, decision.segmentIndex + step),
      ttfbSec,
      samples,
      rebufferPenalty: p.rebufferPenalty,
      switchPenalty: p.switchPenalty,
      terminalBufferSec: p.terminalBufferSec,
      terminalWeight: !p.terminalAtEnd && atEnd ? 0 : p.terminalWeight,
      bufferStepSec: p.stochGridSec,
      abandonAfterSec: p.stochAbandonModel ? (p.stochAbandonSec > 0 ? p.stochAbandonSec : p.abandonMinElapsedSec) : 0,
      persistence: p.stochPersist,
      currentSample: p.stochPersistFromLast && persistFromLast ? samples.length - 1 : undefined,
    }).level;
  }

  return {
    name: options.name ?? 'platform',
    chooseLevel(decision) {
      const bandwidth = robustEstimate(decision.bufferSec);
      // Nothing known (first-time viewer, first segment): the lowest rung starts fastest.
      if (bandwidth === null) return 0;
      lastCenter = centerOf(decision.bufferSec);
      if (options.probe) options.probe.decision(featuresOf(transferLog, decision.bufferSec, stream.maxBufferSec), transferLog.harmonic(3), bandwidth);
      if (p.stochastic && p.learnedDist) {
        const learned = predictDistribution(transferLog, decision.bufferSec, stream.maxBufferSec, learnedWeights!);
        if (learned) return planExpected(decision, learned.bps.map((bps, i) => ({ bps, weight: learned.probs[i] as number })), false);
      }
      if (p.stochastic && p.stochMode === 3) return planExpected(decision, [{ bps: bandwidth, weight: 1 }]);
      if (p.stochastic) return planExpected(decision, history.length ? distribution(decision.bufferSec) : [{ bps: bandwidth, weight: 1 }]);
      const recent = p.scenarios ? harmonic.recent() : [];
      const planned = adjustEstimate ? adjustEstimate(bandwidth, decision) : bandwidth;
      return guarded(decision, plan(decision, recent.length >= 2 ? recent : [planned]));
    },
    onDownloaded(sample) {
      // Running mean of the TTFB that turns into a moving average over ~5 requests once the count saturates.
      ttfbSec = (ttfbSec * ttfbSamples + sample.ttfbSec) / (ttfbSamples + 1);
      ttfbSamples = Math.min(ttfbSamples + 1, p.estimateWindow - 1);
      const transfer = Math.max(sample.durationSec - sample.ttfbSec, 1e-3);
      recordRate(sample.bits, transfer);
      imitation?.push(sample);
      if (sample.durationSec > 0) {
        wholeRates.push(sample.bits / sample.durationSec);
        lastRequestSec = sample.durationSec;
      }
    },
    onProgress(progress) {
      if (progress.level <= 0 || progress.bitsLoaded >= progress.bitsTotal) return null;
      if (progress.elapsedSec < Math.max(p.abandonMinElapsedSec, 2 * ttfbSec)) return null;
      // Bytes so far over time so far: a stalled download (nothing yet) is credited one 1500-byte packet.
      const streamingSec = Math.max(progress.elapsedSec - ttfbSec, 1e-3);
      // …or, with a rate window, the bytes of the last `abandonRateWindowSec` over that time, once that much is seen.
      const key = `${progress.segmentIndex}:${progress.level}`;
      if (key !== progressKey || progressLog.some((e) => e.at > progress.elapsedSec)) progressLog = [];
      progressKey = key;
      progressLog.push({ at: progress.elapsedSec, bits: progress.bitsLoaded });
      const window = p.abandonRateWindowSec;
      while (progressLog.length > 2 && (progressLog[1] as { at: number }).at <= progress.elapsedSec - window) progressLog.shift();
      const oldest = progressLog[0] as { at: number; bits: number };
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
      // Before playback (nothing measured yet: the pick came from a persisted or NetInfo estimate) the empty buffer
      // is not draining: every rung "finishes after the buffer runs dry". There the trade is startup seconds at the
      // stall weight against the rung's bitrate, as the planner made it: keep the download unless the seconds saved
      // by refetching lower outweigh the bitrate given up.
      if (rates.mean() === null) {
        const saved = finishSec - freshSec(target);
        const givenUp = ((stream.bitrates[progress.level] ?? 0) - (stream.bitrates[target] ?? 0)) / 1e6;
        if (p.rebufferPenalty * saved <= givenUp) return null;
      }
      recordRate(sampleBits, sampleSec);
      return target;
    },
    bandwidthEstimate: () => robustEstimate(),
    exportState(nowMs) {
      const mean = lastPrediction ?? rates.mean();
      return mean === null ? null : { bandwidthBps: mean, savedAtMs: nowMs };
    },
  };
}

/**
 * The lab's options of the platform controller: every knob the shipped controller does not have. Each defaults to
 * the value that leaves the shipped behaviour unchanged (mostly 0 = off), so `LAB_PARAMS` with no overrides is the
 * shipped controller exactly. What each was measured to do, and why none ships, is in docs/abr.md ("What the lab
 * found").
 */
import { PLATFORM_PARAMS } from '../../platform-params';

export const LAB_PARAMS = {
  ...PLATFORM_PARAMS,

  // Short estimate.
  /** 1: the short estimate is Σ bits / Σ seconds of the latest transfers; 0: the harmonic mean of their rates. */
  timeWeighted: 0,
  /** 1: plan against each recent transfer rate as an equally likely scenario instead of one robust estimate. */
  scenarios: 0,
  /** Relative error assumed while fewer than two prediction errors have been measured (0: the first samples are trusted). */
  coldStartError: 0,
  /** 1: only over-predictions (estimate above the rate that came) count as errors in the discount. */
  errorOverOnly: 0,

  // Trend-aware short estimate (abr/lab/controllers/trend.ts). A falling trend lowers the estimate; a rising one never raises it.
  /**
   * Least-squares trend of the last `trendWindow` transfer rates against transfer time (0: off). When it falls, the
   * short estimate is min(harmonic mean, the line extrapolated `trendAheadSec` past the latest transfer, floored at
   * `trendFloor` × the latest rate).
   */
  trendWindow: 0,
  trendAheadSec: 3,
  trendFloor: 0.5,
  /** The trend counts only when the fitted line explains at least this share of the rates' variance (r²; 0: any fall). */
  trendMinR2: 0,
  /** 1: the long-run floor is itself capped by a falling trend's prediction. */
  trendCapsFloor: 0,
  /** 1: the trend's axis is the transfer index and `trendAheadSec` counts transfers (0: seconds of transfer). */
  trendPerTransfer: 0,
  /** 1: the discount's errors are measured against the trend-lowered estimate; 0: against the plain recent mean. */
  trendErrors: 0,
  /** Holt's linear smoothing as the trend (0: off; else its α): falling → min(harmonic mean, level + trend one transfer ahead, floored at `trendFloor` × the latest rate). */
  holtAlpha: 0,
  holtBeta: 0.3,
  /** 0..1: how much of the trend's (and the fade detector's) lowering a full buffer takes back. */
  trendRelax: 0,
  /** Fade detector (0: off): when the last `fadeK` transfers each came slower than the one before, the short estimate is min(harmonic mean, the latest rate). */
  fadeK: 0,

  // Rules after the planner, built on the reference rule's own estimate (abr/lab/controllers/reference-guards.ts).
  /** Guard: while the buffer is under this many seconds (0: off), the rung is at most the reference rule's. */
  guardBufferSec: 0,
  /** Guard on a fade (0: off): also while the latest whole-request rate is under this fraction of the harmonic mean of the ones before it. */
  guardFadeRatio: 0,
  /** Guard on variance (0: off): also while the coefficient of variation of the last 5 whole-request rates is above this. */
  guardCv: 0,
  /** Rate cap (0: off): the rung's bitrate is at most (`capSafety` + `capRelax` × the buffer's fill) × the reference rule's estimate. */
  capSafety: 0,
  capRelax: 0,
  /** Volatility reserve (0: off): the terminal buffer target grows by this many seconds × the coefficient of variation of the last 5 whole-request rates (≤ 1). */
  terminalCvSec: 0,
  /**
   * Download-time deadline (0: off): when the latest download took longer than `deadlineFactor` × the segment
   * duration, the next rung is at most the previous one − `deadlineStep`, while the buffer is under
   * `deadlineBufferSec` (0: at any buffer).
   */
  deadlineFactor: 0,
  deadlineStep: 1,
  deadlineBufferSec: 0,
  /**
   * Ensemble (0: off): when the robust estimate is more than `ensembleRatio` × a second predictor, the second is
   * planned with. `ensembleWith` 0: the latest transfer's rate; 1: the reference rule's estimate.
   * `ensembleAfterFloor` 1: applied after the long-run floor (0: before it).
   */
  ensembleRatio: 0,
  ensembleWith: 0,
  ensembleAfterFloor: 0,

  // Stochastic MPC (abr/lab/controllers/stochastic-mpc.ts): the expected QoE over a distribution of throughput.
  /** 1: pick the rung by stochastic MPC (value iteration on a buffer grid) instead of RobustMPC's search. */
  stochastic: 0,
  /** How many recent transfers form the distribution. */
  stochWindow: 16,
  /** Half-life of a sample's weight, in transfers (0: every sample weighs the same). */
  stochHalfLife: 0,
  /** 1: each sample also weighs by its transfer seconds. */
  stochTimeWeight: 0,
  /**
   * 0: the samples are the recent rates; 1: the short estimate × each recent transfer's actual / predicted ratio;
   * 2: the same around the undiscounted estimate with the long-run floor; 3: one point, the robust estimate.
   */
  stochMode: 0,
  /** Buffer grid of the value iteration, seconds. */
  stochGridSec: 0.25,
  /** 1: the planner models the emergency abandon (a would-be stall is cut after `stochAbandonSec`). */
  stochAbandonModel: 1,
  /** Seconds after which the modelled abandon fires (0: `abandonMinElapsedSec`). */
  stochAbandonSec: 0,
  /** Probability that a segment sees the previous segment's rate again (0: independent draws). */
  stochPersist: 0,
  /** 1: the first step persists from the latest transfer's rate; 0: it is drawn from the distribution. */
  stochPersistFromLast: 1,
  /** 0: no terminal cost when the horizon reaches the video's last segment (nothing after it can stall); 1: as shipped. */
  terminalAtEnd: 1,

  // Learned models (abr/lab/models/).
  /** 1 (with `stochastic`): the stochastic planner draws from the learned predictor's distribution of the next rate. */
  learnedDist: 0,
  /** q > 0: RobustMPC plans with the learned predictor's q-quantile, moving to `learnedQuantileFull` (0: the same q) as the buffer fills. */
  learnedQuantile: 0,
  learnedQuantileFull: 0,
  /** 1: the learned quantile only caps the discounted estimate (min of the two) instead of replacing it. */
  learnedCap: 0,
  /** Which learned predictor: 0 = the next transfer's rate; 1 = the next 5 transfers' time-average rate. */
  learnedModel: 0,
  /** 1: the planner plans with its robust estimate × the multiplier of the imitation model (abr/lab/models/imitation.ts). */
  imitation: 0,
};

export type LabParams = { -readonly [K in keyof typeof LAB_PARAMS]: number };

/** The stochastic planner's setting picked on the training half of the shared traces: the `platform-stochastic` row. */
export const STOCHASTIC_PARAMS: Partial<LabParams> = {
  stochastic: 1,
  stochWindow: 8,
  stochHalfLife: 4,
  stochAbandonModel: 1,
  stochPersist: 0,
  terminalAtEnd: 0,
};

/** Picked on the training half: the stochastic planner over the learned horizon model's distribution. */
export const LEARNED_STOCHASTIC_PARAMS: Partial<LabParams> = {
  stochastic: 1,
  learnedDist: 1,
  learnedModel: 1,
  stochPersist: 0.8,
  stochAbandonSec: 3,
  terminalAtEnd: 0,
};

/** Picked on the training half: the learned next-transfer model's 5 %–50 % quantile caps RobustMPC's estimate. */
export const LEARNED_CAP_PARAMS: Partial<LabParams> = { learnedQuantile: 0.05, learnedQuantileFull: 0.5, learnedCap: 1 };

/** Option names from a command line (`abr:tune --eval` / `--grid`): an unknown one is an error, not a silent no-op. */
export function assertLabParamNames(names: Iterable<string>): void {
  const unknown = [...names].filter((name) => !Object.hasOwn(LAB_PARAMS, name));
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.join(', ')}: the options are the keys of LAB_PARAMS (abr/lab/controllers/lab-params.ts)`);
}

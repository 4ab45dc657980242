/**
 * The platform controller's config (abr/platform.ts): every tunable, with its default. The player uses the defaults;
 * `createPlatformController(stream, { params })` overrides any of them. How the defaults were chosen is in
 * docs/abr.md.
 */
export const PLATFORM_PARAMS = {
  /** Segments planned ahead (RobustMPC: 5). At most the segments left in the video. */
  horizon: 5,
  /** Transfers in the short estimate, the harmonic mean of their rates. */
  estimateWindow: 3,
  /** Transfers whose prediction errors set the discount (RobustMPC: 5). */
  errorWindow: 5,
  /** The discount is 1 + `errorScale` × the largest recent relative error (RobustMPC: 1). */
  errorScale: 1,
  /** Cap on one relative prediction error, so one near-zero sample cannot divide the estimate by 100. */
  errorCap: 1,
  /** 0..1: how much of the discount a full buffer removes (0 = RobustMPC; 1 = none left at a full buffer). */
  bufferRelax: 1,
  /** Long-run floor: transfers in Σ bits / Σ seconds, which × the buffer's fill fraction bounds the estimate from below (0: no floor). */
  longWindow: 10,
  /** A plan that ends with less buffer than this, seconds, pays for the shortfall as stall… */
  terminalBufferSec: 12,
  /** …weighted by this (0: no terminal cost). */
  terminalWeight: 1,
  /** Weight of a second of stall in the planner's score (QoE_lin's own weight). */
  rebufferPenalty: 4.3,
  /** Weight of a change of 1 Mbit/s between consecutive segments (QoE_lin's own weight). */
  switchPenalty: 1,
  /** A stored estimate (or the browser's downlink hint) is trusted like an estimate that was recently this far off. */
  persistedPriorError: 0.5,
  /** A stored estimate older than this, ms, is ignored: the viewer has likely changed network. */
  persistedMaxAgeMs: 24 * 3600 * 1000,
  /** The abandon rule looks at a download from this many seconds after its request. */
  abandonMinElapsedSec: 1,
  /**
   * Once a download has run 90 % of this, the abandon rule judges it by its rate over the last this-many seconds (0: by
   * its rate since the request), so a link that collapses after a fast start is not hidden behind the early average.
   */
  abandonRateWindowSec: 10,
};

export type PlatformParams = { -readonly [K in keyof typeof PLATFORM_PARAMS]: number };

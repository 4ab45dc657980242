import { HarmonicWindow } from './estimators';
import { capLevel, segmentBitsOf, type AbrController, type AbrDecision, type AbrStream, type PersistedAbrState } from './types';

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
 * Prediction (the "robust" part): harmonic mean of the last 5 transfer rates, divided by (1 + the largest relative
 * error that estimate made over the last 5 segments). Steady networks get their full rate; jittery ones are
 * discounted by how wrong we have recently been.
 *
 * Parameters, all from the RobustMPC paper or from the QoE definition, none fitted to our traces:
 * - horizon 5 segments, error window 5 and estimate window 5: the paper's values;
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
  estimateWindow: 5,
  errorWindow: 5,
  rebufferPenalty: 4.3,
  switchPenalty: 1,
  persistedPriorError: 0.5,
  persistedMaxAgeMs: 24 * 3600 * 1000,
  abandonMinElapsedSec: 1,
} as const;

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
}

export function createPlatformController(stream: AbrStream, options: PlatformControllerOptions = {}): AbrController {
  const p = PLATFORM_PARAMS;
  const horizon = options.horizon ?? p.horizon;
  const rates = new HarmonicWindow(p.estimateWindow);
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

  const pushError = (error: number): void => {
    errors.push(error);
    if (errors.length > p.errorWindow) errors.shift();
  };
  const robustEstimate = (): number | null => {
    const mean = rates.mean();
    if (mean === null) return prior;
    return mean / (1 + Math.max(0, ...errors));
  };
  const recordRate = (bps: number): void => {
    prior = null;
    const before = rates.mean();
    if (before !== null) pushError(Math.abs(before - bps) / bps);
    rates.push(bps);
    lastPrediction = rates.mean();
  };

  function plan(decision: AbrDecision, bandwidth: number): number {
    const top = capLevel(stream, decision);
    const steps = Math.max(1, Math.min(horizon, decision.segmentsLeft ?? horizon));
    const dur = stream.segmentDurationSec;
    const mbps = stream.bitrates.map((b) => b / 1e6);
    let bestScore = -Infinity;
    let bestFirst = 0;
    // Depth-first over rung sequences; 7 rungs × 5 steps is 19,607 nodes, well under a millisecond of work each.
    const visit = (step: number, buffer: number, prev: number, score: number, first: number): void => {
      if (step === steps) {
        if (score > bestScore) {
          bestScore = score;
          bestFirst = first;
        }
        return;
      }
      for (let level = 0; level <= top; level++) {
        const bits = segmentBitsOf(stream, decision, level, decision.segmentIndex + step);
        const download = ttfbSec + bits / bandwidth;
        const stall = Math.max(0, download - buffer);
        const nextBuffer = Math.min(Math.max(0, buffer - download) + dur, stream.maxBufferSec);
        const quality = mbps[level] ?? 0;
        const change = prev < 0 ? 0 : Math.abs(quality - (mbps[prev] ?? 0));
        const gain = quality - p.rebufferPenalty * stall - p.switchPenalty * change;
        visit(step + 1, nextBuffer, level, score + gain, step === 0 ? level : first);
      }
    };
    visit(0, decision.bufferSec, decision.lastLevel, 0, 0);
    return bestFirst;
  }

  return {
    name: 'platform',
    chooseLevel(decision) {
      const bandwidth = robustEstimate();
      // Nothing known (first-time viewer, first segment): the lowest rung starts fastest.
      if (bandwidth === null) return 0;
      return plan(decision, bandwidth);
    },
    onDownloaded(sample) {
      // Running mean of the TTFB that turns into a moving average over ~5 requests once the count saturates.
      ttfbSec = (ttfbSec * ttfbSamples + sample.ttfbSec) / (ttfbSamples + 1);
      ttfbSamples = Math.min(ttfbSamples + 1, p.estimateWindow - 1);
      const transfer = Math.max(sample.durationSec - sample.ttfbSec, 1e-3);
      recordRate(sample.bits / transfer);
    },
    onProgress(progress) {
      if (progress.level <= 0 || progress.bitsLoaded >= progress.bitsTotal) return null;
      if (progress.elapsedSec < Math.max(p.abandonMinElapsedSec, 2 * ttfbSec)) return null;
      // Bytes so far over time so far: a stalled download (nothing yet) is credited one 1500-byte packet.
      const rate = Math.max(progress.bitsLoaded, 12_000) / Math.max(progress.elapsedSec - ttfbSec, 1e-3);
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
      recordRate(rate);
      return target;
    },
    bandwidthEstimate: () => robustEstimate(),
    exportState(nowMs) {
      const mean = lastPrediction ?? rates.mean();
      return mean === null ? null : { bandwidthBps: mean, savedAtMs: nowMs };
    },
  };
}

/**
 * Lab rules that act after the platform controller's planner or on its estimate, built on the reference rule's own
 * estimator (abr/lab/controllers/harmonic-mean.ts: the harmonic mean of the last 5 whole-request rates, completed
 * downloads only): the guard, the rate cap, the download-time deadline, the ensemble of two predictors and the
 * variability behind the volatility reserve. All off by default (lab-params.ts).
 */
import { HarmonicWindow } from '../../estimators';
import { capLevel, highestRungUnder, type AbrDecision, type AbrStream, type DownloadSample } from '../../types';
import { HARMONIC_MEAN_PARAMS } from './harmonic-mean';
import type { LabParams } from './lab-params';

export class ReferenceGuards {
  /** Whole-request rates (bits / request-to-last-byte seconds) of completed downloads. */
  private readonly wholeRates = new HarmonicWindow(HARMONIC_MEAN_PARAMS.window + 1);
  /** Request-to-last-byte seconds of the latest completed download, for the deadline. */
  private lastRequestSec: number | null = null;

  constructor(
    private readonly stream: AbrStream,
    private readonly p: LabParams,
    /** The latest transfer rate the platform recorded (the ensemble's second predictor with `ensembleWith` 0). */
    private readonly latestRate: () => number | null,
  ) {}

  onDownloaded(sample: DownloadSample): void {
    if (sample.durationSec > 0) {
      this.wholeRates.push(sample.bits / sample.durationSec);
      this.lastRequestSec = sample.durationSec;
    }
  }

  /** The reference rule's estimate: harmonic mean of its last 5 whole-request rates (null before the first). */
  referenceMean(): number | null {
    const recent = this.wholeRates.recent().slice(-HARMONIC_MEAN_PARAMS.window);
    return recent.length ? recent.length / recent.reduce((sum, v) => sum + 1 / v, 0) : null;
  }

  /** The lower of the estimate and the second predictor, when the estimate exceeds it by more than `ensembleRatio`. */
  ensemble(estimate: number): number {
    if (!(this.p.ensembleRatio > 0)) return estimate;
    const second = this.p.ensembleWith === 1 ? this.referenceMean() : this.latestRate();
    return second !== null && estimate > this.p.ensembleRatio * second ? second : estimate;
  }

  /** Coefficient of variation of the last 5 whole-request rates (0 with fewer than 3). */
  recentCv(): number {
    const last = this.wholeRates.recent().slice(-HARMONIC_MEAN_PARAMS.window);
    if (last.length < 3) return 0;
    const mean = last.reduce((sum, v) => sum + v, 0) / last.length;
    return Math.sqrt(last.reduce((sum, v) => sum + (v - mean) ** 2, 0) / last.length) / mean;
  }

  /** Is the guard on: a thin buffer, a fade of the latest whole-request rate, or a jittery link? */
  private guardActive(bufferSec: number): boolean {
    if (this.p.guardBufferSec > 0 && bufferSec < this.p.guardBufferSec) return true;
    const recent = this.wholeRates.recent();
    if (this.p.guardFadeRatio > 0 && recent.length >= 2) {
      const before = recent.slice(0, -1);
      const mean = before.length / before.reduce((sum, v) => sum + 1 / v, 0);
      if ((recent.at(-1) as number) < this.p.guardFadeRatio * mean) return true;
    }
    return this.p.guardCv > 0 && this.recentCv() > this.p.guardCv;
  }

  /** The reference rule's rung at this decision. */
  private referenceLevel(decision: AbrDecision): number {
    const h = HARMONIC_MEAN_PARAMS;
    const safety = decision.bufferSec < h.lowBufferSec ? h.lowBufferSafety : h.safety;
    return highestRungUnder(this.stream.bitrates, (this.referenceMean() ?? 0) * safety, capLevel(this.stream, decision));
  }

  /** The planner's pick after the deadline downshift, the guard and the rate cap. */
  guarded(decision: AbrDecision, level: number): number {
    const { p, stream } = this;
    let out = level;
    if (
      p.deadlineFactor > 0 &&
      this.lastRequestSec !== null &&
      decision.lastLevel >= 0 &&
      this.lastRequestSec > p.deadlineFactor * stream.segmentDurationSec &&
      (p.deadlineBufferSec <= 0 || decision.bufferSec < p.deadlineBufferSec)
    ) {
      out = Math.min(out, Math.max(0, decision.lastLevel - p.deadlineStep));
    }
    const reference = this.referenceMean();
    if (reference !== null && this.guardActive(decision.bufferSec)) out = Math.min(out, this.referenceLevel(decision));
    if (reference !== null && p.capSafety > 0) {
      const fill = Math.min(1, decision.bufferSec / stream.maxBufferSec);
      out = Math.min(out, highestRungUnder(stream.bitrates, reference * (p.capSafety + p.capRelax * fill), capLevel(stream, decision)));
    }
    return out;
  }
}

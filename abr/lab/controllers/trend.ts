/**
 * Trend-aware estimators for the lab's `trendWindow`, `holtAlpha` and `fadeK` options (lab-params.ts).
 */

/**
 * A pessimistic trend over the last `size` transfers: the least-squares line through (time, rate),
 * each transfer placed at the middle of its transfer, time counted in seconds of transfer (the controller has no
 * clock; idle time while the buffer is full is not seen). A falling line is extrapolated `aheadSec` past the end of
 * the latest transfer (about the next segment's download), floored at `floor` × the latest rate; a flat or rising line
 * predicts nothing (null), so the trend can only lower an estimate, never raise it (asymmetric, like TCP's caution).
 */
export class FallingTrend {
  private readonly samples: Array<{ bps: number; seconds: number }> = [];
  constructor(
    private readonly size: number,
    private readonly floor: number,
  ) {}

  push(bps: number, seconds: number): void {
    if (!(bps > 0) || !(seconds > 0) || !Number.isFinite(bps) || !Number.isFinite(seconds)) return;
    this.samples.push({ bps, seconds });
    if (this.samples.length > this.size) this.samples.shift();
  }

  /**
   * The extrapolated rate `aheadSec` after the latest transfer when the fitted slope is negative, else null. With
   * `perTransfer` the axis is the transfer's index instead of its time (each transfer one unit, at its middle), and
   * `aheadSec` counts transfers. With `minR2` > 0 the fall must explain at least that share of the rates' variance.
   */
  predict(aheadSec: number, perTransfer = false, minR2 = 0): number | null {
    const n = this.samples.length;
    if (n < 2 || this.size < 2) return null;
    let clock = 0;
    const points = this.samples.map((s) => {
      const width = perTransfer ? 1 : s.seconds;
      const at = clock + width / 2;
      clock += width;
      return { at, bps: s.bps };
    });
    const meanT = points.reduce((sum, p) => sum + p.at, 0) / n;
    const meanR = points.reduce((sum, p) => sum + p.bps, 0) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (const p of points) {
      sxy += (p.at - meanT) * (p.bps - meanR);
      sxx += (p.at - meanT) ** 2;
      syy += (p.bps - meanR) ** 2;
    }
    if (!(sxx > 0)) return null;
    const slope = sxy / sxx;
    if (slope >= 0) return null;
    // A fall that explains little of the samples' spread (r² under minR2) is noise, not a fade.
    if (minR2 > 0 && (sxy * sxy) / (sxx * syy) < minR2) return null;
    const last = this.samples[n - 1]!.bps;
    const extrapolated = meanR + slope * (clock + aheadSec - meanT);
    return Math.max(this.floor * last, extrapolated);
  }

  /** True when the last `k` (≥ 2) transfers each came slower than the one before. */
  falling(k: number): boolean {
    const n = this.samples.length;
    if (k < 2 || n < k) return false;
    for (let i = n - k + 1; i < n; i++) if (!(this.samples[i]!.bps < this.samples[i - 1]!.bps)) return false;
    return true;
  }

  latest(): number | null {
    return this.samples.length ? this.samples[this.samples.length - 1]!.bps : null;
  }
}

/**
 * Holt's linear exponential smoothing over transfer rates (per transfer): level ← α·rate + (1−α)(level + trend),
 * trend ← β(level − previous level) + (1−β)·trend, started from the first two samples. Like FallingTrend, it only
 * predicts when the trend is falling: level + `steps` × trend, floored at `floor` × the latest rate; else null.
 */
export class HoltTrend {
  private level: number | null = null;
  private trend = 0;
  private count = 0;
  private last = 0;
  constructor(
    private readonly alpha: number,
    private readonly beta: number,
    private readonly floor: number,
  ) {}

  push(bps: number): void {
    if (!(bps > 0) || !Number.isFinite(bps)) return;
    this.count++;
    this.last = bps;
    if (this.level === null) {
      this.level = bps;
      return;
    }
    if (this.count === 2) {
      this.trend = bps - this.level;
      this.level = bps;
      return;
    }
    const previous = this.level;
    this.level = this.alpha * bps + (1 - this.alpha) * (previous + this.trend);
    this.trend = this.beta * (this.level - previous) + (1 - this.beta) * this.trend;
  }

  predict(steps: number): number | null {
    if (this.level === null || this.count < 2 || this.trend >= 0) return null;
    return Math.max(this.floor * this.last, this.level + steps * this.trend);
  }
}

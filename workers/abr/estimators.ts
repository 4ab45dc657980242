/** Bandwidth estimators shared by the controllers. */

/** Harmonic mean of the last `size` samples: one slow download weighs as much as it should (the seed's choice). */
export class HarmonicWindow {
  private readonly samples: number[] = [];
  constructor(private readonly size: number) {}

  push(value: number): void {
    if (!(value > 0) || !Number.isFinite(value)) return;
    this.samples.push(value);
    if (this.samples.length > this.size) this.samples.shift();
  }

  get count(): number {
    return this.samples.length;
  }

  /** null when empty. */
  mean(): number | null {
    if (this.samples.length === 0) return null;
    return this.samples.length / this.samples.reduce((sum, v) => sum + 1 / v, 0);
  }
}

/**
 * hls.js's EWMA (src/utils/ewma.ts), ported line for line: weights are seconds of download, so the half-life is in
 * seconds of downloading, and the estimate is de-biased for the zero it starts from.
 */
export class Ewma {
  private readonly alpha: number;
  private estimate = 0;
  private totalWeight = 0;

  constructor(readonly halfLife: number) {
    this.alpha = halfLife ? Math.exp(Math.log(0.5) / halfLife) : 0;
  }

  sample(weight: number, value: number): void {
    const adjAlpha = Math.pow(this.alpha, weight);
    this.estimate = value * (1 - adjAlpha) + adjAlpha * this.estimate;
    this.totalWeight += weight;
  }

  get weight(): number {
    return this.totalWeight;
  }

  get value(): number {
    if (this.alpha) {
      const zeroFactor = 1 - Math.pow(this.alpha, this.totalWeight);
      if (zeroFactor) return this.estimate / zeroFactor;
    }
    return this.estimate;
  }
}

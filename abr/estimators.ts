/** Throughput estimators of the platform controller (abr/platform.ts). */

/** Harmonic mean of the last `size` samples: one slow download weighs as much as it should (the reference rule's choice). */
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

  /** The samples themselves, oldest first. */
  recent(): number[] {
    return [...this.samples];
  }

  /** null when empty. */
  mean(): number | null {
    if (this.samples.length === 0) return null;
    return this.samples.length / this.samples.reduce((sum, v) => sum + 1 / v, 0);
  }
}

/**
 * Throughput of the last `size` transfers taken together: Σ bits / Σ seconds. Each transfer weighs by its time,
 * so a short burst or a tiny partial transfer (an abandoned request) moves the estimate only as much as the time it
 * covered; an equal-weight harmonic mean lets one 0.03 Mbit/s sample of a second pull five segments' worth of
 * 3 Mbit/s down to 0.15.
 */
export class TimeWeightedWindow {
  private readonly samples: Array<{ bits: number; seconds: number }> = [];
  constructor(private readonly size: number) {}

  push(bits: number, seconds: number): void {
    if (!(bits > 0) || !(seconds > 0) || !Number.isFinite(bits) || !Number.isFinite(seconds)) return;
    this.samples.push({ bits, seconds });
    if (this.samples.length > this.size) this.samples.shift();
  }

  mean(): number | null {
    if (this.samples.length === 0) return null;
    let bits = 0;
    let seconds = 0;
    for (const s of this.samples) {
      bits += s.bits;
      seconds += s.seconds;
    }
    return bits / seconds;
  }
}

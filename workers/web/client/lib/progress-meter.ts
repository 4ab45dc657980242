/**
 * Upload speed and time left from progress samples. Speed is measured over a sliding window (default 5 s) rather
 * than since the start, so it follows the network as it changes and does not count time spent paused or retrying
 * before the window; a resumed upload starts measuring from the resumed offset, not from zero.
 */
export interface ProgressSnapshot {
  fraction: number;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
}

export class ProgressMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly totalBytes: number,
    private readonly windowMs = 5000,
  ) {}

  /** Forget history (after a pause or a network drop: the old rate says nothing about the new one). */
  reset(): void {
    this.samples = [];
  }

  update(bytesSent: number, nowMs: number): ProgressSnapshot {
    const last = this.samples[this.samples.length - 1];
    if (last && bytesSent < last.bytes) this.samples = [];
    this.samples.push({ t: nowMs, bytes: bytesSent });
    while (this.samples.length > 2 && nowMs - this.samples[1]!.t >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const elapsedMs = nowMs - first.t;
    const fraction = this.totalBytes > 0 ? Math.min(1, bytesSent / this.totalBytes) : 1;
    // Under 300 ms of history the rate is noise; say "estimating" instead of a wild number.
    if (elapsedMs < 300 || bytesSent <= first.bytes) return { fraction, bytesPerSecond: null, secondsLeft: fraction >= 1 ? 0 : null };
    const bytesPerSecond = ((bytesSent - first.bytes) * 1000) / elapsedMs;
    return { fraction, bytesPerSecond, secondsLeft: (this.totalBytes - bytesSent) / bytesPerSecond };
  }
}

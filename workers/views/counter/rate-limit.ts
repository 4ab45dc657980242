/**
 * Per-viewer rate limit, in memory: a flood from one viewer is refused (429) before it touches storage. A fixed
 * one-minute window per viewer, at most `viewerEventsPerMinute` events; the map is pruned of closed windows once it
 * holds `MAX_TRACKED` viewers. Memory only: a restarted object forgets, which at worst lets one more minute through.
 */
const WINDOW_MS = 60_000;
const MAX_TRACKED = 50_000;

export class ViewerRateLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perMinute: number) {}

  /** Counts one event; returns the seconds to wait, or 0 when the event is allowed. */
  take(viewerId: string, now: number): number {
    let entry = this.windows.get(viewerId);
    if (!entry || now - entry.start >= WINDOW_MS) {
      if (this.windows.size >= MAX_TRACKED) {
        for (const [k, e] of this.windows) if (now - e.start >= WINDOW_MS) this.windows.delete(k);
      }
      entry = { start: now, count: 0 };
      this.windows.set(viewerId, entry);
    }
    entry.count++;
    return entry.count > this.perMinute ? Math.max(1, Math.ceil((entry.start + WINDOW_MS - now) / 1000)) : 0;
  }
}

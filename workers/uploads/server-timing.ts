/**
 * A `Server-Timing` header for upload requests, so a client (and `bench/upload.bench.ts`) can see where a chunk's
 * time goes: auth and ownership, the session round trips, R2. Durations are wall time between I/O steps (Workers
 * clocks only advance across I/O, which is exactly what these steps are).
 */
export class ServerTiming {
  private readonly entries: string[] = [];
  private last = performance.now();

  /** Records the time since the previous mark (or construction) under `name`. */
  mark(name: string): void {
    const now = performance.now();
    this.entries.push(`${name};dur=${(now - this.last).toFixed(1)}`);
    this.last = now;
  }

  header(): string {
    return this.entries.join(', ');
  }
}

/** Parses a `Server-Timing` header into name → milliseconds (entries without `dur` are skipped). */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.trim().split(';');
    const dur = params.map((p) => /^\s*dur=([\d.]+)\s*$/.exec(p)).find((m) => m);
    if (name && dur) out[name] = (out[name] ?? 0) + Number(dur[1]);
  }
  return out;
}

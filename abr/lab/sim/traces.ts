/**
 * Network throughput traces: parsing every format in ../shared/traces and integrating them over time.
 *
 * A trace is a list of slots of constant bandwidth. For the Pensieve text format (`<time_s> <Mbit/s>` per line) the
 * value on a line holds from the previous line's time up to this line's time, as in Pensieve's simulator (it reads
 * `cooked_bw[ptr]` for the interval ending at `cooked_time[ptr]`); the first line holds from 0, so a trace whose
 * first timestamp is not 0 (Oboe) starts with a slot of that length. The Sabre/LTE JSON format lists the slots
 * directly (`duration_ms`, `bandwidth_kbps`; its constant `latency_ms` is Sabre's setting, not a measurement, and the
 * simulator's own RTT is used instead). Traces loop when they end (Pensieve-style).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export class TraceError extends Error {}

export interface Trace {
  /** Path relative to the traces root, with `/` separators. */
  name: string;
  /** First folder under the root (e.g. `fcc`), or `.` for files at the root. */
  family: string;
  format: 'pensieve-text' | 'sabre-json';
  /** Slot durations (s) and bandwidths (bit/s). */
  durationsSec: number[];
  bps: number[];
}

/** Slots of a `<time_s> <Mbit/s>` text trace. Throws TraceError naming the first bad line. */
export function parsePensieveText(text: string): Pick<Trace, 'durationsSec' | 'bps'> {
  const durationsSec: number[] = [];
  const bps: number[] = [];
  let previous = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split(/\s+/);
    const time = Number(fields[0]);
    const mbps = Number(fields[1]);
    if (fields.length < 2 || !Number.isFinite(time) || !Number.isFinite(mbps)) {
      throw new TraceError(`line ${i + 1}: expected "<time_s> <Mbit/s>", got ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (time < previous) throw new TraceError(`line ${i + 1}: time ${time} goes backwards (previous ${previous})`);
    if (mbps < 0) throw new TraceError(`line ${i + 1}: negative throughput ${mbps}`);
    if (time > previous) {
      durationsSec.push(time - previous);
      bps.push(mbps * 1e6);
    }
    previous = time;
  });
  return checkSlots({ durationsSec, bps });
}

/** Slots of a Sabre JSON trace `[{duration_ms, bandwidth_kbps, latency_ms}]`. */
export function parseSabreJson(text: string): Pick<Trace, 'durationsSec' | 'bps'> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new TraceError(`invalid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(data)) throw new TraceError('expected a JSON array of {duration_ms, bandwidth_kbps} slots');
  const durationsSec: number[] = [];
  const bps: number[] = [];
  data.forEach((slot: unknown, i) => {
    const record = (typeof slot === 'object' && slot !== null ? slot : {}) as Record<string, unknown>;
    const duration = record.duration_ms;
    const kbps = record.bandwidth_kbps;
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) {
      throw new TraceError(`slot ${i}: duration_ms must be a non-negative number`);
    }
    if (typeof kbps !== 'number' || !Number.isFinite(kbps) || kbps < 0) {
      throw new TraceError(`slot ${i}: bandwidth_kbps must be a non-negative number`);
    }
    if (duration > 0) {
      durationsSec.push(duration / 1000);
      bps.push(kbps * 1000);
    }
  });
  return checkSlots({ durationsSec, bps });
}

function checkSlots(slots: Pick<Trace, 'durationsSec' | 'bps'>): Pick<Trace, 'durationsSec' | 'bps'> {
  if (slots.durationsSec.length === 0) throw new TraceError('no samples');
  const bits = slots.bps.reduce((sum, b, i) => sum + b * (slots.durationsSec[i] ?? 0), 0);
  // A looping trace that never delivers a bit would make every download last forever.
  if (!(bits > 0)) throw new TraceError('throughput is zero throughout');
  return slots;
}

/** Parses by content: JSON arrays are Sabre traces, anything else must be Pensieve text. */
export function parseTrace(name: string, text: string, family = '.'): Trace {
  const isJson = text.trimStart().startsWith('[');
  const slots = isJson ? parseSabreJson(text) : parsePensieveText(text);
  return { name, family, format: isJson ? 'sabre-json' : 'pensieve-text', ...slots };
}

export interface LoadedTraces {
  traces: Trace[];
  /** Files that could not be parsed, with the reason; the run goes on without them. */
  skipped: Array<{ file: string; error: string }>;
}

/** Documentation files that live next to traces and are not traces. */
const isDocumentation = (file: string): boolean => /^readme/i.test(file) || /\.(md|txt\.md|html)$/i.test(file) || file.startsWith('.');

/**
 * Every trace under `root`, recursively, in a stable (sorted) order. A missing or non-directory root, or one with no
 * parseable trace, is an error (TraceError); unparseable files are skipped and reported in `skipped`.
 */
export function loadTraceDir(root: string): LoadedTraces {
  let stat;
  try {
    stat = statSync(root);
  } catch {
    throw new TraceError(`traces directory not found: ${root}`);
  }
  if (!stat.isDirectory()) throw new TraceError(`not a directory: ${root}`);
  const traces: Trace[] = [];
  const skipped: LoadedTraces['skipped'] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) walk(full);
        continue;
      }
      if (!entry.isFile() || isDocumentation(entry.name)) continue;
      const rel = path.relative(root, full).split(path.sep).join('/');
      const family = rel.includes('/') ? (rel.split('/')[0] ?? '.') : '.';
      try {
        traces.push(parseTrace(rel, readFileSync(full, 'utf8'), family));
      } catch (error) {
        if (!(error instanceof TraceError)) throw error;
        skipped.push({ file: rel, error: error.message });
      }
    }
  };
  walk(root);
  if (traces.length === 0) {
    const detail = skipped.length ? ` (${skipped.length} file(s) could not be parsed: ${skipped[0]?.file}: ${skipped[0]?.error})` : '';
    throw new TraceError(`no traces found in ${root}${detail}`);
  }
  return { traces, skipped };
}

/**
 * Cumulative delivered bits as a function of time, over the looping trace. `timeToDeliver` is its inverse; both
 * are exact for piecewise-constant bandwidth.
 */
export class TraceClock {
  private readonly starts: number[] = [];
  private readonly cumBits: number[] = [];
  readonly periodSec: number;
  readonly periodBits: number;

  constructor(private readonly trace: Pick<Trace, 'durationsSec' | 'bps'>) {
    let time = 0;
    let bits = 0;
    trace.durationsSec.forEach((duration, i) => {
      this.starts.push(time);
      this.cumBits.push(bits);
      time += duration;
      bits += duration * (trace.bps[i] ?? 0);
    });
    this.periodSec = time;
    this.periodBits = bits;
  }

  /** Bits delivered from time 0 to `t` (s). */
  bitsAt(t: number): number {
    const cycles = Math.floor(t / this.periodSec);
    const u = t - cycles * this.periodSec;
    const i = this.slotAt(u);
    return cycles * this.periodBits + (this.cumBits[i] ?? 0) + (u - (this.starts[i] ?? 0)) * (this.trace.bps[i] ?? 0);
  }

  bitsBetween(from: number, to: number): number {
    return to <= from ? 0 : this.bitsAt(to) - this.bitsAt(from);
  }

  /** Earliest time ≥ start by which `bits` more bits have been delivered. */
  timeToDeliver(start: number, bits: number): number {
    if (bits <= 0) return start;
    const target = this.bitsAt(start) + bits;
    let cycles = Math.floor(target / this.periodBits);
    let remainder = target - cycles * this.periodBits;
    if (remainder <= 0 && cycles > 0) {
      cycles -= 1;
      remainder += this.periodBits;
    }
    // Last slot whose cumulative start is < remainder (binary search); the target falls inside it.
    let lo = 0;
    let hi = this.cumBits.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.cumBits[mid] ?? 0) < remainder) lo = mid;
      else hi = mid - 1;
    }
    const rate = this.trace.bps[lo] ?? 0;
    const within = rate > 0 ? (remainder - (this.cumBits[lo] ?? 0)) / rate : 0;
    return Math.max(start, cycles * this.periodSec + (this.starts[lo] ?? 0) + within);
  }

  private slotAt(u: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= u) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

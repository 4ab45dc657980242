/**
 * How fast this machine runs work right now, for `npm test`'s summary (scripts/test-lanes.ts). A hosted machine's
 * cores can run the same work at different speeds at different hours (measured here: the same `npm test` took 750
 * busy CPU-seconds at one hour and 1,037–1,087 at another), so a run's time alone cannot say whether the suite got
 * slower or the machine did. Two figures can:
 * - `speedFactor()`: the CPU time of a fixed piece of work (zlib, SHA-256, JSON and regular expressions: the kinds of
 *   work the suite's processes do), as a factor of REFERENCE_MS. 1.0 is the speed the README's times were measured
 *   at; 0.7 means the same work takes 1/0.7 as long.
 * - `busyCpuSeconds()`: the CPU-seconds every process on the machine used (Linux's /proc/stat), so a run's busy
 *   CPU-seconds divided by its speed factor is its work at reference speed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

/**
 * The fixed work's CPU time, in ms, on the 2-core machine of the README's figures in one of its fast hours (Node 20,
 * as `speedFactor` runs it, in a fresh process: 296–328 ms over six runs).
 */
export const REFERENCE_MS = 310;

/** The fixed work; returns the CPU time it took, in ms. */
function fixedWorkMs(): number {
  const started = process.cpuUsage();
  const text = Buffer.alloc(16 << 20);
  let seed = 1;
  for (let i = 0; i < text.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    text[i] = 97 + (seed % 23);
  }
  let sink = deflateSync(text, { level: 6 }).length + createHash('sha256').update(text).digest()[0]!;
  for (let round = 0; round < 40; round++) {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: `v${i}-${round}`, status: i % 3 ? 'READY' : 'PROCESSING', renditions: [i, i * 2, i * 3] }));
    const json = JSON.stringify(rows);
    sink += (JSON.parse(json) as unknown[]).length + (json.match(/"READY"/g)?.length ?? 0);
  }
  const used = process.cpuUsage(started);
  if (sink < 0) throw new Error('unreachable');
  return (used.user + used.system) / 1000;
}

/**
 * REFERENCE_MS over the fixed work's CPU time now: the work runs three times, the first warming it up, and the
 * quicker of the other two counts (a process scheduled away mid-run only ever adds time).
 */
export function speedFactor(): { factor: number; ms: number } {
  fixedWorkMs();
  const ms = Math.min(fixedWorkMs(), fixedWorkMs());
  return { factor: REFERENCE_MS / ms, ms: Math.round(ms) };
}

/** CPU-seconds all processes have used since boot (user, nice, system, irq, softirq), or null where /proc/stat is missing. */
export function busyCpuSeconds(): number | null {
  try {
    return busySecondsOf(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The busy CPU-seconds in the text of /proc/stat: its first line, "cpu  user nice system idle iowait irq softirq …",
 * counts in USER_HZ ticks (100 per second on Linux). Null when the text is not that.
 */
export function busySecondsOf(procStat: string): number | null {
  const [label, ...fields] = procStat.split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq] = fields.map(Number);
  const ticks = [user, nice, system, irq, softirq];
  if (label !== 'cpu' || !ticks.every((n): n is number => n !== undefined && Number.isInteger(n) && n >= 0)) return null;
  return ticks.reduce((sum, n) => sum + n, 0) / 100;
}

/**
 * CPU accounting from /proc for the benchmarks that run the local stack: clock ticks of one process, and the stack's
 * processes (wrangler's node and everything under it: its two workerd) by pid and name.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks of user + system CPU of one process (0 when it is gone). */
export function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(x[11]) + Number(x[12]);
  } catch {
    return 0;
  }
}

/** The stack's processes: wrangler's node and everything under it (workerd), by pid and name. */
export function stackProcesses(root: number): { pid: number; name: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: { pid: number; name: string }[] = [];
  const visit = (pid: number) => {
    let name = '?';
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return;
    }
    // wrangler dev runs two workerd: its proxy (the socket the stack's origin names) and the Worker's runtime.
    if (name === 'workerd') {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      name = cmd.includes('--inspector-addr') ? 'workerd(worker)' : 'workerd(proxy)';
    }
    out.push({ pid, name });
    for (const c of children.get(pid) ?? []) visit(c);
  };
  visit(root);
  return out;
}

/**
 * Starts counting the CPU of the stack's processes (as they are now); the returned function gives seconds since,
 * in all and by process name.
 */
export function stackCpuMeter(root: number): () => { total: number; byName: Record<string, number> } {
  const procs = stackProcesses(root);
  const before = procs.map((p) => ticks(p.pid));
  return () => {
    const byName: Record<string, number> = {};
    procs.forEach((p, i) => (byName[p.name] = (byName[p.name] ?? 0) + Math.max(0, ticks(p.pid) - before[i]!) / 100));
    return { total: Object.values(byName).reduce((a, b) => a + b, 0), byName };
  };
}

const USER_HZ = 100; // Linux clock ticks per second

/** CPU seconds of all reaped child processes of this process so far (/proc/self/stat cutime + cstime). */
export function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / USER_HZ;
}

/** Runs `fn`, with its wall time and the CPU of the child processes it waited for (seconds). */
export async function measureChildren<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const value = await fn();
  return { value, wall: (performance.now() - t0) / 1000, cpu: childCpuSeconds() - cpu0 };
}

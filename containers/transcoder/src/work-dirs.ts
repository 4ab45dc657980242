/**
 * Where jobs write their temporary files. Each transcoder process keeps its jobs' directories under a root named
 * after its process id (`transcoder-<pid>` in the system temp dir); a job removes its own directory when it ends.
 * A process that was killed never runs that cleanup, so a starting transcoder removes the roots of processes that
 * no longer run, and a transcoder that is stopped removes its own. Roots of live processes are left alone: several
 * transcoders may share one temp dir (a local pool, the test suite).
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const ROOT_NAME = /^transcoder-(\d+)$/;

/** Whether a process with this id runs (one we may not signal still runs). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the work roots of transcoders that no longer run; returns the removed paths. */
export async function sweepStaleWorkRoots(tmp = os.tmpdir(), runs: (pid: number) => boolean = processRuns): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const pid = Number(ROOT_NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || runs(pid)) continue;
    const dir = path.join(tmp, name);
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

const ownRoot = (tmp = os.tmpdir()) => path.join(tmp, `transcoder-${process.pid}`);

/** This process's work root (created on first use). */
export async function workRoot(tmp = os.tmpdir()): Promise<string> {
  const root = ownRoot(tmp);
  await mkdir(root, { recursive: true });
  return root;
}

/** On shutdown, once the jobs' processes are killed: removes this process's work root with whatever they left. */
export function removeWorkRoot(tmp = os.tmpdir()): void {
  rmSync(ownRoot(tmp), { recursive: true, force: true });
}

/** Runs `fn` with a fresh directory of its own under this process's work root, removed afterwards. */
export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(await workRoot(), 'job-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * scripts/supervise.ts with real child processes (a tiny Node script): a child killed with SIGKILL is started
 * again, and what it had started (its process group) goes with it; the restart delay doubles up to its cap and
 * starts over after a stable run; `stop` ends the child and every later restart. The child holds itself at a point
 * the test controls (it prints "ready" and then waits forever), so the kill never races the child's own progress.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { supervise, type ExitInfo, type Supervisor } from '../../scripts/supervise';

const CHILD = `
import { spawn } from 'node:child_process';
if (process.argv[2] === 'crash') process.exit(3);
// Something of its own in its process group, as tsx runs the transcoder's node (which runs ffmpeg).
const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
process.stdout.write('ready ' + process.pid + ' ' + grandchild.pid + '\\n');
setInterval(() => {}, 1000);
`;

let dir: string;
let script: string;
let current: Supervisor | null = null;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'supervise-'));
  script = path.join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
});
afterEach(async () => {
  await current?.stop(1000);
  current = null;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  expect(alive(pid), `process ${pid} still running`).toBe(false);
}

/** The pids a held run prints once it is ready, one promise per run in start order. */
function readyLines(): { onStart: (child: ChildProcess) => void; next: () => Promise<{ pid: number; grandchild: number }> } {
  const waiting: ((v: { pid: number; grandchild: number }) => void)[] = [];
  const seen: { pid: number; grandchild: number }[] = [];
  return {
    onStart(child) {
      let buffer = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const m = /^ready (\d+) (\d+)\n/.exec(buffer);
        if (!m) return;
        const v = { pid: Number(m[1]), grandchild: Number(m[2]) };
        const w = waiting.shift();
        if (w) w(v);
        else seen.push(v);
      });
    },
    next: () => {
      const v = seen.shift();
      return v ? Promise.resolve(v) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

describe('supervise', () => {
  it('starts a child killed with SIGKILL again, and kills what it left in its group', async () => {
    const ready = readyLines();
    const exits: ExitInfo[] = [];
    current = supervise({
      command: process.execPath,
      args: [script, 'hold'],
      stdio: ['ignore', 'pipe', 'inherit'],
      backoff: { initialMs: 10, maxMs: 100, stableAfterMs: 60_000 },
      onStart: ready.onStart,
      onExit: (info) => exits.push(info),
    });
    const first = await ready.next();
    expect(current.runs).toBe(1);
    process.kill(first.pid, 'SIGKILL');

    const second = await ready.next();
    expect(second.pid).not.toBe(first.pid);
    expect(current.runs).toBe(2);
    expect(current.child?.pid).toBe(second.pid);
    expect(exits).toEqual([expect.objectContaining({ signal: 'SIGKILL', restartInMs: 10 })]);
    // The killed run's grandchild did not survive it (it would hold the transcoder's port).
    await gone(first.grandchild);
    expect(alive(second.grandchild)).toBe(true);

    await current.stop(1000);
    await gone(second.pid);
    await gone(second.grandchild);
    expect(exits.at(-1)).toMatchObject({ restartInMs: null });
    // Stopped for good: no run after the backoff would have passed many times over.
    await new Promise((r) => setTimeout(r, 200));
    expect(current.runs).toBe(2);
    expect(current.child).toBeNull();
  });

  it('doubles the delay after each quick crash, up to the cap', async () => {
    const exits: ExitInfo[] = [];
    let done: () => void;
    const fiveExits = new Promise<void>((resolve) => (done = resolve));
    current = supervise({
      command: process.execPath,
      args: [script, 'crash'],
      stdio: 'ignore',
      backoff: { initialMs: 10, maxMs: 40, stableAfterMs: 60_000 },
      onExit: (info) => {
        exits.push(info);
        if (exits.length === 5) done();
      },
    });
    await fiveExits;
    await current.stop();
    expect(exits.slice(0, 5).map((e) => [e.code, e.restartInMs])).toEqual([
      [3, 10],
      [3, 20],
      [3, 40],
      [3, 40],
      [3, 40],
    ]);
  });

  it('starts over from the shortest delay after a run that lasted', async () => {
    let clock = 0;
    const exits: ExitInfo[] = [];
    let done: () => void;
    const threeExits = new Promise<void>((resolve) => (done = resolve));
    current = supervise({
      command: process.execPath,
      args: [script, 'crash'],
      stdio: 'ignore',
      backoff: { initialMs: 10, maxMs: 1000, stableAfterMs: 60_000 },
      now: () => clock,
      // The second run "lasts" a minute on the supervisor's clock; the others end at once.
      onStart: (_child, run) => {
        if (run === 2) clock += 60_000;
      },
      onExit: (info) => {
        exits.push(info);
        if (exits.length === 3) done();
      },
    });
    await threeExits;
    await current.stop();
    expect(exits.slice(0, 3).map((e) => [e.ranMs, e.restartInMs])).toEqual([
      [0, 10],
      [60_000, 10],
      [0, 20],
    ]);
  });
});

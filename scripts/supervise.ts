/**
 * Keeps a child process running, for `npm start` (scripts/start.ts): when the child exits without being asked to
 * (a crash, `kill -9`), it is started again after a backoff that doubles from `initialMs` up to `maxMs`, and goes
 * back to `initialMs` once a run has lasted `stableAfterMs` (so a child that crashes at start does not spin, and
 * one that crashes once a day restarts at once).
 *
 * Each run is the leader of its own process group, and whatever is left of the group when the leader exits is
 * killed: a launcher (tsx) killed with SIGKILL cannot leave its server (node, and its ffmpeg children) holding the
 * port, which would make every restart fail with "address in use".
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

export interface Backoff {
  initialMs: number;
  maxMs: number;
  stableAfterMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, stableAfterMs: 60_000 };

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long that run lasted. */
  ranMs: number;
  /** When the next run starts; null when the supervisor was stopped. */
  restartInMs: number | null;
}

export interface SuperviseOptions {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Default: no stdin, stdout and stderr shared with this process. */
  stdio?: StdioOptions;
  backoff?: Backoff;
  /** Each new run (the first is run 1). */
  onStart?: (child: ChildProcess, run: number) => void;
  onExit?: (info: ExitInfo) => void;
  /** The clock for "how long a run lasted" (tests make runs long or short without waiting). */
  now?: () => number;
}

export interface Supervisor {
  /** The current run, or null between runs and after `stop`. */
  readonly child: ChildProcess | null;
  /** Runs started so far. */
  readonly runs: number;
  /** Stops for good: SIGTERM to the current run, its whole group killed after `graceMs` at the latest. */
  stop(graceMs?: number): Promise<void>;
}

function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

export function supervise(options: SuperviseOptions): Supervisor {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const now = options.now ?? Date.now;
  let child: ChildProcess | null = null;
  let runs = 0;
  let delayMs = backoff.initialMs;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = (): void => {
    timer = null;
    if (stopping) return;
    const startedAt = now();
    const run = spawn(options.command, options.args, { cwd: options.cwd, env: options.env, stdio: options.stdio ?? ['ignore', 'inherit', 'inherit'], detached: true });
    child = run;
    runs++;
    exited = new Promise((resolve) => {
      const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
        // The leader is gone: nothing of its group may outlive it.
        if (run.pid !== undefined) killGroup(run.pid, 'SIGKILL');
        if (child === run) child = null;
        const ranMs = now() - startedAt;
        if (stopping) {
          options.onExit?.({ code, signal, ranMs, restartInMs: null });
        } else {
          if (ranMs >= backoff.stableAfterMs) delayMs = backoff.initialMs;
          const restartInMs = delayMs;
          delayMs = Math.min(delayMs * 2, backoff.maxMs);
          options.onExit?.({ code, signal, ranMs, restartInMs });
          timer = setTimeout(start, restartInMs);
        }
        resolve();
      };
      run.once('exit', onGone);
      // A command that cannot be spawned at all (ENOENT) emits `error` and no `exit`.
      run.once('error', () => {
        if (run.exitCode === null && run.signalCode === null && run.pid === undefined) onGone(null, null);
      });
    });
    options.onStart?.(run, runs);
  };

  start();
  return {
    get child() {
      return child;
    },
    get runs() {
      return runs;
    },
    async stop(graceMs = 5000) {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const current = child;
      if (!current || current.pid === undefined) return;
      const pid = current.pid;
      current.kill('SIGTERM');
      const force = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(force);
    },
  };
}

/**
 * Child processes (ffmpeg, ffprobe) with the bookkeeping a crash-safe server needs: every running child is tracked
 * so the server can kill them all when it is told to stop or when its parent dies (tsx runs the server as a child
 * of its own CLI process; a SIGKILL of that parent must not leave orphaned ffmpeg processes burning CPU).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stderrTail } from './errors';
import { httpReadLine, StorageReadError } from './http-read';

const running = new Set<ChildProcess>();

/** Clock ticks per second of /proc's CPU times (Linux: 100). */
const CLOCK_TICKS = 100;

/** CPU seconds of this process's children that have exited and been reaped (/proc/self/stat cutime + cstime). */
function reapedChildrenCpuSec(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

let reapedSoFar = reapedChildrenCpuSec();

/**
 * The transcoder's own accounting of a job's CPU (workers/metering prices it as container vCPU-seconds): run a job
 * inside `jobAccounting.run(account, …)` and every child it starts adds its CPU seconds to `account.cpuSec` when it
 * exits. Read from the kernel's count of reaped children's time, so it is exact for the process as a whole; two
 * children of different jobs that exit at the same instant may swap their shares.
 */
export const jobAccounting = new AsyncLocalStorage<{ cpuSec: number }>();

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /**
   * Where the child's threads spent their time (Linux `/proc/<pid>/task/<tid>/schedstat`, last sample before it
   * exited, so up to `SCHED_SAMPLE_MS` short): seconds on a CPU, and seconds runnable but waiting for one. The rest
   * of its wall time it was blocked (reading its input, writing). Null where /proc is not available.
   */
  sched: { cpuSec: number; runqueueSec: number } | null;
}

const SCHED_SAMPLE_MS = 250;

/** Sums the schedstat of every thread of `pid` (threads that already ended are lost: ffmpeg's live to the end). */
function schedOf(pid: number): { cpuSec: number; runqueueSec: number } | null {
  try {
    let cpu = 0;
    let wait = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [onCpu, onQueue] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      cpu += onCpu ?? 0;
      wait += onQueue ?? 0;
    }
    return { cpuSec: cpu / 1e9, runqueueSec: wait / 1e9 };
  } catch {
    return null;
  }
}

export interface RunOptions {
  /** Called with each complete stdout line (ffmpeg `-progress pipe:1`). */
  onStdoutLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Keep at most this many characters of stderr (the tail matters for errors). */
  stderrLimit?: number;
  /**
   * Bytes for the child's stdin (`-i pipe:0`). If the source fails (a storage read), the child is killed and `run`
   * rejects with that error: a cut input must never pass for a complete one.
   */
  stdin?: AsyncIterable<Uint8Array>;
  /** Called with the child right after it is spawned (a test hold stops it there: hold.ts). */
  onSpawn?: (child: ChildProcess) => void;
}

export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const account = jobAccounting.getStore();
    running.add(child);
    options.onSpawn?.(child);
    let sched: RunResult['sched'] = null;
    const sampler = child.pid ? setInterval(() => (sched = schedOf(child.pid!) ?? sched), SCHED_SAMPLE_MS) : null;
    let inputError: unknown = null;
    if (options.stdin && child.stdin) {
      const source = Readable.from(options.stdin, { objectMode: false });
      source.on('error', (err) => {
        inputError = err;
        child.kill('SIGKILL');
      });
      // EPIPE when the child stops reading early (it failed, or needs no more): its exit status tells.
      pipeline(source, child.stdin).catch(() => undefined);
    }
    let stdout = '';
    let stderr = '';
    let partial = '';
    const limit = options.stderrLimit ?? 64_000;
    const abort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (options.onStdoutLine) {
        partial += text;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) options.onStdoutLine(line);
      } else {
        stdout += text;
      }
    });
    // stderr by line: a failed storage read (ffmpeg may still exit 0, with a cut input) kills the child and
    // rejects; a recovered early end of a response (http-read.ts) is left out of what callers see.
    let errPartial = '';
    let readFailure: string | null = null;
    const onStderrLine = (line: string) => {
      const kind = httpReadLine(line);
      if (kind === 'piece-end') return;
      if (kind === 'failure' && readFailure === null) {
        readFailure = line;
        child.kill('SIGKILL');
      }
      stderr += `${line}\n`;
      if (stderr.length > limit) stderr = stderr.slice(-limit);
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      errPartial += chunk.toString();
      const lines = errPartial.split('\n');
      errPartial = lines.pop() ?? '';
      for (const line of lines) onStderrLine(line);
    });
    child.on('error', (err) => {
      if (sampler) clearInterval(sampler);
      running.delete(child);
      reject(err);
    });
    child.on('exit', () => {
      if (sampler) clearInterval(sampler);
      const reaped = reapedChildrenCpuSec();
      if (account) account.cpuSec += Math.max(0, reaped - reapedSoFar);
      reapedSoFar = reaped;
    });
    child.on('close', (code, signal) => {
      if (sampler) clearInterval(sampler);
      running.delete(child);
      options.signal?.removeEventListener('abort', abort);
      if (errPartial) onStderrLine(errPartial);
      if (inputError) reject(inputError instanceof Error ? inputError : new Error(String(inputError)));
      else if (readFailure !== null) reject(new StorageReadError(`reading storage failed: ${stderrTail(readFailure, 1)}`));
      else resolve({ code, signal, stdout, stderr, sched });
    });
  });
}

export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

export function runningChildren(): number {
  return running.size;
}

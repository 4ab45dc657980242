/**
 * Holds for tests that must catch a unit mid-encode on any machine, fast or slow. `TRANSCODER_HOLD_UNITS` (unset in
 * production, so nothing here runs there) lists job units, comma-separated: `encode:240p@3`, `encode:*@1` (any rung
 * group of chunk 1), `audio`, `live@2` (the live ladder's encode of a broadcast's segment 2; HoldList says which
 * units each entry holds). The first attempt of a held unit (its
 * callback's `attempt` is 1) runs its ffmpeg in short slices (SIGCONT, a few milliseconds, SIGSTOP) from the moment
 * it is spawned until it has written its first output bytes, then leaves it stopped and logs one line:
 *
 *   held: encode:240p@3 of originals/vid_…/original (job job_…, attempt 1): ffmpeg pid 1234 stopped after its first output
 *
 * From then on the unit is held at that point for as long as the test wants: its lease stays alive (the callback
 * heartbeat goes on), nothing more is written. The test then kills the process or the container (the unit is taken
 * over when its lease expires), SIGKILLs the ffmpeg (the attempt fails and is retried), or SIGCONTs it (the attempt
 * goes on as if nothing happened). A retried attempt (attempt 2 and later) is never held.
 *
 * Deterministic by construction: ffmpeg is looked at only while it is stopped (the kernel says so in /proc: Linux,
 * as in the container), and a slice is far shorter than the time any machine takes to encode a segment, so the
 * hold cannot be missed because the machine is fast. The muxer writes a segment's bytes when it closes it, so a
 * held unit must have at least two segments: a unit of one segment writes its only output as ffmpeg exits, and
 * its hold may be missed (it is then logged as not held, and the unit runs through).
 *
 * A live unit (`live@2`) is held as its ffmpeg is spawned, before it has read anything: one live segment's encode
 * takes a fraction of a second, less than a slice can last on a busy machine, so it is not brought to a first
 * output. Its line says `stopped at its start`.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CallbackSpec } from './protocol';

/** How long ffmpeg runs between two looks at its output while it is brought to the hold point. */
const SLICE_MS = 5;
/** A media segment ffmpeg writes (MPEG-TS or CMAF), finished or still being written (`.tmp`); not the init segment. */
const OUTPUT_FILE = /^segment_\d{4,6}\.(ts|m4s)(\.tmp)?$/;

/** The job unit of a dispatched request, named as the Worker names it (`encode:240p+360p@1`, `audio`). */
export function unitOfRequest(jobPath: string, body: Record<string, unknown>): string | null {
  if (jobPath === '/v1/audio') return 'audio';
  if (jobPath === '/v1/live') return typeof body.seq === 'number' ? `live@${body.seq}` : null;
  if (jobPath !== '/v1/encode') return null;
  const rungs = Array.isArray(body.rungs) ? body.rungs.map((r) => (r as { name?: unknown }).name) : [];
  const chunk = (body.chunk as { index?: unknown } | undefined)?.index;
  if (!rungs.every((r) => typeof r === 'string') || typeof chunk !== 'number') return null;
  return `encode:${rungs.join('+')}@${chunk}`;
}

function matches(selector: string, unit: string): boolean {
  if (selector === unit) return true;
  const wild = /^encode:\*@(\d+)$/.exec(selector);
  return wild !== null && new RegExp(`^encode:[^@]+@${wild[1]}$`).test(unit);
}

/** Whether `dir` holds output ffmpeg has written (a segment, finished or still being written, with bytes in it). */
async function hasOutput(dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return false;
  }
  for (const name of names.filter((n) => OUTPUT_FILE.test(n))) {
    if ((await stat(path.join(dir, name)).catch(() => null))?.size) return true;
  }
  return false;
}

/** The process's state letter from /proc (`T`: stopped, `Z`: exited, not yet reaped), null once it is gone. */
function procState(pid: number): string | null {
  try {
    return /^\d+ \(.*\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * SIGSTOP, then wait until the kernel has stopped it: true if it is stopped, false if it has exited. The stop usually
 * lands within microseconds, so the first looks come at once; after those, every millisecond. Looking in a tight loop
 * would burn a core while ffmpeg waits for a CPU to take the signal on: on a busy machine that is most of a slice.
 */
async function stop(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return false;
  }
  for (let look = 0; ; look++) {
    const state = procState(pid);
    if (state === 'T' || state === 't') return true;
    if (state === null || state === 'Z' || state === 'X') return false;
    await new Promise((r) => (look < 3 ? setImmediate(r) : setTimeout(r, 1)));
  }
}

/**
 * The entries of `TRANSCODER_HOLD_UNITS` not used yet. Each entry holds one unit: the first first attempt of a
 * matching unit that this process runs (list an entry twice to hold two). A container runs one unit, so there every
 * matching unit is held.
 */
export class HoldList {
  private readonly entries: string[];

  constructor(value = process.env.TRANSCODER_HOLD_UNITS ?? '') {
    this.entries = value.split(',').map((s) => s.trim()).filter(Boolean);
  }

  /** The hold for a dispatched job, or null. A request without an attempt number is never held. */
  take(jobPath: string, body: Record<string, unknown>, callback: Pick<CallbackSpec, 'jobId' | 'attempt'>): Hold | null {
    const unit = unitOfRequest(jobPath, body);
    if (!unit || callback.attempt !== 1) return null;
    const i = this.entries.findIndex((s) => matches(s, unit));
    if (i < 0) return null;
    this.entries.splice(i, 1);
    const source = typeof body.sourceKey === 'string' ? body.sourceKey : '?';
    return new Hold(`${unit} of ${source}`, callback, unit.startsWith('live@'));
  }
}

export class Hold {
  constructor(
    /** What is held, for the log line: the unit and its source (`encode:240p@3 of originals/vid_…/original`). */
    readonly what: string,
    private readonly callback: Pick<CallbackSpec, 'jobId' | 'attempt'>,
    /** Stop the process as it is spawned instead of after its first output (live units). */
    private readonly atStart = false,
  ) {}

  /**
   * Called as soon as the unit's ffmpeg is spawned, with the directories it writes its segments into: brings it
   * to the hold point and leaves it stopped there (see the file comment). True once held; never rejects.
   */
  async engage(child: ChildProcess, outputDirs: string[]): Promise<boolean> {
    const pid = child.pid;
    if (pid === undefined) return false;
    if (this.atStart) {
      if (!(await stop(pid))) return false;
      console.log(`held: ${this.what} (job ${this.callback.jobId}, attempt ${this.callback.attempt}): ffmpeg pid ${pid} stopped at its start`);
      return true;
    }
    for (;;) {
      if (!(await stop(pid))) {
        console.warn(`hold: ${this.what} (job ${this.callback.jobId}) ended before it wrote output; not held`);
        return false;
      }
      if ((await Promise.all(outputDirs.map(hasOutput))).some(Boolean)) break;
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // killed meanwhile (the job was aborted): the next stop() says so
      }
      await new Promise((r) => setTimeout(r, SLICE_MS));
    }
    console.log(`held: ${this.what} (job ${this.callback.jobId}, attempt ${this.callback.attempt}): ffmpeg pid ${child.pid} stopped after its first output`);
    return true;
  }
}

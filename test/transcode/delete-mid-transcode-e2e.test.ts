/**
 * Deleting a video in the middle of its transcode, through the real local stack (wrangler dev, the transcoder Node
 * process, ffmpeg): its unfinished units end CANCELLED at once and stay so while the transcoder, let go again,
 * finishes or abandons what it was running. The hold point is ours: the transcoder's whole process group is
 * stopped (SIGSTOP) once an encode is running, so nothing moves between "mid-transcode" and the delete however fast
 * or slow the machine is. While it is held, /healthz says the platform is degraded (the transcoder does not answer),
 * not down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/local-stack';
import { getVideo, internalHeaders, makeSource, uploadOriginal } from '../helpers/transcoding-media';

interface JobView {
  unit: string;
  status: string;
}

let stack: Stack;
let workDir: string;
let held = false;

/** Stops or resumes every process of the transcoder's group (tsx, node, ffmpeg). */
function signalTranscoder(signal: 'SIGSTOP' | 'SIGCONT'): void {
  const pid = stack.transcoder?.pid;
  if (pid === undefined) throw new Error('the stack has no transcoder process');
  process.kill(-pid, signal);
  held = signal === 'SIGSTOP';
}

async function jobsOf(id: string): Promise<JobView[]> {
  const res = await fetch(`${stack.origin}/internal/transcoding/videos/${id}/jobs`, { headers: internalHeaders() });
  expect(res.status).toBe(200);
  return ((await res.json()) as { jobs: JobView[] }).jobs;
}

const unfinished = (jobs: JobView[]) => jobs.filter((j) => j.status === 'PENDING' || j.status === 'PROCESSING');

async function until<T>(what: string, timeoutMs: number, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
}

describe('deleting a video mid-transcode (local stack)', () => {
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'delete-mid-transcode-'));
    // 6 s chunks: a 48 s source is 8 chunks × 2 rung groups, plus audio and thumbnails: many units, so the hold
    // always finds most of them unfinished.
    stack = await startStack({ transcoder: true, vars: { TRANSCODE_CHUNK_SEC: '6' } });
  }, 300_000);

  afterAll(async () => {
    if (held) signalTranscoder('SIGCONT');
    await stack?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("ends every unfinished unit CANCELLED, and nothing comes back PENDING or PROCESSING afterwards", async () => {
    const source = await makeSource(path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 48 });
    const id = await uploadOriginal(stack, 'deleted while encoding', source);
    await until('an encode unit to run', 180_000, () => getVideo(stack, id), (v) => v.processing.some((p) => p.unit.startsWith('encode:') && p.status === 'PROCESSING'));

    signalTranscoder('SIGSTOP');
    const before = await jobsOf(id);
    expect(unfinished(before).length, JSON.stringify(before)).toBeGreaterThan(0);

    // Held: the transcoder does not answer, and the platform says so without going down.
    const health = await fetch(`${stack.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, status: 'degraded', checks: { d1: { status: 'ok' }, r2: { status: 'ok' }, transcoder: { status: 'unreachable' } } });

    const deleted = await fetch(`${stack.origin}/v1/videos/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${stack.token}` } });
    expect(deleted.status).toBe(204);
    const afterDelete = await jobsOf(id);
    expect(unfinished(afterDelete)).toEqual([]);
    for (const job of unfinished(before)) expect(afterDelete.find((j) => j.unit === job.unit)?.status, job.unit).toBe('CANCELLED');

    // Let go: whatever the transcoder was running reports to a deleted video (410) and stops.
    signalTranscoder('SIGCONT');
    await until('the transcoder to be idle', 180_000, async () => (await (await fetch(`${stack.transcoderUrl}/healthz`)).json()) as { jobs: number }, (h) => h.jobs === 0);
    const settled = await jobsOf(id);
    expect(unfinished(settled)).toEqual([]);
    expect(settled.filter((j) => j.status === 'CANCELLED').length).toBeGreaterThan(0);
    expect((await (await fetch(`${stack.origin}/healthz`)).json()) as { status: string }).toMatchObject({ status: 'ok' });
  }, 400_000);
});

/**
 * `npm start` (scripts/start.ts) keeps the platform up when its transcoder dies: the transcoder's launcher is
 * killed with SIGKILL, the Worker goes on answering, the transcoder is started again (its old process group gone, so
 * the port is free for the new one), and a video uploaded afterwards is transcoded to READY. The launcher runs on
 * free ports with its own state directory (`EDGE_VIDEO_STATE_DIR`), beside any developer's `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, freePort } from '../helpers/local-stack';
import { makeSource } from '../helpers/transcoding-media';

let launcher: ChildProcess;
let workDir: string;
let origin: string;
let transcoderUrl: string;
let output = '';
const transcoderPids: number[] = [];

/** Resolves with the first match of `pattern` in the launcher's output (already printed or still to come). */
function printed(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(output);
      if (!m) return false;
      clearTimeout(timer);
      launcher.stdout!.off('data', check);
      launcher.stderr!.off('data', check);
      resolve(m);
      return true;
    };
    const timer = setTimeout(() => reject(new Error(`npm start never printed ${pattern}; its output:\n${output.slice(-3000)}`)), timeoutMs);
    if (check()) return;
    launcher.stdout!.on('data', check);
    launcher.stderr!.on('data', check);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function status(id: string, token: string): Promise<string> {
  const res = await fetch(`${origin}/v1/videos/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  return ((await res.json()) as { status: string }).status;
}

describe('npm start supervises its transcoder', () => {
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'start-supervision-'));
    const port = await freePort();
    const transcoderPort = await freePort();
    origin = `http://127.0.0.1:${port}`;
    transcoderUrl = `http://127.0.0.1:${transcoderPort}`;
    launcher = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, CI: '1', PORT: String(port), TRANSCODER_PORT: String(transcoderPort), EDGE_VIDEO_STATE_DIR: path.join(workDir, 'state') },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group (wrangler dev and workerd with it), stopped as a group at the end.
      detached: true,
    });
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of chunk.toString().matchAll(/\[start\] transcoder (?:started|restarted) \(pid (\d+)\)/g)) transcoderPids.push(Number(m[1]));
    };
    launcher.stdout!.on('data', collect);
    launcher.stderr!.on('data', collect);
    // Up: the Worker answers and the crons ran once.
    await printed(/\[start\] crons ran/, 240_000);
  }, 300_000);

  afterAll(async () => {
    if (launcher?.pid !== undefined && launcher.exitCode === null) {
      const exited = new Promise((r) => launcher.once('exit', r));
      launcher.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      try {
        process.kill(-launcher.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of transcoderPids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it('restarts a transcoder killed with SIGKILL while the Worker keeps serving, and transcodes afterwards', async () => {
    const token = (await printed(/\[start\] creator token: (evt_[0-9a-z]+)/, 1000))[1]!;
    expect((await (await fetch(`${transcoderUrl}/healthz`)).json()) as { ok: boolean }).toMatchObject({ ok: true });
    const first = transcoderPids[0]!;

    process.kill(first, 'SIGKILL');
    await printed(/\[start\] transcoder exited \(SIGKILL\); restarting in \d+ ms/, 30_000);
    // The Worker did not stop with it.
    const during = await fetch(`${origin}/healthz`);
    expect(during.status).toBe(200);
    expect(launcher.exitCode).toBeNull();

    await printed(/\[start\] transcoder restarted \(pid \d+\)/, 60_000);
    expect(transcoderPids[1]).not.toBe(first);
    expect(alive(first)).toBe(false);
    // The new transcoder got the port (the old one's node process did not keep it).
    const deadline = Date.now() + 60_000;
    let health: { status: string } | null = null;
    while (Date.now() < deadline) {
      health = (await (await fetch(`${origin}/healthz`)).json()) as { status: string };
      if (health.status === 'ok') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(health).toMatchObject({ status: 'ok', checks: { transcoder: { status: 'ok' } } });

    // And the platform still does its job with it: a new upload becomes READY.
    const file = await makeSource(path.join(workDir, 'after-restart.mp4'), { width: 320, height: 180, seconds: 4 });
    const bytes = readFileSync(file);
    const auth = { Authorization: `Bearer ${token}` };
    const created = await fetch(`${origin}/v1/videos`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'after the restart' }) });
    const { id } = (await created.json()) as { id: string };
    const init = await fetch(`${origin}/v1/videos/${id}/upload`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ fileSize: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }),
    });
    expect(init.status).toBe(201);
    expect((await fetch(`${origin}/v1/videos/${id}/upload/chunks/0`, { method: 'PUT', headers: auth, body: bytes })).status).toBe(201);
    expect((await fetch(`${origin}/v1/videos/${id}/upload/complete`, { method: 'POST', headers: auth })).status).toBe(200);
    const readyBy = Date.now() + 240_000;
    let current = await status(id, token);
    while (current !== 'READY' && current !== 'FAILED' && Date.now() < readyBy) {
      await new Promise((r) => setTimeout(r, 500));
      current = await status(id, token);
    }
    expect(current).toBe('READY');
  }, 400_000);
});

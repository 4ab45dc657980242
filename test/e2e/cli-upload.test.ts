/**
 * The upload CLI against the shared local stack (wrangler dev + the transcoder; shared-stack.ts): a run killed mid-upload is resumed
 * by running the same command again (not restarted from zero), the video is processed, and the CLI prints its
 * watch URL. A rejected token fails clearly before anything is created. The CLI talks to the stack through a
 * forwarding proxy of the test's, which holds the upload's second PATCH: the kill lands mid-upload however fast
 * the machine uploads.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type StackClient } from '../helpers/local-stack';
import { sharedStack } from '../helpers/shared-stack';

const MiB = 1024 * 1024;
/** tsx's loader by URL: the CLI runs in a scratch directory, where a bare `--import tsx` would not resolve. */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
let stack: StackClient;
let dir: string;
let video: string;
let statePath: string;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A forwarding proxy to the stack (Location headers rewritten to itself). From `holdPatch` on, the n-th PATCH (1-based)
 * and every later one are held, unanswered, until `passThrough()`; `held` resolves when the first one is.
 */
function uploadProxy(target: string) {
  let holdFrom = Infinity;
  let patches = 0;
  let onHeld: () => void = () => undefined;
  const parked: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'PATCH' && ++patches >= holdFrom) {
      parked.push(req);
      onHeld();
      return;
    }
    const up = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (upRes) => {
      const headers = { ...upRes.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(target, origin);
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  let origin = '';
  return {
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      return origin;
    },
    holdPatch(n: number): Promise<void> {
      holdFrom = patches + n;
      return new Promise<void>((resolve) => (onHeld = resolve));
    },
    passThrough(): void {
      holdFrom = Infinity;
      for (const req of parked.splice(0)) req.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
let proxy: ReturnType<typeof uploadProxy>;
/** The proxy's origin: what the CLI is told the platform is. */
let via: string;

/** Runs the CLI; once `killWhen` resolves, it is SIGKILLed, as a crash or a closed laptop would. */
function cli(args: string[], killWhen?: Promise<unknown>): Promise<RunResult> {
  return new Promise((resolve) => {
    // One process (node with tsx's loader), not the tsx wrapper: SIGKILL must kill the uploader itself, not leave
    // an orphaned child finishing the upload.
    const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'scripts', 'upload.ts'), ...args], {
      cwd: dir,
      env: { ...process.env, EDGE_VIDEO_TOKEN: '', EDGE_VIDEO_STATE: statePath },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    void killWhen?.then(() => child.kill('SIGKILL'));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cli-e2e-'));
  statePath = path.join(dir, 'state', 'uploads.json');
  video = path.join(dir, 'noisy clip.mp4');
  // ~20 MB in 4 s (lossless noise at 240p): four 5 MiB parts, so an interruption lands mid-upload, while the
  // ladder is one cheap 240p rung (the transcode is not what this test is about).
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30:duration=4', '-f', 'lavfi', '-i', 'sine=duration=4',
    '-vf', 'noise=alls=40:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', video,
  ]);
  // The shared stack: 5 MiB parts, 2 s segments (shared-stack.ts).
  stack = await sharedStack('cli e2e');
  proxy = uploadProxy(stack.origin);
  via = await proxy.listen();
}, 180_000);

afterAll(async () => {
  proxy?.passThrough();
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('upload CLI against the local stack', () => {
  it('rejects an unknown token before creating anything', async () => {
    const r = await cli([video, '--origin', stack.origin, '--token', 'evt_unknown0000000000000000000000000000000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('rejected the token (401)');
    const list = (await (await fetch(`${stack.origin}/v1/videos`, { headers: { Authorization: `Bearer ${stack.token}` } })).json()) as { videos: unknown[] };
    expect(list.videos).toHaveLength(0);
  });

  it('resumes after being killed mid-upload, waits for processing and prints the watch URL', async () => {
    const size = statSync(video).size;
    const args = [video, '--origin', via, '--token', stack.token, '--title', 'CLI clip'];
    // Killed while its second PATCH is held: the first part is stored, the rest is not.
    const first = await cli(args, proxy.holdPatch(2));
    proxy.passThrough();
    expect(first.signal).toBe('SIGKILL');
    expect(first.stdout).toMatch(/stored \d/);
    expect(first.stdout).toMatch(/Created video vid_\w+/);
    const videoId = /Created video (vid_\w+)/.exec(first.stdout)![1]!;
    // The state file remembers the upload URL under the file's fingerprint.
    expect(readFileSync(statePath, 'utf8')).toContain(videoId);

    const second = await cli(args);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`Resuming the unfinished upload of this file (video ${videoId})`);
    const resumedFrom = /resumed from ([\d.]+) MB/.exec(second.stdout);
    expect(resumedFrom, second.stdout).not.toBeNull();
    expect(Number(resumedFrom![1]) * 1e6).toBeGreaterThanOrEqual(5 * MiB - 1e5);
    expect(second.stdout).toMatch(/Ready: 240p\./);
    expect(second.stdout).toContain(`Watch: ${via}/watch/${videoId}`);

    const status = (await (await fetch(`${stack.origin}/v1/videos/${videoId}`)).json()) as { status: string; title: string };
    expect(status).toMatchObject({ status: 'READY', title: 'CLI clip' });
    // One video, not two: the second run continued the first one's upload.
    const list = (await (await fetch(`${stack.origin}/v1/videos`, { headers: { Authorization: `Bearer ${stack.token}` } })).json()) as { videos: { id: string }[] };
    expect(list.videos.map((v) => v.id)).toEqual([videoId]);
    // Done uploads are forgotten (removeFingerprintOnSuccess).
    expect(readFileSync(statePath, 'utf8')).not.toContain(videoId);
    expect(size).toBeGreaterThan(10 * MiB);
  });
});

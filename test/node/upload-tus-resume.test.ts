/**
 * End to end against real `wrangler dev` (Miniflare: R2 and Durable Objects on disk) with the unmodified
 * tus-js-client for Node: a 60 MB upload is interrupted halfway and resumed by a new client instance; a second one
 * survives a server restart mid-upload. The stored original is read back from R2's local state and compared by
 * SHA-256 with the input.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startStack, type Stack } from '../helpers/local-stack';

const SIZE = 60 * 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** tus-js-client's URL storage, in memory and shared between client instances (a browser's localStorage). */
class MemoryUrlStorage implements tus.UrlStorage {
  private readonly entries = new Map<string, tus.PreviousUpload & { fingerprint: string }>();
  private next = 0;
  async findAllUploads() {
    return [...this.entries.values()];
  }
  async findUploadsByFingerprint(fingerprint: string) {
    return [...this.entries.values()].filter((u) => u.fingerprint === fingerprint);
  }
  async removeUpload(urlStorageKey: string) {
    this.entries.delete(urlStorageKey);
  }
  async addUpload(fingerprint: string, upload: tus.PreviousUpload) {
    const key = `tus::${fingerprint}::${this.next++}`;
    this.entries.set(key, { ...upload, fingerprint, urlStorageKey: key });
    return key;
  }
}

function videoIdOf(uploadUrl: string): string {
  const m = /\/v1\/uploads\/(vid_[0-9a-z]{16})-up_[0-9a-z]{16}$/.exec(uploadUrl);
  if (!m) throw new Error(`unexpected upload URL ${uploadUrl}`);
  return m[1]!;
}

/** Reads the stored original straight from the local R2 state that wrangler dev persists. */
function readOriginal(stack: Stack, videoId: string): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'original-'));
  const file = path.join(dir, 'original');
  try {
    execFileSync(
      path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
      ['r2', 'object', 'get', `edge-video-media/originals/${videoId}/original`, '--local', '--persist-to', stack.stateDir, '--file', file],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } },
    );
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function headOffset(stack: Stack, uploadUrl: string): Promise<number> {
  const res = await fetch(uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${stack.token}` } });
  expect(res.status).toBe(200);
  return Number(res.headers.get('Upload-Offset'));
}

function options(stack: Stack, storage: tus.UrlStorage, extra: Partial<tus.UploadOptions> = {}): tus.UploadOptions {
  return {
    endpoint: `${stack.origin}/v1/uploads`,
    headers: { Authorization: `Bearer ${stack.token}` },
    metadata: { title: 'tus e2e', filetype: 'video/mp4' },
    urlStorage: storage,
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    ...extra,
  };
}

describe('tus-js-client against wrangler dev', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('uploads 60 MB, is interrupted halfway, resumes from a new client instance, and R2 holds identical bytes', async () => {
    const file = randomBytes(SIZE);
    const storage = new MemoryUrlStorage();

    // Client 1: the whole file in one PATCH (tus-js-client's default chunkSize), aborted at half.
    const first = new tus.Upload(file, options(stack, storage));
    const aborted = new Promise<void>((resolve, reject) => {
      first.options.onProgress = (sent) => {
        if (sent >= SIZE / 2) first.abort().then(resolve, reject);
      };
      first.options.onError = reject;
      first.options.onSuccess = () => reject(new Error('the upload finished before it was interrupted'));
    });
    first.start();
    await aborted;
    const uploadUrl = first.url!;
    expect(uploadUrl).toBeTruthy();

    // What the server acknowledged is durable; the part in flight when the client vanished is not counted.
    let stored = 0;
    for (let i = 0; i < 20 && stored === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      stored = await headOffset(stack, uploadUrl);
    }
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(SIZE);

    // Client 2: a new instance finds the previous upload through the URL storage and resumes it.
    const patchOffsets: number[] = [];
    const second = new tus.Upload(
      file,
      options(stack, storage, {
        retryDelays: [200, 500, 1000, 2000, 4000],
        onBeforeRequest: (req) => {
          if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        },
      }),
    );
    const previous = await second.findPreviousUploads();
    expect(previous).toHaveLength(1);
    second.resumeFromPreviousUpload(previous[0]!);
    await new Promise<void>((resolve, reject) => {
      second.options.onSuccess = () => resolve();
      second.options.onError = reject;
      second.start();
    });
    expect(second.url).toBe(uploadUrl);
    expect(patchOffsets[0]).toBeGreaterThanOrEqual(stored);

    const videoId = videoIdOf(uploadUrl);
    const video = (await (await fetch(`${stack.origin}/v1/videos/${videoId}`, { headers: { Authorization: `Bearer ${stack.token}` } })).json()) as {
      status: string;
    };
    expect(video.status).toBe('PROCESSING');
    const original = readOriginal(stack, videoId);
    expect(original.byteLength).toBe(SIZE);
    expect(sha256(original)).toBe(sha256(file));
  });

  it('survives a server restart in the middle of an upload without losing a stored byte', async () => {
    const file = randomBytes(SIZE);
    const storage = new MemoryUrlStorage();
    let acknowledgedBeforeRestart = -1;
    let afterRestart = -1;
    let retries = 0;
    let restarting: Promise<void> | null = null;
    // The PATCH after the restart began waits until the old server is gone, so the upload meets the restart
    // however fast the machine uploads the rest.
    let serverGone: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (serverGone = resolve));
    const upload = new tus.Upload(
      file,
      options(stack, storage, {
        // 8 MiB PATCHes against 10 MiB parts: most acknowledgements end in a staged tail, which must survive too.
        chunkSize: 8 * 1024 * 1024,
        // wrangler dev takes a few seconds to come back: keep retrying meanwhile.
        retryDelays: [500, 1000, 2000, 3000, 5000, 5000, 10_000, 10_000, 20_000],
        onShouldRetry: () => {
          retries++;
          return true;
        },
        onBeforeRequest: async (req) => {
          if (restarting && req.getMethod() === 'PATCH') await stopped;
        },
        onChunkComplete: (_chunk, accepted) => {
          if (accepted >= SIZE / 2 && !restarting) {
            acknowledgedBeforeRestart = accepted;
            restarting = stack.restartWorker(serverGone).then(async () => {
              afterRestart = await headOffset(stack, upload.url!);
            });
          }
        },
      }),
    );
    await new Promise<void>((resolve, reject) => {
      upload.options.onSuccess = () => resolve();
      upload.options.onError = reject;
      upload.start();
    });
    await restarting;
    expect(acknowledgedBeforeRestart).toBeGreaterThan(0);
    expect(retries).toBeGreaterThan(0);
    // Every byte acknowledged before the restart was still there after it.
    expect(afterRestart).toBeGreaterThanOrEqual(acknowledgedBeforeRestart);

    const videoId = videoIdOf(upload.url!);
    const original = readOriginal(stack, videoId);
    expect(sha256(original)).toBe(sha256(file));
  });
});

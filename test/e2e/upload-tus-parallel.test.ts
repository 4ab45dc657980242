/**
 * End to end against the real local stack (wrangler dev, the queue consumer, the transcoder process, ffmpeg) with
 * the unmodified tus-js-client for Node: `parallelUploads: 4` (tus concatenation) together with
 * `uploadDataDuringCreation` (each partial's bytes travel in its creation POST). The original read back is
 * byte-identical to the file and the video reaches READY. The file is small (a few MB) to keep CI time low. The
 * original is a composite of the four partials' objects (no copy); it is read back, and the transcoder reads it,
 * through the storage gateway, exactly as a single-object original.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackClient } from '../helpers/local-stack';
import { sharedStack } from '../helpers/shared-stack';
import { getObject, makeSource, waitForStatus } from '../helpers/transcoding-media';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('tus-js-client parallelUploads + uploadDataDuringCreation against the local stack', () => {
  let stack: StackClient;
  let dir: string;
  let source: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tus-parallel-'));
    const file = path.join(dir, 'clip.mp4');
    const [started] = await Promise.all([
      // The shared stack: 5 MiB parts, superfast (shared-stack.ts).
      sharedStack('tus parallel e2e'),
      // Noisy footage at ~25 Mb/s: about 7 MB in 4 s, more than one 5 MiB part, cheap to transcode at 320x240.
      makeSource(file, { width: 320, height: 240, seconds: 4, noisy: true }),
    ]);
    stack = started;
    source = readFileSync(file);
  });

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('uploads in 4 parallel partials, concatenates them into a byte-identical original, and the video becomes READY', async () => {
    expect(source.byteLength).toBeGreaterThan(5 * 1024 * 1024);
    const requests: string[] = [];
    const partials: string[] = [];
    const upload = await new Promise<tus.Upload>((resolve, reject) => {
      const u: tus.Upload = new tus.Upload(source, {
        endpoint: `${stack.origin}/v1/uploads`,
        headers: { Authorization: `Bearer ${stack.token}` },
        metadata: { title: 'parallel tus e2e', filetype: 'video/mp4' },
        parallelUploads: 4,
        uploadDataDuringCreation: true,
        retryDelays: [],
        onBeforeRequest: (req) => {
          requests.push(`${req.getMethod()} ${req.getHeader('Upload-Concat') ?? ''}`.trim());
        },
        onAfterResponse: (req, res) => {
          if (req.getMethod() === 'POST' && req.getHeader('Upload-Concat') === 'partial') partials.push(res.getHeader('Location') ?? '');
        },
        onSuccess: () => resolve(u),
        onError: reject,
      });
      u.start();
    });
    // Four partial creations carrying their data (no PATCH needed), then one final.
    expect(requests.filter((r) => r === 'POST partial')).toHaveLength(4);
    expect(requests.filter((r) => r.startsWith('POST final;'))).toHaveLength(1);
    expect(requests.filter((r) => r.startsWith('PATCH'))).toHaveLength(0);

    const m = /\/v1\/uploads\/(vid_[0-9a-z]{16})-up_[0-9a-z]{16}$/.exec(upload.url ?? '');
    expect(m, `final upload URL ${upload.url}`).not.toBeNull();
    const videoId = m![1]!;
    const original = await getObject(stack, `originals/${videoId}/original`);
    expect(original.byteLength).toBe(source.byteLength);
    expect(sha256(original)).toBe(sha256(source));
    // The partials have ended once concatenated (their objects now belong to the video's composite original).
    expect(partials).toHaveLength(4);
    for (const url of partials) {
      const res = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${stack.token}` } });
      expect(res.status).toBe(410);
    }

    const video = await waitForStatus(stack, videoId, ['READY', 'FAILED']);
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-80).join(''));
    expect(video.status).toBe('READY');
  });
});

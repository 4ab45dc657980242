/**
 * Import from a URL through real `wrangler dev` (its queue consumer) and the transcoder, against a source server of
 * the test on loopback (allowed by name with IMPORT_PRIVATE_HOSTS; every other private address stays refused):
 * a file that imports and plays; one cut short mid-way that resumes with Range and arrives byte-identical; one
 * that lies about its length; one that redirects to a private address; a 404; a source that sends steadily but
 * cannot finish within the time limit; one that goes quiet; and URLs refused up front.
 */
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startStack, type Stack } from '../helpers/local-stack';
import { getVideo, makeSource, waitForStatus } from '../helpers/transcoding-media';

let stack: Stack;
let workDir: string;
let server: Server;
let sourceOrigin: string;
let file: Buffer;
/** Requests the source server saw, with the Range each asked for. */
const seen: { path: string; range: string | null }[] = [];
let cutOnce = true;

function source(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const range = req.headers.range ?? null;
  seen.push({ path: url, range });
  const etag = '"v1"';
  if (url === '/video.mp4') {
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(file.length), ETag: etag }).end(file);
  } else if (url === '/cut.mp4') {
    // The first answer stops after 40 % of the bytes; a resumed request (Range, If-Range) gets the rest.
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && req.headers['if-range'] === etag) {
      const start = Number(m[1]);
      res.writeHead(206, { 'Content-Type': 'video/mp4', 'Content-Length': String(file.length - start), 'Content-Range': `bytes ${start}-${file.length - 1}/${file.length}`, ETag: etag }).end(file.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(file.length), ETag: etag, 'Accept-Ranges': 'bytes' });
    if (cutOnce) {
      cutOnce = false;
      res.write(file.subarray(0, Math.floor(file.length * 0.4)), () => res.destroy());
    } else res.end(file);
  } else if (url === '/liar.mp4') {
    // Declares twice the file's length and sends the file, every time (no validator: no resume either).
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(file.length * 2) });
    res.write(file, () => res.destroy());
  } else if (url === '/to-private') {
    res.writeHead(302, { Location: 'http://10.0.0.1/internal.mp4' }).end();
  } else if (url === '/to-video') {
    res.writeHead(301, { Location: '/video.mp4' }).end();
  } else if (url === '/missing.mp4') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such file');
  } else if (url === '/drip.mp4') {
    // 4 KiB every 100 ms of a declared 64 MiB: never quiet for the 5 s stall limit (50 times its pace, room for a
    // busy machine's pauses), and it cannot finish before the time limit however fast the machine is (the source
    // sets the pace). Bounded: it stops at the limit.
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(64 * 1024 * 1024) });
    const chunk = Buffer.alloc(4096, 7);
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= 600) return clearInterval(timer);
      res.write(chunk);
      sent++;
    }, 100);
    res.on('close', () => clearInterval(timer));
  } else if (url === '/stall.mp4') {
    // The first 64 KiB, then nothing on a connection held open (until the importer drops it).
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(file.length) });
    res.write(file.subarray(0, 65536));
  } else res.writeHead(404).end();
}

async function copy(url: string, title: string): Promise<Response> {
  return fetch(`${stack.origin}/v1/videos/copy`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url, title }),
  });
}

async function imported(url: string, title: string): Promise<string> {
  const res = await copy(url, title);
  expect(res.status).toBe(202);
  const video = (await res.json()) as { id: string; status: string; import: { url: string; status: string } };
  expect(video.status).toBe('UPLOADING');
  expect(video.import).toMatchObject({ url, status: 'PENDING' });
  return video.id;
}

async function originalSha256(id: string): Promise<string> {
  const res = await fetch(`${stack.origin}/internal/storage/originals/${id}/original`, { headers: { Authorization: 'Bearer e2e-internal-token' } });
  expect(res.status).toBe(200);
  return createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
}

describe('import from a URL (real wrangler dev, queue consumer, transcoder)', () => {
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'import-e2e-'));
    file = readFileSync(await makeSource(path.join(workDir, 'source.mp4'), { width: 320, height: 240, seconds: 3 }));
    const port = await freePort();
    sourceOrigin = `http://127.0.0.1:${port}`;
    server = createServer(source);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    stack = await startStack({
      transcoder: true,
      vars: { IMPORT_PRIVATE_HOSTS: `127.0.0.1:${port}`, IMPORT_STALL_MS: '5000', IMPORT_TIME_LIMIT_SEC: '20', IMPORT_MAX_ATTEMPTS: '2', IMPORT_RETRY_BASE_DELAY_SEC: '1' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('imports a file (following a redirect) into a video that transcodes and plays', async () => {
    const id = await imported(`${sourceOrigin}/to-video`, 'imported');
    const video = await waitForStatus(stack, id, ['READY', 'FAILED']);
    expect(video.status, JSON.stringify(video)).toBe('READY');
    expect(await originalSha256(id)).toBe(createHash('sha256').update(file).digest('hex'));
    expect((await getVideo(stack, id)) as unknown).toMatchObject({ import: { status: 'COMPLETED', bytesFetched: file.length, totalBytes: file.length } });
  });

  it('a connection cut mid-way resumes with Range and If-Range, and the original is byte-identical', async () => {
    const id = await imported(`${sourceOrigin}/cut.mp4`, 'cut short');
    await waitForStatus(stack, id, ['PROCESSING', 'READY', 'FAILED']);
    expect((await getVideo(stack, id)).status).not.toBe('FAILED');
    expect(await originalSha256(id)).toBe(createHash('sha256').update(file).digest('hex'));
    const asked = seen.filter((s) => s.path === '/cut.mp4');
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked[0]!.range).toBeNull();
    // The resume asked from the end of the stored parts (0 here: the cut came before the first whole 10 MiB part).
    expect(asked.at(-1)!.range === null || /^bytes=\d+-$/.test(asked.at(-1)!.range!)).toBe(true);
  });

  it.each([
    ['/liar.mp4', /the source ended after \d+ of \d+ bytes \(after 2 attempts\)|connection to the source was lost.*\(after 2 attempts\)/],
    ['/to-private', /redirected to a refused URL: url points at a private address \(10\.0\.0\.1\)/],
    ['/missing.mp4', /HTTP 404/],
    ['/drip.mp4', /did not finish within 20 s/],
    ['/stall.mp4', /the source sent nothing for 5 s \(after 2 attempts\)/],
  ])('%s fails the video with the reason, keeping nothing', async (pathName, reason) => {
    const id = await imported(`${sourceOrigin}${pathName}`, pathName);
    const video = await waitForStatus(stack, id, ['FAILED', 'PROCESSING', 'READY'], 120_000);
    expect(video.status).toBe('FAILED');
    expect((video as unknown as { error: string }).error).toMatch(reason);
    const listed = await fetch(`${stack.origin}/internal/storage?prefix=originals/${id}/`, { headers: { Authorization: 'Bearer e2e-internal-token' } });
    expect(((await listed.json()) as { objects: unknown[] }).objects).toEqual([]);
  });

  it('refuses private, loopback, metadata and non-http URLs up front (400, nothing created)', async () => {
    const before = ((await (await fetch(`${stack.origin}/v1/videos`, { headers: { Authorization: `Bearer ${stack.token}` } })).json()) as { videos: unknown[] }).videos.length;
    for (const url of ['http://127.0.0.1:9/x.mp4', `http://localhost:${new URL(sourceOrigin).port}/video.mp4`, 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'ftp://example.com/x.mp4', 'http://user:pw@example.com/x.mp4', 'not a url']) {
      const res = await copy(url, 'refused');
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
    const missingUrl = await fetch(`${stack.origin}/v1/videos/copy`, { method: 'POST', headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'no url' }) });
    expect(missingUrl.status).toBe(400);
    const after = ((await (await fetch(`${stack.origin}/v1/videos`, { headers: { Authorization: `Bearer ${stack.token}` } })).json()) as { videos: unknown[] }).videos.length;
    expect(after).toBe(before);
  });
});

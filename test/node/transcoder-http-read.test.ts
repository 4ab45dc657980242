/**
 * ffmpeg/ffprobe reading storage the way the transcoder does: through the bounded-read proxy
 * (containers/transcoder/src/range-proxy.ts) with `-reconnect` (http-read.ts). Storage is asked only for bounded
 * pieces and never for much more than ffmpeg consumes; ffmpeg reads exactly what it reads from the file; a storage
 * failure is a transient StorageReadError, never a cut input passed off as whole (ffmpeg itself exits 0 then) nor
 * an "undecodable file" (InputError). A small HTTP server on 127.0.0.1 plays storage (the gateway): exact ranges,
 * a count of requests and bytes, and a 503 after a given number of requests.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../containers/transcoder/src/errors';
import { FFMPEG_HTTP_READ, httpReadLine, StorageReadError } from '../../containers/transcoder/src/http-read';
import { analyze } from '../../containers/transcoder/src/probe';
import { run } from '../../containers/transcoder/src/process';
import { RangeProxy } from '../../containers/transcoder/src/range-proxy';
import { makeSource } from '../helpers/transcoding-media';

const execFileP = promisify(execFile);
const PIECE = 32 * 1024;
let dir: string;
let file: string;
let bytes: Buffer;
let server: Server;
let origin: string;
/**
 * Per object name: requests, bytes sent, the longest range asked, after how many requests storage fails, and a
 * byte span where every request that starts inside it fails (a hole in storage, whatever the order of reads).
 */
interface Stat {
  requests: number;
  sent: number;
  longest: number;
  failAfter: number;
  failSpan?: { from: number; to: number };
}
const stats = new Map<string, Stat>();
const proxy = new RangeProxy((key, start, end, signal) => fetch(`${origin}/${key}`, { headers: { Range: `bytes=${start}-${end}` }, signal }), PIECE);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'transcoder-http-read-'));
  // moov at the end (no faststart), like a camera file: readers seek to the end and back.
  file = await makeSource(path.join(dir, 'src.mp4'), { width: 320, height: 180, seconds: 6 });
  bytes = readFileSync(file);
  server = createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    const s = stats.get(name) ?? { requests: 0, sent: 0, longest: 0, failAfter: 0 };
    stats.set(name, s);
    s.requests++;
    const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = r ? Number(r[1]) : 0;
    const inHole = s.failSpan !== undefined && start >= s.failSpan.from && start < s.failSpan.to;
    if (inHole || (s.failAfter > 0 && s.requests > s.failAfter)) return void res.writeHead(503, { 'Content-Length': '0' }).end();
    if (start >= bytes.length) return void res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}`, 'Content-Length': '0' }).end();
    const end = Math.min(r && r[2] ? Number(r[2]) : bytes.length - 1, bytes.length - 1);
    s.longest = Math.max(s.longest, end - start + 1);
    s.sent += end - start + 1;
    res.writeHead(r ? 206 : 200, { ...(r ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}), 'Content-Length': String(end - start + 1) });
    res.end(bytes.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await proxy.start();
});

afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const framemd5 = (input: string[], map = ['-map', '0', '-c', 'copy']) => ['-nostdin', '-v', 'warning', ...input, ...map, '-f', 'framemd5', '-'];
/** Where a top-level MP4 box starts and how many bytes it spans (32-bit sizes: the test file is small). */
const topLevelBox = (file: Buffer, type: string): { start: number; size: number } => {
  for (let at = 0; at + 8 <= file.length; ) {
    const size = file.readUInt32BE(at);
    if (file.toString('latin1', at + 4, at + 8) === type) return { start: at, size };
    if (size < 8) break;
    at += size;
  }
  throw new Error(`no top-level ${type} box`);
};
const packets = (stdout: string) => stdout.split('\n').filter((l) => l && !l.startsWith('#'));

describe('bounded storage reads through the proxy', () => {
  it('ffmpeg reads every packet exactly as from the file; storage only sees bounded pieces', async () => {
    const local = await run('ffmpeg', framemd5(['-i', file]));
    const remote = await run('ffmpeg', framemd5([...FFMPEG_HTTP_READ, '-i', proxy.url('whole')]));
    expect(remote.code).toBe(0);
    expect(packets(remote.stdout)).toEqual(packets(local.stdout));
    expect(packets(local.stdout).length).toBeGreaterThan(300);
    const s = stats.get('whole')!;
    expect(s.longest).toBeLessThanOrEqual(PIECE);
    expect(s.requests).toBeGreaterThan(bytes.length / PIECE);
  });

  it('a short read: storage is asked for bounded pieces only, and nothing more once ffmpeg is done', async () => {
    // What ffmpeg consumed plus what its socket buffers held is what storage sent: a small file fits in loopback's
    // socket buffers, so this checks the bound per request and that reading stops, not the total.
    const r = await run('ffmpeg', framemd5([...FFMPEG_HTTP_READ, '-ss', '3', '-i', proxy.url('short')], ['-map', '0:v:0', '-frames:v', '5']));
    expect(r.code).toBe(0);
    expect(packets(r.stdout)).toHaveLength(5);
    const s = stats.get('short')!;
    expect(s.longest).toBeLessThanOrEqual(PIECE);
    const after = s.requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.requests).toBe(after);
  });

  it('answers ranges like storage: 206 with the asked Content-Range, 416 past the end, 200 without Range', async () => {
    const part = await fetch(proxy.url('ranges'), { headers: { Range: `bytes=10-${10 + 2 * PIECE + 5}` } });
    expect(part.status).toBe(206);
    expect(part.headers.get('Content-Range')).toBe(`bytes 10-${10 + 2 * PIECE + 5}/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 10 + 2 * PIECE + 6))).toBe(true);
    const across = await fetch(proxy.url('ranges'), { headers: { Range: `bytes=${bytes.length - 7}-` } });
    expect(across.headers.get('Content-Range')).toBe(`bytes ${bytes.length - 7}-${bytes.length - 1}/${bytes.length}`);
    expect((await across.arrayBuffer()).byteLength).toBe(7);
    const past = await fetch(proxy.url('ranges'), { headers: { Range: `bytes=${bytes.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('Content-Range')).toBe(`bytes */${bytes.length}`);
    const whole = await fetch(proxy.url('ranges'));
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('ffprobe analysis through the proxy sees what it sees in the file', async () => {
    expect(await analyze(proxy.url('probe'), FFMPEG_HTTP_READ)).toEqual(await analyze(file));
  });

  it('a storage failure midway is a StorageReadError, though ffmpeg without -reconnect exits 0 with a cut input', async () => {
    // Storage fails from the middle of the media data up to the moov at the end: the header and the index read
    // fine, the samples stop halfway, however far ahead the proxy had fetched when ffmpeg seeked.
    const mdat = topLevelBox(bytes, 'mdat');
    const hole = { from: mdat.start + Math.floor(mdat.size / 2), to: mdat.start + mdat.size };
    expect(topLevelBox(bytes, 'moov').start).toBeGreaterThanOrEqual(hole.to);
    stats.set('cut', { requests: 0, sent: 0, longest: 0, failAfter: 0, failSpan: hole });
    // ffmpeg on its own (not through `run`): exit status 0, fewer packets than the file has.
    const plain = await execFileP('ffmpeg', framemd5(['-i', proxy.url('cut')]), { maxBuffer: 64 << 20 }); // rejects on a non-zero exit
    expect(packets(plain.stdout).length).toBeLessThan(packets((await run('ffmpeg', framemd5(['-i', file]))).stdout).length);
    stats.set('cut', { requests: 0, sent: 0, longest: 0, failAfter: 0, failSpan: hole });
    await expect(run('ffmpeg', framemd5([...FFMPEG_HTTP_READ, '-i', proxy.url('cut')]))).rejects.toBeInstanceOf(StorageReadError);
  });

  it('a storage failure during analysis is transient, not "not a readable video"', async () => {
    stats.set('analysis', { requests: 0, sent: 0, longest: 0, failAfter: 4 });
    const err = await analyze(proxy.url('analysis'), FFMPEG_HTTP_READ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageReadError);
    expect(err).not.toBeInstanceOf(InputError);
  });

  it("tells failures from recovered early ends by ffmpeg 5.1's own lines", () => {
    expect(httpReadLine('[http @ 0x55] Stream ends prematurely at 4194304, should be 156215153')).toBe('piece-end');
    expect(httpReadLine('[http @ 0x55] Will reconnect at 4194304 in 0 second(s), error=Input/output error.')).toBe('piece-end');
    expect(httpReadLine('[http @ 0x55] Will reconnect at 4194304 in 1 second(s), error=Input/output error.')).toBe('failure');
    expect(httpReadLine('[http @ 0x55] HTTP error 502 Bad Gateway')).toBe('failure');
    expect(httpReadLine('[http @ 0x55] Failed to reconnect at 4194304.')).toBe('failure');
    expect(httpReadLine('[tcp @ 0x55] Connection to tcp://127.0.0.1:9 failed: Connection refused')).toBe('failure');
    expect(httpReadLine('[http @ 0x55] Stream ends prematurely at 4194304, should be 18446744073709551615')).toBe('failure');
    expect(httpReadLine('[h264 @ 0x55] Invalid NAL unit size (8169 > 359).')).toBe('other');
  });
});

/**
 * The audio unit reads only the audio track of an MP4/MOV original (containers/transcoder/src/mp4-index.ts and the
 * proxy's sparse views): the `moov` sample tables say where each track's samples are, the proxy serves the video's
 * samples as zeros without fetching them, and ffmpeg, which discards the video stream, never looks at them.
 * Storage is a small HTTP server on 127.0.0.1 counting the bytes it sends. Checked: the index agrees with ffprobe
 * byte for byte; the audio segments are identical to those of a whole read; storage sends a small part of the
 * file; a source that is not ISO BMFF (MPEG-TS), or whose `moov` is cut, is read whole, as before.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTrackSamples, skippableForAudio, type ReadAt } from '../../containers/transcoder/src/mp4-index';
import { encodeAudio } from '../../containers/transcoder/src/pipeline';
import type { AudioRequest } from '../../containers/transcoder/src/protocol';
import { HttpStorage } from '../../containers/transcoder/src/storage';
import { makeSource } from '../helpers/transcoding-media';

const execFileP = promisify(execFile);
let dir: string;
let server: Server;
let origin: string;
const files = new Map<string, Buffer>();
let sent = 0;
/** Byte ranges storage sent (inclusive). */
const ranges: [number, number][] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'transcoder-audio-sparse-'));
  // 640×360 at the noisy source's ~25 Mb/s for 8 s: ~26 MB, nearly all of it video.
  const mp4 = await makeSource(path.join(dir, 'src.mp4'), { width: 640, height: 360, seconds: 8, noisy: true });
  files.set('originals/vid_a/original', readFileSync(mp4));
  await execFileP('ffmpeg', ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', '-f', 'mpegts', path.join(dir, 'src.ts')]);
  files.set('originals/vid_ts/original', readFileSync(path.join(dir, 'src.ts')));
  const cut = readFileSync(mp4);
  files.set('originals/vid_cut/original', cut.subarray(0, cut.length - 2000)); // the moov (at the end) is cut short
  server = createServer((req, res) => {
    const bytes = files.get(decodeURIComponent((req.url ?? '').slice(1)));
    if (!bytes) return void res.writeHead(404, { 'Content-Length': '0' }).end();
    const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = r ? Number(r[1]) : 0;
    if (start >= bytes.length) return void res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}`, 'Content-Length': '0' }).end();
    const end = Math.min(r && r[2] ? Number(r[2]) : bytes.length - 1, bytes.length - 1);
    sent += end - start + 1;
    ranges.push([start, end]);
    res.writeHead(r ? 206 : 200, { ...(r ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}), 'Content-Length': String(end - start + 1) });
    res.end(bytes.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const readFrom = (bytes: Buffer): ReadAt => async (offset, length) => new Uint8Array(bytes.subarray(offset, offset + length));

async function packetBytes(file: string, stream: 'v' | 'a'): Promise<number> {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=size', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter(Boolean).reduce((a, l) => a + Number(l.split(',')[0]), 0);
}

const request = (): AudioRequest => ({ sourceKey: 'x', outputPrefix: 'videos/x/audio/', segmentDurationSec: 2, audioBitrate: 128_000, sourceDuration: 8, sourceHasAudio: true });

/** The audio unit's segments (name → SHA-256) for a source URL. */
async function audioSegments(url: string, name: string, inputOptions: string[]): Promise<Record<string, string>> {
  const work = path.join(dir, name);
  mkdirSync(work, { recursive: true });
  await encodeAudio(url, request(), work, { inputOptions });
  const out = path.join(work, 'audio');
  return Object.fromEntries(readdirSync(out).filter((f) => f.endsWith('.ts')).sort().map((f) => [f, createHash('sha256').update(readFileSync(path.join(out, f))).digest('hex')]));
}

describe('reading only the audio track of an MP4', () => {
  it('indexes each track’s samples exactly as ffprobe counts them, in a few small reads', async () => {
    const bytes = files.get('originals/vid_a/original')!;
    let reads = 0;
    const tracks = await readTrackSamples(async (o, n) => (reads++, readFrom(bytes)(o, n)), bytes.length);
    expect(tracks?.map((t) => t.handler)).toEqual(['vide', 'soun']);
    expect(tracks![0]!.bytes).toBe(await packetBytes(path.join(dir, 'src.mp4'), 'v'));
    expect(tracks![1]!.bytes).toBe(await packetBytes(path.join(dir, 'src.mp4'), 'a'));
    expect(reads).toBeLessThanOrEqual(6);
    // Never skip an audio byte: nothing skippable overlaps the audio samples.
    const skip = skippableForAudio(tracks, 0)!;
    for (const [s, e] of tracks![1]!.ranges) expect(skip.some(([a, b]) => a <= e && s <= b)).toBe(false);
    // Not ISO BMFF, or a moov cut short: no index (the caller reads the whole file).
    expect(await readTrackSamples(readFrom(files.get('originals/vid_ts/original')!), files.get('originals/vid_ts/original')!.length)).toBeNull();
    expect(await readTrackSamples(readFrom(files.get('originals/vid_cut/original')!), files.get('originals/vid_cut/original')!.length)).toBeNull();
    expect(skippableForAudio(null, 0)).toBeNull();
  });

  it('encodes the same audio segments from a sparse read, fetching a fraction of the file', async () => {
    // Skipping from 1 MiB on, every run of video however short: this source is muxed by ffmpeg, which interleaves
    // per frame (production keeps the first 8 MiB and skips only runs of 1 MiB or more: none here).
    const keep = 1024 * 1024;
    const storage = new HttpStorage(origin, '', { keepPrefix: keep, minSkip: 0 });
    const size = files.get('originals/vid_a/original')!.length;
    sent = 0;
    const whole = await audioSegments(await storage.ffmpegUrl('originals/vid_a/original'), 'whole', storage.ffmpegInput());
    const wholeSent = sent;
    sent = 0;
    ranges.length = 0;
    const source = await storage.ffmpegAudioSource('originals/vid_a/original');
    const sparse = await audioSegments(source.url, 'sparse', storage.ffmpegInput());
    source.release();
    expect(Object.keys(whole).length).toBeGreaterThanOrEqual(4);
    expect(sparse).toEqual(whole);
    expect(source.stats.sourceBytes).toBe(size);
    expect(source.stats.skippedBytes).toBeGreaterThan(0.8 * size);
    // Storage never sent a skipped byte (the skipped ranges: the video's samples past the first MiB), and sent
    // well under what the whole read cost.
    const skip = skippableForAudio(await readTrackSamples(readFrom(files.get('originals/vid_a/original')!), size), keep)!;
    expect(skip.reduce((a, [s, e]) => a + e - s + 1, 0)).toBe(source.stats.skippedBytes);
    const overlapping = ranges.filter(([s, e]) => skip.some(([a, b]) => a <= e && s <= b));
    expect(overlapping).toEqual([]);
    expect(source.stats.fetchedBytes()).toBeGreaterThan(0);
    expect(sent).toBeLessThan(0.5 * wholeSent);
  }, 120_000);

  it('skips only runs worth a request: none in a file muxed per frame, and nothing at all before keepPrefix', async () => {
    const bytes = files.get('originals/vid_a/original')!;
    const tracks = await readTrackSamples(readFrom(bytes), bytes.length);
    const all = skippableForAudio(tracks, 0)!;
    expect(all.length).toBeGreaterThan(100);
    expect(Math.max(...all.map(([s, e]) => e - s + 1))).toBeLessThan(1024 * 1024);
    expect(skippableForAudio(tracks, 0, 1024 * 1024)).toEqual([]);
    expect(skippableForAudio(tracks, 0, 100_000)!.every(([s, e]) => e - s + 1 >= 100_000)).toBe(true);
    expect(skippableForAudio(tracks, bytes.length, 0)).toEqual([]);
    // The production settings read this file whole (one plain URL, as before).
    const source = await new HttpStorage(origin, '').ffmpegAudioSource('originals/vid_a/original');
    expect(source.stats.skippedBytes).toBeNull();
  });

  it('reads a source that is not MP4 (MPEG-TS), or whose moov is cut, whole as before', async () => {
    const storage = new HttpStorage(origin, '');
    for (const key of ['originals/vid_ts/original', 'originals/vid_cut/original']) {
      const source = await storage.ffmpegAudioSource(key);
      expect(source.stats).toMatchObject({ sourceBytes: null, skippedBytes: null });
      expect(source.url).toBe(await storage.ffmpegUrl(key));
    }
  });
});

/**
 * The live ladder's encode (containers/transcoder/src/live.ts) in a real transcoder process with real ffmpeg: the
 * segments a broadcaster's ffmpeg pushes (`-f hls`, 854x480, keyframe every 2 s) go in one at a time through
 * `POST /v1/live`, and each lower rung's copy comes out into storage (a small HTTP server on 127.0.0.1 playing the
 * Worker's storage route): one closed GOP per segment starting with a keyframe, exactly the source's frames and
 * audio packets, on the source's own timestamps (so rungs and segments line up on one timeline), with its video
 * codec read from the segment's SPS. Bad requests are refused as permanent errors and store nothing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveSegmentRequest, LiveSegmentResult } from '../../containers/transcoder/src/live-protocol';
import type { JobEvent } from '../../containers/transcoder/src/protocol';
import { ROOT, freePort, waitFor } from '../helpers/local-stack';

const TOKEN = 'live-test-token';
let dir: string;
let storage: Server;
let storageOrigin: string;
let transcoder: ChildProcess;
let base: string;
/** What storage holds: the pushed segments at first, then what the transcoder PUT. */
const objects = new Map<string, Buffer>();

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

interface Packet {
  pts: number;
  key: boolean;
}

/** The video (or audio) packets of a TS file, in presentation order. */
function packets(bytes: Buffer, stream: 'v' | 'a'): Packet[] {
  const file = path.join(dir, `probe-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, bytes);
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  rmSync(file);
  return out
    .split('\n')
    .filter((l) => /^\d/.test(l))
    .map((l) => l.split(','))
    .map(([pts, flags]) => ({ pts: Number(pts), key: (flags ?? '').startsWith('K') }))
    .sort((a, b) => a.pts - b.pts);
}

const dims = (bytes: Buffer) => {
  const file = path.join(dir, 'dims.ts');
  writeFileSync(file, bytes);
  return execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], { encoding: 'utf8' }).split('\n').filter(Boolean)[0];
};

const request = (seq: number): LiveSegmentRequest => ({
  sourceKey: `videos/vid_live/480p/segment_000${seq}.ts`,
  seq,
  x264Preset: 'veryfast',
  rungs: [
    { name: '360p', width: 640, height: 360, bitrate: 800_000, maxrate: 1_200_000, bufsize: 1_600_000, outputKey: `videos/vid_live/360p/segment_000${seq}.ts` },
    { name: '240p', width: 426, height: 240, bitrate: 400_000, maxrate: 600_000, bufsize: 800_000, outputKey: `videos/vid_live/240p/segment_000${seq}.ts` },
  ],
});

async function post(body: unknown): Promise<JobEvent<LiveSegmentResult>> {
  const res = await fetch(`${base}/v1/live`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  const lines = (await res.text()).trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as JobEvent<LiveSegmentResult>;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'transcoder-live-'));
  // What a broadcaster pushes: ffmpeg's HLS muxer, 2 s segments, a keyframe at each.
  execFileSync('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '6',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-c:a', 'aac',
    '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', path.join(dir, 'index.m3u8'),
  ]);
  for (let n = 0; n < 3; n++) objects.set(`videos/vid_live/480p/segment_000${n}.ts`, readFileSync(path.join(dir, `index${n}.ts`)));
  objects.set('videos/vid_live/480p/segment_0009.ts', Buffer.from('this is not a video segment'));
  storage = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
      const key = decodeURIComponent((req.url ?? '').replace(/^\/storage\//, ''));
      if (req.method === 'PUT') {
        objects.set(key, Buffer.concat(chunks));
        return void res.writeHead(200).end();
      }
      const bytes = objects.get(key);
      if (!bytes) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Length': String(bytes.length) }).end(bytes);
    });
  });
  storageOrigin = await listen(storage);
  const port = await freePort();
  transcoder = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'containers', 'transcoder', 'src', 'server.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', STORAGE_URL: `${storageOrigin}/storage`, INTERNAL_TOKEN: TOKEN },
  });
  transcoder.stderr?.on('data', () => undefined);
  base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/healthz`, 60_000, transcoder);
}, 120_000);

afterAll(async () => {
  transcoder?.kill('SIGTERM');
  await new Promise((r) => storage?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the live ladder encode', () => {
  it('turns each pushed segment into every lower rung: one keyframe first, the same frames, audio and timestamps', async () => {
    for (const seq of [0, 1, 2]) {
      const event = await post(request(seq));
      expect(event.type).toBe('result');
      const result = (event as Extract<typeof event, { type: 'result' }>).result;
      expect(result.rungs.map((r) => r.name)).toEqual(['360p', '240p']);
      for (const r of result.rungs) {
        // High profile (0x64); the level follows the picture size.
        expect(r.videoCodec).toMatch(/^avc1\.64[0-9a-f]{4}$/);
        expect(r.bytes).toBe(objects.get(`videos/vid_live/${r.name}/segment_000${seq}.ts`)?.length);
      }
      expect(result.encodeSec).toBeGreaterThan(0);
    }

    let previousEnd: Record<string, number> = {};
    for (let seq = 0; seq < 3; seq++) {
      const source = objects.get(`videos/vid_live/480p/segment_000${seq}.ts`)!;
      const sourceVideo = packets(source, 'v');
      const sourceAudio = packets(source, 'a');
      for (const [name, size] of [['360p', '640,360'], ['240p', '426,240']] as const) {
        const out = objects.get(`videos/vid_live/${name}/segment_000${seq}.ts`)!;
        expect(dims(out)).toBe(size);
        const video = packets(out, 'v');
        // One closed GOP over exactly the source's frames, at the source's presentation times.
        expect(video.length).toBe(sourceVideo.length);
        expect(video[0]!.key).toBe(true);
        expect(video.filter((p) => p.key)).toHaveLength(1);
        expect(video.map((p) => p.pts)).toEqual(sourceVideo.map((p) => p.pts));
        // The audio is the source's, copied.
        expect(packets(out, 'a').map((p) => p.pts)).toEqual(sourceAudio.map((p) => p.pts));
        // Continuous across segments: this one starts one frame after the previous one's last frame.
        if (previousEnd[name] !== undefined) expect(video[0]!.pts - previousEnd[name]!).toBeCloseTo(1 / 30, 3);
        previousEnd = { ...previousEnd, [name]: video[video.length - 1]!.pts };
      }
    }
  });

  it('refuses bad requests as permanent errors, and a source that is not media, storing nothing', async () => {
    const before = objects.size;
    const bad: unknown[] = [
      { ...request(1), rungs: [] },
      { ...request(1), rungs: [{ ...request(1).rungs[0]!, width: 641 }] },
      { ...request(1), rungs: [{ ...request(1).rungs[0]!, outputKey: '../etc/passwd' }] },
      { ...request(1), sourceKey: 'http://elsewhere/x.ts' },
      { ...request(1), seq: 'one' },
    ];
    for (const body of bad) {
      const event = await post(body);
      expect(event).toMatchObject({ type: 'error', permanent: true });
      expect((event as { message: string }).message).toMatch(/^invalid (live|job) request/);
    }
    const notMedia = await post({ ...request(9), sourceKey: 'videos/vid_live/480p/segment_0009.ts' });
    expect(notMedia).toMatchObject({ type: 'error', permanent: true });
    expect((notMedia as { message: string }).message).toMatch(/live encode of segment 9 failed/);
    expect(objects.size).toBe(before);
  });
});

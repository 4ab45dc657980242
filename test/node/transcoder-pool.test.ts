/**
 * A local pool of transcoder processes behaves like instances (workers/transcoding/transcoder-client.ts, the
 * benchmark's "two workers"): two real transcoder servers with one CPU slot each, storage played by a small HTTP
 * server on 127.0.0.1 that holds every read of the original until the test opens its gate (so a job keeps its slot
 * for as long as the test needs), and a callback endpoint that records the reports.
 * - A job goes to an idle process when there is one, else to one with a free CPU slot: a busy one refuses (503
 *   `busy`) a dispatch that asks `only if idle` / `only if free`, and the client tries the next one;
 * - light jobs (the audio unit) run beside an encode and never take its slot;
 * - `freeEncodeSlots` counts the free slots (0 once every slot is taken) (admission then holds encodes back), and a job sent anyway
 *   queues behind the running one instead of being lost;
 * - every job reports its result once the gate opens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONLY_IF_FREE_HEADER, type AudioRequest, type CallbackBody, type EncodeRequest } from '../../containers/transcoder/src/protocol';
import { loadConfig } from '../../workers/shared/config';
import { transcoderFor } from '../../workers/transcoding/transcoder-client';
import { ROOT, freePort, waitFor } from '../helpers/local-stack';
import { makeSource } from '../helpers/transcoding-media';

const TOKEN = 'pool-test-token';
let dir: string;
let storage: Server;
let storageOrigin: string;
let opened = false;
const held: (() => void)[] = [];
const callbacks: CallbackBody[] = [];
const procs: ChildProcess[] = [];
const bases: string[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'transcoder-pool-'));
  const bytes = readFileSync(await makeSource(path.join(dir, 'src.mp4'), { width: 320, height: 180, seconds: 6 }));
  // Storage: GET of the original (ranges) waits for the gate; PUTs of outputs are accepted and dropped; callbacks
  // (same server, another path) are recorded.
  storage = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      if (req.url === '/callback') {
        callbacks.push(JSON.parse(Buffer.concat(body).toString('utf8')) as CallbackBody);
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      }
      if (req.method === 'PUT') return void res.writeHead(200).end();
      const serve = () => {
        const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const start = r ? Number(r[1]) : 0;
        if (start >= bytes.length) return void res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}`, 'Content-Length': '0' }).end();
        const end = Math.min(r && r[2] ? Number(r[2]) : bytes.length - 1, bytes.length - 1);
        res.writeHead(r ? 206 : 200, { ...(r ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}), 'Content-Length': String(end - start + 1) });
        res.end(bytes.subarray(start, end + 1));
      };
      if (opened) serve();
      else held.push(serve);
    });
  });
  storageOrigin = await listen(storage);
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'containers', 'transcoder', 'src', 'server.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', STORAGE_URL: `${storageOrigin}/storage`, INTERNAL_TOKEN: TOKEN, TRANSCODER_CONCURRENCY: '1', CALLBACK_INTERVAL_MS: '500' },
    });
    child.stderr?.on('data', () => undefined);
    procs.push(child);
    bases.push(`http://127.0.0.1:${port}`);
    await waitFor(`${bases[i]}/healthz`, 60_000, child);
  }
}, 120_000);

afterAll(async () => {
  for (const p of procs) p.kill('SIGTERM');
  opened = true;
  for (const serve of held.splice(0)) serve();
  await new Promise((r) => storage.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const health = async (base: string) => (await (await fetch(`${base}/healthz`)).json()) as { free: number; jobs: number };
const free = async (base: string) => (await health(base)).free;

function encode(jobId: string): EncodeRequest {
  return {
    sourceKey: 'originals/vid_pool/original',
    rungs: [{ name: '240p', width: 320, height: 180, bitrate: 300_000, maxrate: 450_000, bufsize: 600_000, outputPrefix: `videos/vid_pool/${jobId}/` }],
    chunk: { index: 0, startSec: 0, endSec: null, firstSegment: 0 },
    callback: { url: `${storageOrigin}/callback`, jobId, claim: 1 },
    segmentDurationSec: 2,
    x264Preset: 'ultrafast',
    sourceDuration: 6,
    sourceFrameRate: 30,
    maxFrameRate: 60,
  };
}

function audio(jobId: string): AudioRequest {
  return {
    sourceKey: 'originals/vid_pool/original',
    outputPrefix: 'videos/vid_pool/audio/',
    segmentDurationSec: 2,
    audioBitrate: 64_000,
    sourceDuration: 6,
    sourceHasAudio: true,
    callback: { url: `${storageOrigin}/callback`, jobId, claim: 1 },
  };
}

describe('a local pool of transcoder processes', () => {
  it('sends each encode to a process with a free CPU slot, runs light jobs beside them, and reports when all slots are taken', async () => {
    const pool = transcoderFor({} as Env, loadConfig({ TRANSCODER_URL: bases.join(','), INTERNAL_TOKEN: TOKEN }));
    expect(await pool.freeEncodeSlots?.()).toBe(2);
    // A process that does not answer /healthz (nothing listens on its port) is not counted as busy: admission lets
    // the dispatch through, and the dispatch meets the failure and retries as for a single process.
    const dead = `http://127.0.0.1:${await freePort()}`;
    const withDead = transcoderFor({} as Env, loadConfig({ TRANSCODER_URL: [...bases, dead].join(','), INTERNAL_TOKEN: TOKEN }));
    expect(await withDead.freeEncodeSlots?.()).toBe(3);

    // encode-1 takes process A's slot (its reads are held at the gate).
    expect((await pool.post('/v1/encode', encode('encode-1'), 'i1')).status).toBe(202);
    expect([await free(bases[0]!), await free(bases[1]!)]).toEqual([0, 1]);
    // A busy process refuses a dispatch that asks for a free slot, with a clear code.
    const refused = await fetch(`${bases[0]}/v1/encode`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', [ONLY_IF_FREE_HEADER]: '1' }, body: JSON.stringify(encode('refused')) });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'busy' } });

    // A process running anything is not idle.
    const notIdle = await fetch(`${bases[0]}/v1/audio`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', [ONLY_IF_FREE_HEADER]: 'idle' }, body: JSON.stringify(audio('refused-audio')) });
    expect(notIdle.status).toBe(503);

    // The audio unit is light: it goes to the idle process B and does not take B's CPU slot.
    expect((await pool.post('/v1/audio', audio('audio'), 'i2')).status).toBe(202);
    expect(await health(bases[1]!)).toMatchObject({ free: 1, jobs: 1 });
    expect(await health(bases[0]!)).toMatchObject({ free: 0, jobs: 1 });

    // encode-2: round robin would pick A (busy); it goes to B, the process with a free slot.
    expect((await pool.post('/v1/encode', encode('encode-2'), 'i3')).status).toBe(202);
    expect([await free(bases[0]!), await free(bases[1]!)]).toEqual([0, 0]);
    expect(await pool.freeEncodeSlots?.()).toBe(0);

    // Sent anyway (two consumers raced past admission): it queues on a process rather than being refused or lost.
    expect((await pool.post('/v1/encode', encode('encode-3'), 'i4')).status).toBe(202);

    opened = true;
    for (const serve of held.splice(0)) serve();
    const want = ['audio', 'encode-1', 'encode-2', 'encode-3'];
    for (let i = 0; i < 600 && want.some((id) => !callbacks.some((c) => c.jobId === id && c.event.type !== 'progress')); i++) await new Promise((r) => setTimeout(r, 100));
    const finals = callbacks.filter((c) => c.event.type !== 'progress');
    expect(finals.map((c) => c.jobId).sort()).toEqual(want);
    expect(finals.every((c) => c.event.type === 'result')).toBe(true);
    expect([await free(bases[0]!), await free(bases[1]!)]).toEqual([1, 1]);
    expect(await pool.freeEncodeSlots?.()).toBe(2);
  }, 120_000);
});

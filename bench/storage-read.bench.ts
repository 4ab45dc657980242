/**
 * `npm run bench -- storage-read`: what reading a large original through the LOCAL storage gateway costs
 * (`/internal/storage/originals/{id}/original` on wrangler dev: its proxy, workerd, Miniflare's R2 simulator), the
 * path every transcoding unit's ffprobe/ffmpeg reads take locally. It starts the local stack (no transcoder: the
 * analysis the upload triggers fails at once and stays out of the way), uploads one large MP4 (a 640×360 source of
 * BENCH_SR_SOURCE_SEC seconds, default 600: ~130 MB with its `moov` at the end, the first-playable bench's long
 * source), and measures, each case one after the other, wall time and the CPU seconds of the stack's processes
 * (wrangler's node and workerd, from /proc/<pid>/stat before and after) for:
 *   (i)   one open-ended `Range: bytes=N-` read, consumed fully;
 *   (ii)  open-ended reads abandoned after a few MB (what ffmpeg does when it seeks), and the CPU the stack spends
 *         in the seconds after the reader has gone;
 *   (iii) bounded reads of the same bytes in pieces of 1, 4 and 16 MB;
 *   (iv)  ffprobe of the original (as analysis and every chunk do), straight at the gateway (as before) and through
 *         the transcoder's bounded-read proxy (containers/transcoder/src/range-proxy.ts, as now), like (v)–(vii);
 *   (v)   ffmpeg decoding an 18 s chunk from the middle (`-ss`, `-f null`), as `encode:240p@k` reads it;
 *   (vi)  chunk 0's read while the audio unit's read (`-readrate 10`) of the same original runs;
 *   (vii) slow readers: the audio unit's read alone for 8 s; an open-ended range read at 2 MB/s, or not at all;
 *   (viii) correctness: through the proxy, ffmpeg reads the same packets as from the file (framemd5).
 * Every case is bounded in time (BENCH_SR_CASE_SEC, default 120 s); BENCH_SR_CASES (a regular expression) runs only
 * the cases whose name matches. Output: bench/results/storage-read.json.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchResult } from './run';
import { STACK_SECRETS, startStack, type Stack } from '../test/helpers/local-stack';
import { makeSource, uploadOriginal } from '../test/helpers/transcoding-media';
import { FFMPEG_HTTP_READ } from '../containers/transcoder/src/http-read';
import { RangeProxy } from '../containers/transcoder/src/range-proxy';
import { stackCpuMeter, stackProcesses } from './proc-cpu';

const execFileP = promisify(execFile);
const SOURCE_SEC = Number(process.env.BENCH_SR_SOURCE_SEC ?? 600);
const CASE_MS = Number(process.env.BENCH_SR_CASE_SEC ?? 120) * 1000;
const WORK_DIR = process.env.BENCH_SR_DIR ?? path.join(os.tmpdir(), 'bench-storage-read');
const MB = 1 << 20;
const log = (msg: string) => console.log(`[storage-read ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const f2 = (n: number) => n.toFixed(2);
const AUTH = { Authorization: `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}` };
const FFMPEG_HEADERS = `Authorization: Bearer ${STACK_SECRETS.INTERNAL_TOKEN}\r\n`;

/** CPU seconds of the stack by process name (workerd, node), and of this process's children, since this call. */
function cpuMeter(stack: Stack) {
  const stackCpu = stackCpuMeter(stack.wrangler.pid!);
  const childCpu0 = selfChildrenTicks();
  const t0 = performance.now();
  return () => {
    const { total, byName } = stackCpu();
    return { wallSec: (performance.now() - t0) / 1000, stackCpuSec: total, byName, readerCpuSec: (selfChildrenTicks() - childCpu0) / 100 };
  };
}

/** CPU ticks of this process's reaped children (ffmpeg, ffprobe). */
function selfChildrenTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const x = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(x[13]) + Number(x[14]);
}

const url = (stack: Stack, id: string) => `${stack.origin}/internal/storage/originals/${id}/original`;

/**
 * Reads `bytes=from-` (or `bytes=from-to`) as ffmpeg with `-reconnect 1` does: when a 206 ends before the range
 * does (the gateway bounds each response), it asks again from where the body ended. Stops after `limit` bytes (the
 * reader is abandoned: the connection is cancelled) or at the range's end. `rate` (bytes/s, 0: none at all until
 * `ms`) paces a slow reader; `ms` bounds the time. Returns bytes read, requests made and the first status.
 */
async function read(stack: Stack, id: string, from: number, to: number | null, opts: { limit?: number; rate?: number; ms?: number } = {}): Promise<{ bytes: number; requests: number; status: number }> {
  const limit = opts.limit ?? Infinity;
  const ms = opts.ms ?? CASE_MS;
  const t0 = performance.now();
  let at = from;
  let bytes = 0;
  let requests = 0;
  let status = 0;
  while (bytes < limit && performance.now() - t0 < ms && (to === null || at <= to)) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), CASE_MS);
    try {
      const res = await fetch(url(stack, id), { headers: { ...AUTH, Range: `bytes=${at}-${to ?? ''}` }, signal: ctl.signal });
      requests++;
      status ||= res.status;
      if (res.status !== 206) throw new Error(`GET bytes=${at}-: ${res.status}`);
      const size = Number(/\/(\d+)$/.exec(res.headers.get('Content-Range') ?? '')?.[1]);
      const reader = res.body!.getReader();
      let done = false;
      while (!done) {
        if (performance.now() - t0 >= ms || bytes >= limit) break;
        if (opts.rate !== undefined && (opts.rate === 0 || bytes > (opts.rate * (performance.now() - t0)) / 1000)) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const next = await reader.read();
        if (next.done) done = true;
        else {
          bytes += next.value.byteLength;
          at += next.value.byteLength;
        }
      }
      if (!done) {
        await reader.cancel().catch(() => undefined);
        ctl.abort();
        break;
      }
      if (at >= size) break;
    } finally {
      clearTimeout(timer);
    }
  }
  return { bytes, requests, status };
}

interface CaseResult {
  name: string;
  wallSec: number;
  stackCpuSec: number;
  byName: Record<string, number>;
  readerCpuSec: number;
  bytes: number;
  requests: number;
  note?: string;
}

/** BENCH_SR_CASES: a regular expression; only the cases whose name matches run (the others are left out). */
const ONLY_CASES = process.env.BENCH_SR_CASES ? new RegExp(process.env.BENCH_SR_CASES) : null;

async function measure(stack: Stack, name: string, body: () => Promise<{ bytes: number; requests: number; note?: string }>): Promise<CaseResult[]> {
  if (ONLY_CASES && !ONLY_CASES.test(name)) return [];
  await new Promise((r) => setTimeout(r, 1500)); // let the previous case's tail settle
  const meter = cpuMeter(stack);
  const self0 = process.cpuUsage();
  const out = await body().catch((err: unknown) => ({ bytes: 0, requests: 0, note: `FAILED: ${String(err).slice(0, 200)}` }));
  const m = meter();
  const self = process.cpuUsage(self0);
  // This process's CPU: the bench's own reads and, in the proxy cases, the proxy (the transcoder's part).
  const r: CaseResult = { name, ...m, ...out, note: `${out.note ?? ''}${out.note ? '; ' : ''}this process ${f2((self.user + self.system) / 1e6)} s CPU` };
  log(`${name}: ${f2(r.wallSec)} s wall, stack CPU ${f2(r.stackCpuSec)} s (${Object.entries(r.byName).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${f2(v)}`).join(', ')}), reader CPU ${f2(r.readerCpuSec)} s, ${(r.bytes / MB).toFixed(1)} MB in ${r.requests} request(s)${r.note ? `; ${r.note}` : ''}`);
  return [r];
}

/** Runs ffmpeg/ffprobe with `-v debug` to count its HTTP requests; bounded by CASE_MS. */
async function runCounting(cmd: string, args: string[]): Promise<{ requests: number; stderr: string }> {
  const { stderr } = await execFileP(cmd, ['-v', 'debug', ...args], { maxBuffer: 256 << 20, timeout: CASE_MS });
  const requests = (stderr.match(/request: GET /g) ?? []).length;
  return { requests, stderr };
}

function ffmpegBytes(stderr: string): number {
  const m = /Statistics: (\d+) bytes read, (\d+) seeks/.exec(stderr);
  return m ? Number(m[1]) : 0;
}

export async function run(): Promise<BenchResult> {
  mkdirSync(WORK_DIR, { recursive: true });
  const source = path.join(WORK_DIR, `source-${SOURCE_SEC}s-640x360.mp4`);
  if (!existsSync(source)) {
    log(`generating a ${SOURCE_SEC} s 640x360 source (as the first-playable bench's long source)`);
    await makeSource(source, { width: 640, height: 360, seconds: SOURCE_SEC });
  }
  const size = statSync(source).size;
  const load = [os.loadavg()];
  log(`source ${(size / 1e6).toFixed(1)} MB; starting the stack (load ${load[0]!.map(f2).join(' ')})`);
  // No transcoder: the upload's analysis fails at its first dispatch and is not retried, so nothing else reads.
  const stack = await startStack({ transcoder: false, vars: { TRANSCODE_MAX_ATTEMPTS: '1', TRANSCODE_RETRY_BASE_DELAY_SEC: '3600' } });
  const cases: CaseResult[] = [];
  try {
    const id = await uploadOriginal(stack, 'storage-read', source, 1);
    log(`uploaded ${id}; processes: ${stackProcesses(stack.wrangler.pid!).map((p) => `${p.name}(${p.pid})`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 5000));
    const tail = 4 * MB;
    const mid = Math.floor(size / 2);

    // Idle baseline: what the stack costs while nobody reads (the stack helper's /healthz nudge, timers).
    cases.push(...await measure(stack, 'idle 5 s', async () => (await new Promise((r) => setTimeout(r, 5000)), { bytes: 0, requests: 0 })));
    cases.push(...await measure(stack, '(i) open-ended bytes=0- consumed fully', async () => {
      const r = await read(stack, id, 0, null);
      return { bytes: r.bytes, requests: r.requests, note: `status ${r.status}` };
    }));
    cases.push(...await measure(stack, `(i) open-ended bytes=${mid}- consumed fully`, async () => {
      const r = await read(stack, id, mid, null);
      return { bytes: r.bytes, requests: r.requests, note: `status ${r.status}` };
    }));
    cases.push(...await measure(stack, '(i) bounded bytes=0-(size-1) consumed fully', async () => {
      const r = await read(stack, id, 0, size - 1);
      return { bytes: r.bytes, requests: r.requests, note: `status ${r.status}` };
    }));
    for (const from of [0, mid]) {
      cases.push(...await measure(stack, `(ii) 10 × open-ended bytes=${from}- abandoned after 2 MB (+3 s after)`, async () => {
        let bytes = 0;
        let requests = 0;
        for (let i = 0; i < 10; i++) {
          const r = await read(stack, id, from, null, { limit: 2 * MB });
          bytes += r.bytes;
          requests += r.requests;
        }
        await new Promise((r) => setTimeout(r, 3000));
        return { bytes, requests };
      }));
      cases.push(...await measure(stack, `(ii) 10 × bounded bytes=${from}-(+2 MB) (+3 s after)`, async () => {
        let bytes = 0;
        for (let i = 0; i < 10; i++) bytes += (await read(stack, id, from, from + 2 * MB - 1)).bytes;
        await new Promise((r) => setTimeout(r, 3000));
        return { bytes, requests: 10 };
      }));
    }
    cases.push(...await measure(stack, '(ii) 10 × open-ended tail read bytes=(size-4MB)- consumed', async () => {
      let bytes = 0;
      for (let i = 0; i < 10; i++) bytes += (await read(stack, id, size - tail, null)).bytes;
      return { bytes, requests: 10 };
    }));
    for (const piece of [1, 4, 16]) {
      cases.push(...await measure(stack, `(iii) whole object in ${piece} MB bounded pieces`, async () => {
        let bytes = 0;
        let requests = 0;
        for (let at = 0; at < size; at += piece * MB, requests++) bytes += (await read(stack, id, at, Math.min(size, at + piece * MB) - 1)).bytes;
        return { bytes, requests };
      }));
    }
    // ffmpeg/ffprobe as the transcoder ran them before (straight at the gateway: `bytes=N-` to the end) and as it
    // runs them now (through its bounded-read proxy, containers/transcoder/src/range-proxy.ts, with -reconnect).
    const proxy = new RangeProxy((key, start, end, signal) => fetch(`${stack.origin}/internal/storage/${key}`, { headers: { ...AUTH, Range: `bytes=${start}-${end}` }, signal }));
    await proxy.start();
    const readers = [
      { how: 'direct', input: url(stack, id), opts: ['-headers', FFMPEG_HEADERS] },
      { how: 'proxy', input: proxy.url(`originals/${id}/original`), opts: [...FFMPEG_HTTP_READ] },
    ];
    const chunkAt = Math.floor(SOURCE_SEC / 2 / 18) * 18;
    const storageRequests = (how: string, n: number) => (how === 'proxy' ? `; ${proxy.requests - n} storage requests` : '');
    for (const { how, input, opts } of readers) {
      let n = proxy.requests;
      cases.push(...await measure(stack, `(iv) ${how}: ffprobe -show_format -show_streams`, async () => {
        const r = await runCounting('ffprobe', [...opts, '-print_format', 'json', '-show_format', '-show_streams', input]);
        return { bytes: 0, requests: r.requests, note: storageRequests(how, n) };
      }));
      n = proxy.requests;
      cases.push(...await measure(stack, `(v) ${how}: ffmpeg -ss ${chunkAt - 0.5} -t 18.5 decode -f null (a mid chunk)`, async () => {
        const r = await runCounting('ffmpeg', ['-nostdin', ...opts, '-ss', String(chunkAt - 0.5), '-i', input, '-t', '18.5', '-map', '0:v:0', '-f', 'null', '-']);
        return { bytes: ffmpegBytes(r.stderr), requests: r.requests, note: storageRequests(how, n) };
      }));
      n = proxy.requests;
      cases.push(...await measure(stack, `(v) ${how}: ffmpeg -t 18 decode -f null (chunk 0)`, async () => {
        const r = await runCounting('ffmpeg', ['-nostdin', ...opts, '-i', input, '-t', '18', '-map', '0:v:0', '-f', 'null', '-']);
        return { bytes: ffmpegBytes(r.stderr), requests: r.requests, note: storageRequests(how, n) };
      }));
      cases.push(...await measure(stack, `(vi) ${how}: chunk 0 decode while the audio unit reads the same original (-readrate 10)`, async () => {
        const audio = spawn('ffmpeg', ['-nostdin', '-v', 'error', ...opts, '-readrate', '10', '-vn', '-i', input, '-map', '0:a:0', '-c', 'copy', '-f', 'null', '-'], { stdio: 'ignore' });
        const t = performance.now();
        const r = await runCounting('ffmpeg', ['-nostdin', ...opts, '-i', input, '-t', '18', '-map', '0:v:0', '-f', 'null', '-']);
        const chunkSec = (performance.now() - t) / 1000;
        if (audio.exitCode === null && audio.signalCode === null) {
          const exited = new Promise((res) => audio.once('exit', res));
          audio.kill('SIGKILL');
          await exited;
        }
        return { bytes: ffmpegBytes(r.stderr), requests: r.requests, note: `chunk decode ${f2(chunkSec)} s` };
      }));
      cases.push(...await measure(stack, `(vii) ${how}: ffmpeg -readrate 10 audio copy for 8 s (the audio unit alone)`, async () => {
        const audio = spawn('ffmpeg', ['-nostdin', '-v', 'error', ...opts, '-readrate', '10', '-vn', '-i', input, '-map', '0:a:0', '-c', 'copy', '-f', 'null', '-'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 8000));
        const exited = new Promise((res) => audio.once('exit', res));
        if (audio.exitCode === null) audio.kill('SIGKILL');
        await exited;
        return { bytes: 0, requests: 1 };
      }));
    }
    // Slow readers without ffmpeg: a response drained at a reader's pace, or not at all.
    cases.push(...await measure(stack, '(vii) open-ended bytes=0- read at ~2 MB/s for 5 s, then abandoned', async () => {
      const r = await read(stack, id, 0, null, { rate: 2 * MB, ms: 5000 });
      return { bytes: r.bytes, requests: r.requests };
    }));
    cases.push(...await measure(stack, '(vii) bounded bytes=0-(10 MB) read at ~2 MB/s for 5 s', async () => {
      const r = await read(stack, id, 0, 10 * MB - 1, { rate: 2 * MB, ms: 5000 });
      return { bytes: r.bytes, requests: r.requests };
    }));
    cases.push(...await measure(stack, '(vii) open-ended bytes=0- opened, not read for 5 s', async () => {
      const r = await read(stack, id, 0, null, { rate: 0, ms: 5000 });
      return { bytes: r.bytes, requests: r.requests };
    }));
    // Correctness with the real ffmpeg: the same packets through the proxy and the gateway as from the file.
    const md5 = async (args: string[]) => (await execFileP('ffmpeg', ['-nostdin', '-v', 'error', ...args, '-f', 'framemd5', '-'], { maxBuffer: 256 << 20, timeout: CASE_MS })).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    cases.push(...await measure(stack, '(viii) proxy: framemd5 == from the file, for a mid chunk\'s video and the whole audio track', async () => {
      const [, p] = readers;
      const videoSame = (await md5([...p!.opts, '-ss', String(chunkAt - 0.5), '-i', p!.input, '-map', '0:v:0', '-t', '18.5'])) === (await md5(['-ss', String(chunkAt - 0.5), '-i', source, '-map', '0:v:0', '-t', '18.5']));
      const audioSame = (await md5([...p!.opts, '-vn', '-i', p!.input, '-map', '0:a:0', '-c', 'copy'])) === (await md5(['-vn', '-i', source, '-map', '0:a:0', '-c', 'copy']));
      if (!videoSame || !audioSame) throw new Error(`the proxy changed what ffmpeg read (video same: ${videoSame}, audio same: ${audioSame})`);
      return { bytes: 0, requests: 0, note: 'identical' };
    }));
    await proxy.close();
    load.push(os.loadavg());
  } finally {
    await stack.stop();
  }
  return {
    summary: [`source ${(size / 1e6).toFixed(1)} MB (${SOURCE_SEC} s 640x360); load average ${load.map((l) => l.map(f2).join(' ')).join(' → ')}`, ...cases.map((c) => `${c.name}: ${f2(c.wallSec)} s wall, stack CPU ${f2(c.stackCpuSec)} s, reader CPU ${f2(c.readerCpuSec)} s, ${(c.bytes / MB).toFixed(1)} MB, ${c.requests} req${c.note ? ` (${c.note})` : ''}`)],
    data: { machineDependent: true, sourceBytes: size, sourceSec: SOURCE_SEC, loadAverage: load, cases },
  };
}

/**
 * `npm run bench -- upload`: the chunk API against local `wrangler dev` (Miniflare, R2 on disk).
 *
 * - Throughput: a 256 MB file as 10 MiB chunks through `PUT /v1/videos/:id/upload/chunks/:n`, and the same
 *   bytes, chunking and concurrency through two internal routes in the same run:
 *     discard  reads and drops the body (the baseline: moving bytes into the Worker);
 *     r2-put   a bare `env.MEDIA.put` of the body, no auth/session/D1 (the storage ceiling; locally that is
 *              Miniflare's R2 simulator, a JS MD5 transform and a disk write inside the same workerd).
 *   At 2 and 4 chunks in flight, interleaved so load drift on a shared machine hits all three alike. Each chunk
 *   PUT answers a `Server-Timing` header (video, session, r2, commit, release), averaged per chunk here.
 *   Target: chunk API ≥ 0.5× discard. chunk/r2-put says how much of the gap is our path vs. the simulator.
 * - Completion: `Server-Timing` of `complete` (assemble, verify = read-back + SHA-256, process), and a bare
 *   read of the same object with and without hashing, to split the simulator's read cost from the hash.
 * - Memory: the Worker's own V8 heap (DevTools `Runtime.getHeapUsage` on the Worker isolate, sampled every
 *   100 ms) and the RSS of each workerd process (the user runtime also hosts the R2/D1 simulators; the other
 *   is wrangler's proxy), idle and peak during a 64 MB and a 256 MB upload.
 * Numbers depend on the machine (and on whatever else runs on it); compare ratios within one run.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
// undici (a dependency of miniflare, so always installed) has the WebSocket client Node 20 lacks by default.
import { WebSocket } from 'undici';
import type { BenchResult } from './run';
import { STACK_SECRETS, startStack, type Stack } from '../test/helpers/local-stack';
import { parseServerTiming } from '../workers/uploads/server-timing';

const MiB = 1024 * 1024;
const MB = 1_000_000;
const CHUNK = 10 * MiB;
const CONCURRENCIES = [2, 4];
/** The concurrency the memory runs and the headline ratio use (the bench's default client). */
const HEADLINE = 4;

// ---- process memory -----------------------------------------------------------------------------------------

/** pids of every descendant of `root` whose command is workerd, with their command lines. */
function workerdPids(root: number): { pid: number; role: string }[] {
  const children = new Map<number, number[]>();
  const comm = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      comm.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (comm.get(child)?.includes('workerd')) out.push(child);
      walk(child);
    }
  };
  walk(root);
  // wrangler starts its proxy runtime first and the user runtime (Worker + simulators) second.
  return out.sort((a, b) => a - b).map((pid, i) => ({ pid, role: out.length === 2 ? (i === 0 ? 'proxy' : 'worker+simulators') : `workerd-${i}` }));
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface HeapUsage {
  usedSize: number;
  totalSize: number;
  /** ArrayBuffer backing stores (stream chunks live here, outside the JS heap). */
  backingStorageSize?: number;
}

/** The Worker isolate's V8 heap over the DevTools protocol (wrangler's inspector proxy). */
class HeapProbe {
  private nextId = 1;
  private readonly pending = new Map<number, (value: HeapUsage | null) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => {
      const msg = JSON.parse(String(event.data)) as { id?: number; result?: HeapUsage };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result ?? null);
      if (msg.id !== undefined) this.pending.delete(msg.id);
    });
  }

  static async connect(port: number): Promise<HeapProbe | null> {
    try {
      // wrangler's inspector proxy forwards /ws to the Worker isolate and wants a local Origin.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: 'http://localhost' } } as unknown as string[]);
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve(), { once: true });
        ws.addEventListener('error', () => reject(new Error('inspector connect failed')), { once: true });
        setTimeout(() => reject(new Error('inspector connect timeout')), 5000);
      });
      const probe = new HeapProbe(ws);
      return (await probe.used()) === null ? null : probe;
    } catch {
      return null;
    }
  }

  async send(method: string): Promise<HeapUsage | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method }));
      setTimeout(() => {
        if (this.pending.delete(id)) resolve(null);
      }, 2000);
    });
  }

  /** JS heap in use plus ArrayBuffer backing stores: everything the Worker itself holds. */
  async used(): Promise<number | null> {
    const usage = await this.send('Runtime.getHeapUsage');
    return usage ? usage.usedSize + (usage.backingStorageSize ?? 0) : null;
  }

  async gc(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.ws.close();
  }
}

interface MemoryPeak {
  workerHeapBytes: number | null;
  rssBytes: Record<string, number>;
}

/** Samples the Worker heap and each workerd's RSS until stopped; returns the peaks. */
function sampleMemory(pids: { pid: number; role: string }[], heap: HeapProbe | null): { stop: () => Promise<MemoryPeak> } {
  const rss: Record<string, number> = {};
  let heapPeak: number | null = null;
  let busy = false;
  const tick = async () => {
    for (const { pid, role } of pids) rss[role] = Math.max(rss[role] ?? 0, rssOf(pid));
    if (heap && !busy) {
      busy = true;
      const used = await heap.used();
      busy = false;
      if (used !== null) heapPeak = Math.max(heapPeak ?? 0, used);
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), heap ? 500 : 100);
  return {
    stop: async () => {
      clearInterval(timer);
      await tick();
      return { workerHeapBytes: heapPeak, rssBytes: { ...rss } };
    },
  };
}

// ---- requests -----------------------------------------------------------------------------------------------

async function inParallel(concurrency: number, count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Every 503 "worker restarted mid-request" from wrangler's dev proxy, with what was going on. */
const restarts: { method: string; path: string; msSinceLastComplete: number | null; atSec: number }[] = [];
const benchStarted = performance.now();
let lastCompleteAt: number | null = null;

async function send(url: string, method: string, token: string, body: Buffer, timings?: Record<string, number>[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body: body as unknown as BodyInit });
    const text = await res.text();
    if (res.ok) {
      timings?.push(parseServerTiming(res.headers.get('Server-Timing')));
      return;
    }
    // wrangler's dev proxy answers this 503 for ANY failed fetch to the user runtime of a non-GET request (its
    // "did the Worker reload?" check compares a URL with a path to one without). A chunk PUT is idempotent, so
    // retry (the retry's time counts against throughput) and record when it happened.
    if (res.status === 503 && /restarted mid-request/.test(text) && attempt < 3) {
      restarts.push({
        method,
        path: new URL(url).pathname.replace(/vid_[\w-]+/, ':id'),
        msSinceLastComplete: lastCompleteAt === null ? null : Math.round(performance.now() - lastCompleteAt),
        atSec: Math.round((performance.now() - benchStarted) / 100) / 10,
      });
      continue;
    }
    throw new Error(`${method} ${url}: ${res.status} ${text}`);
  }
}

function meanTimings(all: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const t of all) for (const [k, v] of Object.entries(t)) sum[k] = (sum[k] ?? 0) + v;
  for (const k of Object.keys(sum)) sum[k] = Math.round((sum[k]! / Math.max(1, all.length)) * 10) / 10;
  return sum;
}

interface UploadRun {
  videoId: string;
  uploadSec: number;
  completeSec: number;
  chunkTimings: Record<string, number>;
  completeTimings: Record<string, number>;
}

async function uploadThroughChunkApi(stack: Stack, file: Buffer, concurrency: number): Promise<UploadRun> {
  const auth = { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' };
  const video = (await (await fetch(`${stack.origin}/v1/videos`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'bench' }) })).json()) as { id: string };
  const init = await fetch(`${stack.origin}/v1/videos/${video.id}/upload`, { method: 'POST', headers: auth, body: JSON.stringify({ fileSize: file.byteLength }) });
  const { totalChunks, chunkSize } = (await init.json()) as { totalChunks: number; chunkSize: number };
  const timings: Record<string, number>[] = [];
  const started = performance.now();
  await inParallel(concurrency, totalChunks, (n) =>
    send(`${stack.origin}/v1/videos/${video.id}/upload/chunks/${n}`, 'PUT', stack.token, file.subarray(n * chunkSize, (n + 1) * chunkSize), timings),
  );
  const uploadSec = (performance.now() - started) / 1000;
  const completeStarted = performance.now();
  const done = await fetch(`${stack.origin}/v1/videos/${video.id}/upload/complete`, { method: 'POST', headers: auth });
  const completeBody = await done.text();
  lastCompleteAt = performance.now();
  if (done.status !== 200) throw new Error(`complete failed: ${done.status} ${completeBody}`);
  return {
    videoId: video.id,
    uploadSec,
    completeSec: (lastCompleteAt - completeStarted) / 1000,
    chunkTimings: meanTimings(timings),
    completeTimings: parseServerTiming(done.headers.get('Server-Timing')),
  };
}

async function throughInternal(stack: Stack, route: 'discard' | 'r2-put', file: Buffer, concurrency: number): Promise<number> {
  const chunks = Math.ceil(file.byteLength / CHUNK);
  const started = performance.now();
  await inParallel(concurrency, chunks, (n) =>
    send(`${stack.origin}/internal/bench/${route}`, 'POST', STACK_SECRETS.INTERNAL_TOKEN, file.subarray(n * CHUNK, (n + 1) * CHUNK)),
  );
  return (performance.now() - started) / 1000;
}

/** null when the read failed: wrangler's proxy parks a failed GET for a retry that only a later request triggers. */
async function readBack(stack: Stack, videoId: string, hash: boolean): Promise<number | null> {
  try {
    const res = await fetch(`${stack.origin}/internal/bench/r2-read/${videoId}${hash ? '?hash=sha256' : ''}`, {
      headers: { Authorization: `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}` },
      signal: AbortSignal.timeout(120_000),
    });
    if (!res.ok) throw new Error(`r2-read: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { ms: number }).ms / 1000;
  } catch (err) {
    console.warn('read-back measurement failed', err);
    return null;
  }
}

// ---- the run ------------------------------------------------------------------------------------------------

export async function run(): Promise<BenchResult> {
  const stack = await startStack({ vars: { BENCH_ROUTES: '1' } });
  let heap: HeapProbe | null = null;
  try {
    const pids = workerdPids(stack.wrangler.pid!);
    const big = randomBytes(256 * MB);
    const small = big.subarray(0, 64 * MB);
    const mbps = (sec: number) => big.byteLength / MB / sec;
    // Warm-up so first-request costs (module load, D1 open, simulator objects) are not measured.
    await uploadThroughChunkApi(stack, randomBytes(CHUNK + 1), 2);
    await throughInternal(stack, 'discard', big.subarray(0, 2 * CHUNK), 2);
    await throughInternal(stack, 'r2-put', big.subarray(0, 2 * CHUNK), 2);

    // Memory first, on a quiet runtime: idle, then a 64 MB and a 256 MB upload (each including its complete).
    // The DevTools probe is opt-in (UPLOAD_BENCH_HEAP=1) and connected only here: on this shared machine runs with
    // it attached saw more dropped proxy connections, so it must not touch the throughput runs.
    heap = process.env.UPLOAD_BENCH_HEAP === '1' ? await HeapProbe.connect(stack.inspectorPort) : null;
    await heap?.gc();
    const idle: MemoryPeak = { workerHeapBytes: (await heap?.used()) ?? null, rssBytes: Object.fromEntries(pids.map((p) => [p.role, rssOf(p.pid)])) };
    let sampler = sampleMemory(pids, heap);
    const smallRun = await uploadThroughChunkApi(stack, small, HEADLINE);
    const peakSmall = await sampler.stop();
    await heap?.gc();
    sampler = sampleMemory(pids, heap);
    const bigRun = await uploadThroughChunkApi(stack, big, HEADLINE);
    const peakBig = await sampler.stop();
    heap?.close();
    heap = null;
    const readPlainSec = await readBack(stack, bigRun.videoId, false);
    const readHashSec = await readBack(stack, bigRun.videoId, true);

    // Throughput: discard / r2-put / chunk API at each concurrency, interleaved.
    const byConcurrency: Record<string, { discardMBps: number; r2PutMBps: number; chunkApiMBps: number; ratioVsDiscard: number; ratioVsR2Put: number; chunkTimingsMs: Record<string, number>; completeSec: number; completeTimingsMs: Record<string, number> }> = {};
    for (const concurrency of CONCURRENCIES) {
      const discardSec = await throughInternal(stack, 'discard', big, concurrency);
      const r2PutSec = await throughInternal(stack, 'r2-put', big, concurrency);
      const upload = concurrency === HEADLINE ? bigRun : await uploadThroughChunkApi(stack, big, concurrency);
      // The HEADLINE chunk run above happened earlier; measure it again here so all three share the moment.
      const fresh = concurrency === HEADLINE ? await uploadThroughChunkApi(stack, big, concurrency) : upload;
      byConcurrency[concurrency] = {
        discardMBps: mbps(discardSec),
        r2PutMBps: mbps(r2PutSec),
        chunkApiMBps: mbps(fresh.uploadSec),
        ratioVsDiscard: discardSec / fresh.uploadSec,
        ratioVsR2Put: r2PutSec / fresh.uploadSec,
        chunkTimingsMs: fresh.chunkTimings,
        completeSec: fresh.completeSec,
        completeTimingsMs: fresh.completeTimings,
      };
    }
    const head = byConcurrency[HEADLINE]!;
    const fmt = (b: number | null | undefined) => (b == null ? 'n/a' : `${(b / MiB).toFixed(0)} MiB`);
    const role = 'worker+simulators';
    const heapGrowth = peakBig.workerHeapBytes !== null && peakSmall.workerHeapBytes !== null ? peakBig.workerHeapBytes - peakSmall.workerHeapBytes : null;
    const timingLine = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
    return {
      summary: [
        ...CONCURRENCIES.map((cc) => {
          const r = byConcurrency[cc]!;
          return `${cc} in flight: discard ${r.discardMBps.toFixed(1)} MB/s | bare R2 put ${r.r2PutMBps.toFixed(1)} MB/s | chunk API ${r.chunkApiMBps.toFixed(1)} MB/s → ${r.ratioVsDiscard.toFixed(2)}× discard, ${r.ratioVsR2Put.toFixed(2)}× bare R2 put`;
        }),
        ...CONCURRENCIES.map((cc) => `  chunk PUT Server-Timing at ${cc} in flight, mean ms/chunk: ${timingLine(byConcurrency[cc]!.chunkTimingsMs)}`),
        `headline (${HEADLINE} in flight): chunk API ${head.ratioVsDiscard.toFixed(2)}× the discard baseline (target ≥ 0.5); ${head.ratioVsR2Put.toFixed(2)}× a bare R2 put of the same bytes`,
        `complete 256 MB: ${head.completeSec.toFixed(2)} s (${timingLine(head.completeTimingsMs)} ms); bare read-back of the object ${readPlainSec?.toFixed(2) ?? 'n/a'} s, with SHA-256 ${readHashSec?.toFixed(2) ?? 'n/a'} s`,
        `Worker isolate memory (V8 heap + ArrayBuffers): idle ${fmt(idle.workerHeapBytes)}, peak during 64 MB upload ${fmt(peakSmall.workerHeapBytes)}, during 256 MB ${fmt(peakBig.workerHeapBytes)} (growth ${heapGrowth === null ? 'n/a' : fmt(heapGrowth)} for 4× the file)${heap === null && idle.workerHeapBytes === null ? ' — set UPLOAD_BENCH_HEAP=1 to sample it' : ''}`,
        `workerd RSS (${role}: Worker + Miniflare R2/D1 simulators): idle ${fmt(idle.rssBytes[role])}, peak 64 MB ${fmt(peakSmall.rssBytes[role])}, 256 MB ${fmt(peakBig.rssBytes[role])}; proxy: ${fmt(idle.rssBytes.proxy)} → ${fmt(peakBig.rssBytes.proxy)}`,
        `wrangler dev proxy 503s ("restarted mid-request", retried): ${restarts.length}${restarts.length ? ' ' + JSON.stringify(restarts) : ''}`,
        `numbers are machine-dependent (shared 2-core machine here); compare ratios within one run`,
      ],
      data: {
        fileBytes: big.byteLength,
        chunkBytes: CHUNK,
        headlineConcurrency: HEADLINE,
        ratio: head.ratioVsDiscard,
        ratioVsBareR2Put: head.ratioVsR2Put,
        uploadMBps: head.chunkApiMBps,
        discardMBps: head.discardMBps,
        bareR2PutMBps: head.r2PutMBps,
        byConcurrency,
        complete: { sec: head.completeSec, timingsMs: head.completeTimingsMs, bareReadSec: readPlainSec, bareReadSha256Sec: readHashSec },
        smallUpload: { bytes: small.byteLength, sec: smallRun.uploadSec, MBps: small.byteLength / MB / smallRun.uploadSec },
        memory: {
          note: 'workerHeap = the Worker isolate V8 heap used + ArrayBuffer backing stores (DevTools Runtime.getHeapUsage); rss[worker+simulators] also holds Miniflare R2/D1 simulators',
          idle,
          peak64MB: peakSmall,
          peak256MB: peakBig,
          workerHeapGrowthBytes: heapGrowth,
        },
        proxyRestarts: restarts,
      },
      targetMet: head.ratioVsDiscard >= 0.5,
    };
  } finally {
    heap?.close();
    await stack.stop();
  }
}

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
 * - tus over a far-away link: the same 256 MB through the unmodified tus-js-client (uploadDataDuringCreation)
 *   with `parallelUploads` 1 and 4, through a delaying TCP proxy on 127.0.0.1 (bench/delay-proxy.ts: 50 ms each
 *   way = 100 ms RTT, a 2-RTT connection set-up, and per connection a congestion window that starts small (slow
 *   start, again after idling) and is capped at 512 KiB, so one connection is latency-bound as on a long, lossy
 *   path). MB/s from start to the final response (4 = partials in parallel, then the server-side concatenation);
 *   the server checks the declared sha256 at completion, and the concatenated original is also read back.
 *   Target: 4 parallel ≥ 2× one upload. `npm run bench -- upload --only=tus` runs this part alone (bounded so it
 *   holds the bench lock ≤ 15 min); UPLOAD_BENCH_RTT_MS / UPLOAD_BENCH_WINDOW_KIB change the link,
 *   UPLOAD_BENCH_TUS_MB the file (256).
 * Bounded: every request has a timeout (AbortSignal.timeout; tus-js-client's requests through a timing HTTP
 * stack), idempotent ones are retried, and every phase has a deadline and prints progress, so the bench always
 * finishes and reports (a phase that ran out of time is reported as such).
 * Numbers depend on the machine (and on whatever else runs on it); compare ratios within one run.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as tus from 'tus-js-client';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
// undici (a dependency of miniflare, so always installed) has the WebSocket client Node 20 lacks by default.
import { WebSocket } from 'undici';
import type { BenchResult } from './run';
import { startDelayProxy } from './delay-proxy';
import { STACK_SECRETS, startStack, type Stack } from '../test/helpers/local-stack';
import { parseServerTiming } from '../workers/uploads/server-timing';

const MiB = 1024 * 1024;
const MB = 1_000_000;
const CHUNK = 10 * MiB;
const CONCURRENCIES = [2, 4];
/** The concurrency the memory runs and the headline ratio use (the bench's default client). */
const HEADLINE = 4;
/** No single request may take longer (a 10 MiB chunk takes well under a second locally). */
const REQUEST_TIMEOUT_MS = 120_000;
/** Reading 256 MB back and hashing it inside the Worker took over 120 s at load average 20. */
const READ_BACK_TIMEOUT_MS = 300_000;
const ONLY_TUS = process.argv.includes('--only=tus');
const RTT_MS = Number(process.env.UPLOAD_BENCH_RTT_MS ?? 100);
const WINDOW_KIB = Number(process.env.UPLOAD_BENCH_WINDOW_KIB ?? 512);
const TUS_PARALLEL = [1, 4];
/** The tus file's size (MB); smaller only for a quick check of the bench itself. */
const TUS_MB = Number(process.env.UPLOAD_BENCH_TUS_MB ?? 256);
/**
 * Budgets of the tus part, so `--only=tus` holds the bench lock ≤ 15 min even when every phase runs out of time
 * (stack start ≤ 90 s, warm-up 120 s, two uploads 300 s each, including a read-back of at most 120 s).
 */
const TUS_PHASE_MS = 300_000;
const TUS_READ_BACK_MS = 120_000;

const log = (line: string) => console.log(`[upload bench ${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4)} s] ${line}`);

class PhaseTimeout extends Error {}

/**
 * Runs one phase with a deadline and progress lines; null (reported as timed out) when it overran. `signal` is
 * aborted at the deadline, so the phase's own work (an upload, a read) stops instead of running on under the next.
 */
async function phase<T>(name: string, budgetMs: number, fn: (signal: AbortSignal) => Promise<T>, timedOut: string[]): Promise<T | null> {
  const started = performance.now();
  log(`${name}: start (budget ${Math.round(budgetMs / 1000)} s)`);
  let timer: NodeJS.Timeout | undefined;
  const abort = new AbortController();
  try {
    const result = await Promise.race([
      fn(abort.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort.abort(new PhaseTimeout(name));
          reject(new PhaseTimeout(name));
        }, budgetMs);
      }),
    ]);
    log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (err) {
    timedOut.push(err instanceof PhaseTimeout ? `${name}: over its ${Math.round(budgetMs / 1000)} s budget` : `${name}: ${String(err)}`);
    log(`${name}: FAILED (${err instanceof PhaseTimeout ? 'over budget' : String(err)}); going on`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** fetch with a timeout; the caller decides about retries. */
function timedFetch(url: string, init: RequestInit = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response> {
  // Not cleared when the headers arrive: the deadline covers reading the body too.
  return fetch(url, { ...init, signal: deadlineSignal(timeoutMs).signal });
}

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
/** Requests that hit REQUEST_TIMEOUT_MS (then retried when idempotent). */
const requestTimeouts: { method: string; path: string; atSec: number }[] = [];
const benchStarted = performance.now();
let lastCompleteAt: number | null = null;

async function send(url: string, method: string, token: string, body: Buffer, timings?: Record<string, number>[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    let text: string;
    try {
      res = await timedFetch(url, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' }, body: body as unknown as BodyInit });
      text = await res.text();
    } catch (err) {
      // A request stuck in wrangler's dev proxy: abort it and retry (chunk PUTs and the bench routes are idempotent).
      if (!(err instanceof Error && err.name === 'TimeoutError') || attempt >= 2) throw err;
      requestTimeouts.push({ method, path: new URL(url).pathname.replace(/vid_[\w-]+/, ':id'), atSec: Math.round((performance.now() - benchStarted) / 100) / 10 });
      log(`${method} ${new URL(url).pathname}: no answer in ${REQUEST_TIMEOUT_MS / 1000} s, retrying`);
      continue;
    }
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
  const video = (await (await timedFetch(`${stack.origin}/v1/videos`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'bench' }) })).json()) as { id: string };
  const init = await timedFetch(`${stack.origin}/v1/videos/${video.id}/upload`, { method: 'POST', headers: auth, body: JSON.stringify({ fileSize: file.byteLength }) });
  const { totalChunks, chunkSize } = (await init.json()) as { totalChunks: number; chunkSize: number };
  const timings: Record<string, number>[] = [];
  const started = performance.now();
  let sent = 0;
  await inParallel(concurrency, totalChunks, async (n) => {
    await send(`${stack.origin}/v1/videos/${video.id}/upload/chunks/${n}`, 'PUT', stack.token, file.subarray(n * chunkSize, (n + 1) * chunkSize), timings);
    if (++sent % 8 === 0 || sent === totalChunks) log(`  chunk API ×${concurrency}: ${sent}/${totalChunks} chunks`);
  });
  const uploadSec = (performance.now() - started) / 1000;
  const completeStarted = performance.now();
  const done = await timedFetch(`${stack.origin}/v1/videos/${video.id}/upload/complete`, { method: 'POST', headers: auth });
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
async function readBack(
  stack: Stack,
  videoId: string,
  hash: boolean,
  parent?: AbortSignal,
  timeoutMs = READ_BACK_TIMEOUT_MS,
): Promise<{ sec: number; sha256: string | null } | null> {
  const stopTicker = ticker(`read-back of ${videoId}${hash ? ' with SHA-256' : ''}`);
  const deadline = deadlineSignal(timeoutMs, parent);
  // A GET that wrangler dev's proxy parked after a failed attempt is retried only when another request arrives:
  // give it one every 10 s while we wait.
  const nudge = setInterval(() => {
    fetch(`${stack.origin}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.body?.cancel(), () => undefined);
  }, 10_000);
  try {
    const res = await fetch(`${stack.origin}/internal/bench/r2-read/${videoId}${hash ? '?hash=sha256' : ''}`, {
      headers: { Authorization: `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}` },
      signal: deadline.signal,
    });
    if (!res.ok) throw new Error(`r2-read: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { ms: number; sha256: string | null };
    return { sec: body.ms / 1000, sha256: body.sha256 };
  } catch (err) {
    console.warn('read-back measurement failed', err);
    return null;
  } finally {
    clearInterval(nudge);
    deadline.clear();
    stopTicker();
  }
}

/**
 * An AbortSignal that fires after `ms` or when `parent` does. A plain timer on purpose: Node 20's
 * `AbortSignal.any([…, AbortSignal.timeout(ms)])` can lose the timeout signal to garbage collection and never fire.
 */
function deadlineSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer in ${ms / 1000} s`)), ms);
  timer.unref();
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** Prints "<label>: still running (N s)" every 15 s until stopped: no phase is silent for long. */
function ticker(label: string): () => void {
  const started = performance.now();
  const timer = setInterval(() => log(`  ${label}: still running (${((performance.now() - started) / 1000).toFixed(0)} s)`), 15_000);
  return () => clearInterval(timer);
}

/** Samples the 1-minute load average every 5 s until stopped. */
function loadSampler(): { stop: () => LoadAverage } {
  const samples = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), 5000);
  return {
    stop: () => {
      clearInterval(timer);
      samples.push(loadavg()[0]!);
      const round = (n: number) => Math.round(n * 10) / 10;
      return { min: round(Math.min(...samples)), mean: round(samples.reduce((a, b) => a + b, 0) / samples.length), max: round(Math.max(...samples)) };
    },
  };
}

interface LoadAverage {
  min: number;
  mean: number;
  max: number;
}

// ---- tus over a delayed link ----------------------------------------------------------------------------------

/** tus-js-client's own Node HTTP stack, with a timeout on every request (it has none); a timed-out one is retried. */
class TimedHttpStack implements tus.HttpStack {
  private readonly inner = new tus.DefaultHttpStack({});
  constructor(private readonly timeoutMs: number) {}
  createRequest(method: string, url: string): tus.HttpRequest {
    const req = this.inner.createRequest(method, url);
    const send = req.send.bind(req);
    req.send = async (body: unknown) => {
      const timer = setTimeout(() => {
        requestTimeouts.push({ method, path: new URL(url).pathname, atSec: Math.round((performance.now() - benchStarted) / 100) / 10 });
        log(`tus ${method} ${new URL(url).pathname}: no answer in ${this.timeoutMs / 1000} s, aborting (tus-js-client resumes)`);
        void req.abort();
      }, this.timeoutMs);
      try {
        return await send(body);
      } finally {
        clearTimeout(timer);
      }
    };
    return req;
  }
  getName(): string {
    return 'timed-node';
  }
}

interface TusRun {
  parallel: number;
  sec: number;
  MBps: number;
  /** Until the final POST was sent (parallel > 1): the partial uploads. */
  partialsSec: number | null;
  /** The final POST (parallel > 1): the server's concatenation (claim the partials, SHA-256 of the whole file, manifest). */
  finalPostSec: number | null;
  /** The last request's duration (parallel 1): its last bytes, then completion (assemble, read-back SHA-256). */
  lastRequestSec: number | null;
  /** `Server-Timing` of the completing request (the final POST, or the last PATCH/POST): ms per step. */
  completionTimingsMs: Record<string, number> | null;
  /** TCP connections the client opened through the proxy (each pays the handshake and slow start). */
  connections: number;
  /** 1-minute load average while the upload ran (sampled every 5 s). */
  loadAverage: LoadAverage;
  uploadUrl: string;
  sameOrigin: boolean;
  sha256Match: boolean | null;
}

async function tusThroughProxy(
  stack: Stack,
  proxy: { origin: string; connections: () => number },
  file: Buffer,
  fileSha256: string,
  parallel: number,
  signal: AbortSignal,
  /** Read the original back and compare its SHA-256 (the server also checks the declared `sha256` either way). */
  readBackOriginal: boolean,
): Promise<TusRun> {
  const proxyOrigin = proxy.origin;
  const connectionsBefore = proxy.connections();
  const load = loadSampler();
  const started = performance.now();
  let finalStarted: number | null = null;
  let finalPostSec: number | null = null;
  let stopFinalTicker: (() => void) | null = null;
  let lastRequestStarted = started;
  let lastRequestSec: number | null = null;
  let completionTimingsMs: Record<string, number> | null = null;
  let lastLogged = 0;
  const upload = await new Promise<tus.Upload>((resolve, reject) => {
    const u: tus.Upload = new tus.Upload(file, {
      endpoint: `${proxyOrigin}/v1/uploads`,
      headers: { Authorization: `Bearer ${stack.token}` },
      // sha256: the server checks the assembled original against it at completion (422 if it differs).
      metadata: { title: `bench tus x${parallel}`, filetype: 'application/octet-stream', sha256: fileSha256 },
      parallelUploads: parallel,
      uploadDataDuringCreation: true,
      // Requests of at most 64 MiB, so each is bounded in time too; a timed-out one is resumed.
      chunkSize: 64 * MiB,
      retryDelays: [1000, 3000, 5000],
      httpStack: new TimedHttpStack(REQUEST_TIMEOUT_MS),
      onBeforeRequest: (req) => {
        if (req.getMethod() !== 'HEAD') lastRequestStarted = performance.now();
        if (req.getMethod() === 'POST' && req.getHeader('Upload-Concat')?.startsWith('final;')) {
          finalStarted = performance.now();
          log(`  tus x${parallel}: partials done in ${((finalStarted - started) / 1000).toFixed(1)} s; final POST (server-side concatenation)`);
          stopFinalTicker?.();
          stopFinalTicker = ticker(`tus x${parallel} final POST`);
        }
      },
      onAfterResponse: (req, res) => {
        if (req.getMethod() !== 'HEAD') lastRequestSec = (performance.now() - lastRequestStarted) / 1000;
        const timing = res.getHeader('Server-Timing');
        if (req.getMethod() !== 'HEAD' && timing && /verify/.test(timing)) completionTimingsMs = parseServerTiming(timing);
        if (finalStarted !== null && req.getMethod() === 'POST' && req.getHeader('Upload-Concat')?.startsWith('final;')) {
          finalPostSec = (performance.now() - finalStarted) / 1000;
          stopFinalTicker?.();
        }
      },
      onProgress: (sentBytes, total) => {
        const pct = Math.floor((sentBytes / total) * 10);
        if (pct > lastLogged) {
          lastLogged = pct;
          log(`  tus x${parallel}: ${pct * 10}% sent`);
        }
      },
      onSuccess: () => resolve(u),
      onError: reject,
    });
    // Over budget: stop the upload, so it does not run on under the next phase.
    signal.addEventListener('abort', () => {
      void u.abort(false);
      reject(new Error(`tus x${parallel} aborted: over its budget`));
    }, { once: true });
    u.start();
  }).finally(() => stopFinalTicker?.());
  const sec = (performance.now() - started) / 1000;
  const loadAverage = load.stop();
  const uploadUrl = upload.url ?? '';
  const videoId = /\/v1\/uploads\/(vid_[0-9a-z]{16})-up_/.exec(uploadUrl)?.[1];
  const read = videoId && readBackOriginal ? await readBack(stack, videoId, true, signal, TUS_READ_BACK_MS) : null;
  return {
    parallel,
    sec,
    MBps: file.byteLength / MB / sec,
    partialsSec: finalStarted === null ? null : (finalStarted - started) / 1000,
    finalPostSec,
    lastRequestSec: finalStarted === null ? lastRequestSec : null,
    completionTimingsMs,
    connections: proxy.connections() - connectionsBefore,
    loadAverage,
    uploadUrl,
    // The absolute Location is built from the request's origin: it must point back through the proxy.
    sameOrigin: uploadUrl.startsWith(proxyOrigin),
    sha256Match: read?.sha256 ? read.sha256 === fileSha256 : null,
  };
}

// ---- the run ------------------------------------------------------------------------------------------------

export async function run(): Promise<BenchResult> {
  const stack = await startStack({ vars: { BENCH_ROUTES: '1' }, inspector: process.env.UPLOAD_BENCH_HEAP === '1' });
  let heap: HeapProbe | null = null;
  const failures: string[] = [];
  try {
    const pids = workerdPids(stack.wrangler.pid!);
    const big = randomBytes(256 * MB);
    const bigSha256 = createHash('sha256').update(big).digest('hex');
    const small = big.subarray(0, 64 * MB);
    const mbps = (sec: number) => big.byteLength / MB / sec;
    // Warm-up so first-request costs (module load, D1 open, simulator objects) are not measured.
    await phase('warm-up', ONLY_TUS ? 120_000 : 180_000, async (signal) => {
      // The first request after start-up sometimes fails ("fetch failed": wrangler dev closes the connection
      // the readiness probe left open); try the warm-up again rather than skip it.
      for (let attempt = 1; ; attempt++) {
        try {
          await uploadThroughChunkApi(stack, randomBytes(CHUNK + 1), 2);
          break;
        } catch (err) {
          if (attempt >= 3 || signal.aborted) throw err;
          log(`  warm-up attempt ${attempt} failed (${String(err)}); again`);
        }
      }
      await throughInternal(stack, 'discard', big.subarray(0, 2 * CHUNK), 2);
      await throughInternal(stack, 'r2-put', big.subarray(0, 2 * CHUNK), 2);
      // The tus paths too (creation with data, PATCH, partials and a final upload), straight to the server.
      const warm = randomBytes(3 * CHUNK);
      for (const parallel of TUS_PARALLEL) {
        await tusThroughProxy(stack, { origin: stack.origin, connections: () => 0 }, warm, createHash('sha256').update(warm).digest('hex'), parallel, signal, false);
      }
    }, failures);

    type Memory = { idle: MemoryPeak; smallRun: UploadRun; peakSmall: MemoryPeak; bigRun: UploadRun; peakBig: MemoryPeak };
    let memory: Memory | null = null;
    let readPlain: { sec: number } | null = null;
    let readHash: { sec: number } | null = null;
    const byConcurrency: Record<string, { discardMBps: number; r2PutMBps: number; chunkApiMBps: number; ratioVsDiscard: number; ratioVsR2Put: number; chunkTimingsMs: Record<string, number>; completeSec: number; completeTimingsMs: Record<string, number> }> = {};
    if (!ONLY_TUS) {
      // Memory first, on a quiet runtime: idle, then a 64 MB and a 256 MB upload (each including its complete).
      // The DevTools probe is opt-in (UPLOAD_BENCH_HEAP=1) and connected only here: on this shared machine runs
      // with it attached saw more dropped proxy connections, so it must not touch the throughput runs.
      memory = await phase('memory (64 MB and 256 MB through the chunk API)', 900_000, async () => {
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
        return { idle, smallRun, peakSmall, bigRun, peakBig };
      }, failures);
      if (memory) {
        const videoId = memory.bigRun.videoId;
        readPlain = await phase('bare read-back', READ_BACK_TIMEOUT_MS + 10_000, () => readBack(stack, videoId, false), failures);
        readHash = await phase('read-back with SHA-256', READ_BACK_TIMEOUT_MS + 10_000, () => readBack(stack, videoId, true), failures);
      }
      // Throughput: discard / r2-put / chunk API at each concurrency, interleaved.
      for (const concurrency of CONCURRENCIES) {
        const r = await phase(`throughput at ${concurrency} in flight (discard, bare R2 put, chunk API)`, 900_000, async () => {
          const discardSec = await throughInternal(stack, 'discard', big, concurrency);
          const r2PutSec = await throughInternal(stack, 'r2-put', big, concurrency);
          const fresh = await uploadThroughChunkApi(stack, big, concurrency);
          return {
            discardMBps: mbps(discardSec),
            r2PutMBps: mbps(r2PutSec),
            chunkApiMBps: mbps(fresh.uploadSec),
            ratioVsDiscard: discardSec / fresh.uploadSec,
            ratioVsR2Put: r2PutSec / fresh.uploadSec,
            chunkTimingsMs: fresh.chunkTimings,
            completeSec: fresh.completeSec,
            completeTimingsMs: fresh.completeTimings,
          };
        }, failures);
        if (r) byConcurrency[concurrency] = r;
      }
    }

    // tus-js-client over a far-away link.
    const proxy = await startDelayProxy({ targetPort: Number(new URL(stack.origin).port), oneWayMs: RTT_MS / 2, windowBytes: WINDOW_KIB * 1024 });
    const tusFile = big.subarray(0, TUS_MB * MB);
    const tusSha256 = TUS_MB * MB === big.byteLength ? bigSha256 : createHash('sha256').update(tusFile).digest('hex');
    const link = { origin: `http://127.0.0.1:${proxy.port}`, connections: proxy.connections };
    const tusRuns: Record<string, TusRun> = {};
    try {
      for (const parallel of TUS_PARALLEL) {
        const r = await phase(`tus-js-client parallelUploads ${parallel}, ${TUS_MB} MB over ${RTT_MS} ms RTT`, TUS_PHASE_MS, (signal) => tusThroughProxy(stack, link, tusFile, tusSha256, parallel, signal, parallel > 1), failures);
        if (r) tusRuns[parallel] = r;
      }
    } finally {
      await proxy.close();
    }
    const tus1 = tusRuns[1];
    const tus4 = tusRuns[4];
    const tusSpeedup = tus1 && tus4 ? tus1.sec / tus4.sec : null;

    const head = byConcurrency[HEADLINE];
    const fmt = (b: number | null | undefined) => (b == null ? 'n/a' : `${(b / MiB).toFixed(0)} MiB`);
    const role = 'worker+simulators';
    const peakSmall = memory?.peakSmall;
    const peakBig = memory?.peakBig;
    const idle = memory?.idle;
    const heapGrowth = peakBig?.workerHeapBytes != null && peakSmall?.workerHeapBytes != null ? peakBig.workerHeapBytes - peakSmall.workerHeapBytes : null;
    const timingLine = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
    const tusLine = (r: TusRun | undefined, parallel: number) =>
      r
        ? `tus parallelUploads ${parallel}: ${r.MBps.toFixed(1)} MB/s (${r.sec.toFixed(1)} s${r.finalPostSec !== null ? `: partials ${r.partialsSec?.toFixed(1)} s, then the final POST's concatenation ${r.finalPostSec.toFixed(1)} s` : r.lastRequestSec !== null ? `; the last request, with completion, ${r.lastRequestSec.toFixed(1)} s` : ''}${r.completionTimingsMs ? `; completion Server-Timing ms: ${Object.entries(r.completionTimingsMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}` : ''}; ${r.connections} connection(s); load average ${r.loadAverage.min}–${r.loadAverage.max}, mean ${r.loadAverage.mean}); original SHA-256 ${r.sha256Match === null ? 'checked by the server only (declared sha256)' : r.sha256Match ? 'read back: identical' : 'read back: DIFFERENT'}; Location via the proxy: ${r.sameOrigin ? 'yes' : 'NO'}`
        : `tus parallelUploads ${parallel}: did not finish (see failures)`;
    const load = (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ');
    return {
      summary: [
        ...(ONLY_TUS
          ? []
          : [
              ...CONCURRENCIES.map((cc) => {
                const r = byConcurrency[cc];
                return r
                  ? `${cc} in flight: discard ${r.discardMBps.toFixed(1)} MB/s | bare R2 put ${r.r2PutMBps.toFixed(1)} MB/s | chunk API ${r.chunkApiMBps.toFixed(1)} MB/s → ${r.ratioVsDiscard.toFixed(2)}× discard, ${r.ratioVsR2Put.toFixed(2)}× bare R2 put`
                  : `${cc} in flight: did not finish`;
              }),
              ...CONCURRENCIES.filter((cc) => byConcurrency[cc]).map((cc) => `  chunk PUT Server-Timing at ${cc} in flight, mean ms/chunk: ${timingLine(byConcurrency[cc]!.chunkTimingsMs)}`),
              head
                ? `headline (${HEADLINE} in flight): chunk API ${head.ratioVsDiscard.toFixed(2)}× the discard baseline (target ≥ 0.5); ${head.ratioVsR2Put.toFixed(2)}× a bare R2 put of the same bytes`
                : `headline (${HEADLINE} in flight): n/a`,
              head
                ? `complete 256 MB: ${head.completeSec.toFixed(2)} s (${timingLine(head.completeTimingsMs)} ms); bare read-back of the object ${readPlain?.sec.toFixed(2) ?? 'n/a'} s, with SHA-256 ${readHash?.sec.toFixed(2) ?? 'n/a'} s`
                : 'complete 256 MB: n/a',
              `Worker isolate memory (V8 heap + ArrayBuffers): idle ${fmt(idle?.workerHeapBytes)}, peak during 64 MB upload ${fmt(peakSmall?.workerHeapBytes)}, during 256 MB ${fmt(peakBig?.workerHeapBytes)} (growth ${heapGrowth === null ? 'n/a' : fmt(heapGrowth)} for 4× the file)${idle?.workerHeapBytes == null ? ' — set UPLOAD_BENCH_HEAP=1 to sample it' : ''}`,
              `workerd RSS (${role}: Worker + Miniflare R2/D1 simulators): idle ${fmt(idle?.rssBytes[role])}, peak 64 MB ${fmt(peakSmall?.rssBytes[role])}, 256 MB ${fmt(peakBig?.rssBytes[role])}; proxy: ${fmt(idle?.rssBytes.proxy)} → ${fmt(peakBig?.rssBytes.proxy)}`,
            ]),
        `link for tus: ${RTT_MS} ms RTT, congestion window ≤ ${WINDOW_KIB} KiB per connection (≤ ${((WINDOW_KIB * 1024) / MB / (RTT_MS / 1000)).toFixed(1)} MB/s per connection), 2-RTT connection set-up, slow start from 10 segments and after idling`,
        tusLine(tus1, 1),
        tusLine(tus4, 4),
        `tus: parallelUploads 4 is ${tusSpeedup === null ? 'n/a' : `${tusSpeedup.toFixed(2)}×`} parallelUploads 1 (target ≥ 2×)`,
        `wrangler dev proxy 503s ("restarted mid-request", retried): ${restarts.length}${restarts.length ? ' ' + JSON.stringify(restarts) : ''}; requests that timed out (${REQUEST_TIMEOUT_MS / 1000} s, retried): ${requestTimeouts.length}${requestTimeouts.length ? ' ' + JSON.stringify(requestTimeouts) : ''}`,
        `phases that failed or ran out of time: ${failures.length ? failures.join('; ') : 'none'}`,
        `numbers are machine-dependent (shared 2-core machine, load average ${load} at the end); compare ratios within one run`,
      ],
      data: {
        fileBytes: big.byteLength,
        chunkBytes: CHUNK,
        headlineConcurrency: HEADLINE,
        ratio: head?.ratioVsDiscard ?? null,
        ratioVsBareR2Put: head?.ratioVsR2Put ?? null,
        uploadMBps: head?.chunkApiMBps ?? null,
        discardMBps: head?.discardMBps ?? null,
        bareR2PutMBps: head?.r2PutMBps ?? null,
        byConcurrency,
        complete: head ? { sec: head.completeSec, timingsMs: head.completeTimingsMs, bareReadSec: readPlain?.sec ?? null, bareReadSha256Sec: readHash?.sec ?? null } : null,
        smallUpload: memory ? { bytes: small.byteLength, sec: memory.smallRun.uploadSec, MBps: small.byteLength / MB / memory.smallRun.uploadSec } : null,
        memory: memory
          ? {
              note: 'workerHeap = the Worker isolate V8 heap used + ArrayBuffer backing stores (DevTools Runtime.getHeapUsage); rss[worker+simulators] also holds Miniflare R2/D1 simulators',
              idle,
              peak64MB: peakSmall,
              peak256MB: peakBig,
              workerHeapGrowthBytes: heapGrowth,
            }
          : null,
        tus: {
          fileBytes: TUS_MB * MB,
          rttMs: RTT_MS,
          windowKiB: WINDOW_KIB,
          link: 'per connection and direction: one-way delay RTT/2, 2-RTT set-up, congestion window from 10 segments (slow start, restarted after idling > RTT + 200 ms) up to windowKiB, ACKs paced by the receiver',
          runs: tusRuns,
          speedup4vs1: tusSpeedup,
        },
        proxyRestarts: restarts,
        requestTimeouts,
        failures,
        loadAverage: load,
      },
      targetMet: (ONLY_TUS || (head?.ratioVsDiscard ?? 0) >= 0.5) && (tusSpeedup ?? 0) >= 2,
    };
  } finally {
    (heap as HeapProbe | null)?.close();
    await stack.stop();
  }
}

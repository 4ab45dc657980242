/**
 * The transcoder: a small HTTP server that runs one ffprobe/ffmpeg job per request and streams NDJSON events
 * (progress, then a result or an error) back to the caller — the Worker's queue consumer, locally over
 * TRANSCODER_URL, in production through the TranscoderContainer Durable Object.
 *
 *   GET  /healthz          liveness; `free`: CPU slots free for a dispatched encode (local pools read it), `jobs`
 *   POST /v1/analyze       AnalyzeRequest    → AnalyzeResult
 *   POST /v1/encode        EncodeRequest     → EncodeResult   (one chunk; segments uploaded as they are written)
 *   POST /v1/audio         AudioRequest      → AudioResult    (the whole source's audio, once)
 *   POST /v1/ladder        LadderProbeRequest → LadderProbeResult (the complexity probe of a per-title ladder)
 *   POST /v1/thumbnails    ThumbnailsRequest → ThumbnailsResult
 *   POST /v1/download      DownloadRequest   → DownloadResult (an MP4 of one rung; media-jobs.ts)
 *   POST /v1/frame         FrameRequest      → image/jpeg directly, not an event stream (media-jobs.ts)
 *   POST /v1/live          LiveSegmentRequest → LiveSegmentResult (one pushed segment into a broadcast's lower rungs; live.ts)
 *
 * A request with `callback` is dispatched (202 at once, events POSTed to the callback; see dispatch.ts); without it
 * the events stream back as NDJSON. Sources are read over HTTP with range requests (ffmpeg seeks), never
 * downloaded whole: a chunk's disk use is its own segments.
 *
 * Environment: PORT, HOST, STORAGE_URL (internal storage origin), INTERNAL_TOKEN (required on requests when set,
 * and sent to storage and callbacks), TRANSCODER_CONCURRENCY (dispatched jobs run at once; default: CPU count),
 * CALLBACK_INTERVAL_MS (progress heartbeat, default 2000), TRANSCODER_HOLD_UNITS (tests only: units whose first
 * attempt stops mid-encode, hold.ts). Light jobs (audio, storyboard: LIGHT_JOB_PATHS) run
 * beside the encodes in slots of their own (at most LIGHT_CONCURRENCY). A dispatch with the ONLY_IF_FREE_HEADER is
 * refused with 503 `busy` rather than queued when the process is not idle (`idle`) or every CPU slot is taken (`1`). The server holds no state between jobs: a killed server
 * loses only its jobs in flight, which the Worker redoes when their leases expire.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CallbackReporter, isCallbackSpec, Slots } from './dispatch';
import { InputError } from './errors';
import { HoldList, type Hold } from './hold';
import { encodeAudio, encodeRungs } from './pipeline';
import { probeLadder } from './complexity';
import { contentTypeOf } from './encoders';
import { analyze } from './probe';
import { jobAccounting, killAllChildren, runningChildren } from './process';
import { LIGHT_JOB_PATHS, ONLY_IF_FREE_HEADER, type AnalyzeRequest, type AudioRequest, type CallbackSpec, type EncodeRequest, type JobEvent, type LadderProbeRequest, type ThumbnailsRequest } from './protocol';
import { HttpStorage, type Storage } from './storage';
import { makeThumbnails } from './thumbnails';
import { cutFrame, makeDownload } from './media-jobs';
import type { DownloadRequest, FrameRequest } from './media-protocol';
import { encodeLiveSegment } from './live';
import { removeWorkRoot, sweepStaleWorkRoots, withWorkDir } from './work-dirs';
import type { LiveSegmentRequest } from './live-protocol';

const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '0.0.0.0';
const TOKEN = process.env.INTERNAL_TOKEN ?? '';
const storage: Storage = new HttpStorage(process.env.STORAGE_URL ?? 'http://storage.internal', TOKEN);
const slots = new Slots(Math.max(1, Number(process.env.TRANSCODER_CONCURRENCY) || os.cpus().length));
/** Light jobs at once (audio, storyboard): they wait on reads, not on the CPU. */
const LIGHT_CONCURRENCY = 2;
const lightSlots = new Slots(LIGHT_CONCURRENCY);
const isLight = (name: string) => LIGHT_JOB_PATHS.includes(name);
/** Jobs running or waiting for a slot, light or not (0: the process is idle). */
const jobCount = () => slots.busy + slots.queued + lightSlots.busy + lightSlots.queued;
const CALLBACK_INTERVAL_MS = Math.max(200, Number(process.env.CALLBACK_INTERVAL_MS) || 2000);
/** Tests only: the units whose first attempt is held mid-encode (hold.ts); empty unless TRANSCODER_HOLD_UNITS is set. */
const holds = new HoldList();

const SAFE_KEY = /^(originals|videos)\/[A-Za-z0-9_-]+\/([A-Za-z0-9_-]+\/)*[A-Za-z0-9_.-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireKey(v: unknown, what: string): string {
  if (typeof v !== 'string' || !SAFE_KEY.test(v) || v.includes('..')) throw new InputError(`invalid job request: ${what} must be a storage key`);
  return v;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new TypeError('request body too large');
    chunks.push(chunk as Buffer);
  }
  const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!isRecord(body)) throw new TypeError('request body must be a JSON object');
  return body;
}

type Emit = (event: JobEvent<unknown>) => void;

const usageOf = (account: { cpuSec: number }, startedMs: number) => ({ cpuSec: Math.round(account.cpuSec * 1000) / 1000, wallSec: Math.round(Date.now() - startedMs) / 1000 });

/** Progress at most twice a second: the consumer writes each one to D1. */
function throttledProgress(emit: Emit): (fraction: number) => void {
  let last = 0;
  return (fraction) => {
    const now = Date.now();
    if (now - last < 500 && fraction < 1) return;
    last = now;
    emit({ type: 'progress', progress: Math.round(fraction * 1000) / 1000 });
  };
}

/**
 * A dispatched job also gets its slot: `release()` frees it early (once the CPU-heavy part is over, so the next
 * job's encode overlaps this one's last uploads), and `queuedSec` says how long it waited for it. `hold`: a test
 * hold on this attempt (hold.ts), engaged when its ffmpeg starts.
 */
interface SlotCtx {
  release: () => void;
  queuedSec: number;
  hold: Hold | null;
}

/** Engages the attempt's hold when its ffmpeg starts; a held job uses no CPU, so its slot goes to the next job. */
const holdHook = (slot: SlotCtx | undefined) =>
  slot?.hold ? (child: ChildProcess, dirs: string[]) => void slot.hold!.engage(child, dirs).then((held) => held && slot.release()) : undefined;
type Job = (body: Record<string, unknown>, emit: Emit, signal: AbortSignal, slot?: SlotCtx) => Promise<unknown>;

const jobs: Record<string, Job> = {
  async analyze(body, _emit, signal) {
    const req = body as unknown as AnalyzeRequest;
    return analyze(await storage.ffmpegUrl(requireKey(req.sourceKey, 'sourceKey')), storage.ffmpegInput(), signal);
  },

  async encode(body, emit, signal, slot) {
    const req = body as unknown as EncodeRequest;
    requireKey(req.sourceKey, 'sourceKey');
    if (!Array.isArray(req.rungs) || req.rungs.length === 0) throw new InputError('invalid job request: rungs must be a non-empty array');
    const c = req.chunk;
    if (!c || !(c.startSec >= 0) || !(c.firstSegment >= 0) || !(c.endSec === null || c.endSec > c.startSec)) throw new InputError('invalid job request: chunk must be a time range');
    for (const r of req.rungs) requireKey(`${r.outputPrefix}x`, 'outputPrefix');
    return withWorkDir(async (dir) => {
      const { renditions, bytesRead, timing } = await encodeRungs(await storage.ffmpegUrl(req.sourceKey), req, dir, {
        signal,
        onProgress: throttledProgress(emit),
        inputOptions: storage.ffmpegInput(),
        upload: (rung, file, name) => storage.upload(`${rung.outputPrefix}${name}`, file, contentTypeOf(name), signal),
        onEncoded: () => slot?.release(),
        onSpawn: holdHook(slot),
      });
      return { chunk: req.chunk, renditions, bytesRead, timing: { ...timing, queuedSec: slot?.queuedSec ?? 0 } };
    });
  },

  async audio(body, emit, signal, slot) {
    const req = body as unknown as AudioRequest;
    requireKey(req.sourceKey, 'sourceKey');
    requireKey(`${req.outputPrefix}x`, 'outputPrefix');
    // The audio track only: an MP4/MOV is read without the video's samples (mp4-index.ts).
    const source = await storage.ffmpegAudioSource(req.sourceKey);
    const result = await withWorkDir((dir) =>
      encodeAudio(source.url, req, dir, {
        signal,
        onProgress: throttledProgress(emit),
        // The segments already uploaded: the Worker publishes the growing audio track from these.
        onPartial: (partial) => emit({ type: 'progress', progress: partial.segmentDurations.reduce((a, b) => a + b, 0) / Math.max(0.001, req.sourceDuration), partial }),
        inputOptions: storage.ffmpegInput(),
        upload: (_rung, file, name) => storage.upload(`${req.outputPrefix}${name}`, file, contentTypeOf(name), signal),
        onSpawn: holdHook(slot),
      }),
    ).finally(() => source.release());
    const { sourceBytes, skippedBytes, fetchedBytes } = source.stats;
    return { ...result, sourceRead: { sourceBytes, skippedBytes, fetchedBytes: fetchedBytes() } };
  },

  async ladder(body, emit, signal) {
    const req = body as unknown as LadderProbeRequest;
    requireKey(req.sourceKey, 'sourceKey');
    if (!Array.isArray(req.rungs) || req.rungs.length === 0 || !req.h264 || !Array.isArray(req.codecs) || !req.windows) {
      throw new InputError('invalid probe request: rungs, h264, codecs and windows are required');
    }
    return withWorkDir(async (dir) =>
      probeLadder(await storage.ffmpegUrl(req.sourceKey), req, dir, { signal, inputOptions: storage.ffmpegInput(), onProgress: throttledProgress(emit) }),
    );
  },

  async thumbnails(body, _emit, signal) {
    const req = body as unknown as ThumbnailsRequest;
    // Without framesFrom the source is required; with it, a source is optional (no source: no poster).
    if (req.sourceKey !== undefined || req.framesFrom === undefined) requireKey(req.sourceKey, 'sourceKey');
    requireKey(`${req.outputPrefix}x`, 'outputPrefix');
    if (req.framesFrom !== undefined && (!Array.isArray(req.framesFrom) || req.framesFrom.length === 0)) throw new InputError('invalid job request: framesFrom must be a non-empty array of segment keys');
    req.framesFrom?.forEach((k) => requireKey(k, 'framesFrom[]'));
    return withWorkDir(async (dir) => {
      const frames = req.framesFrom ? { bytes: storage.stream(req.framesFrom, signal), packaging: req.framesPackaging ?? 'ts' } : undefined;
      const source = req.sourceKey === undefined ? null : await storage.ffmpegUrl(req.sourceKey);
      const files = await makeThumbnails(source, req, dir, signal, storage.ffmpegInput(), frames);
      const upload = (file: string, type: string) => storage.upload(`${req.outputPrefix}${path.basename(file)}`, file, type, signal);
      if (files.poster) await upload(files.poster, 'image/jpeg');
      for (const sprite of files.sprites) await upload(sprite, 'image/jpeg');
      await upload(files.storyboard, 'text/vtt');
      return { poster: files.poster ? 'poster.jpg' : null, sprites: files.sprites.map((f) => path.basename(f)), storyboard: 'storyboard.vtt', count: files.count };
    });
  },

  async live(body, _emit, signal) {
    const req = body as unknown as LiveSegmentRequest;
    requireKey(req.sourceKey, 'sourceKey');
    const sizeOk = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 2 && n <= 8192 && n % 2 === 0;
    const rateOk = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n > 0;
    if (!Array.isArray(req.rungs) || req.rungs.length === 0 || typeof req.seq !== 'number' || typeof req.x264Preset !== 'string') {
      throw new InputError('invalid live request: sourceKey, seq, x264Preset and a non-empty rungs array are required');
    }
    for (const r of req.rungs) {
      if (typeof r.name !== 'string' || !sizeOk(r.width) || !sizeOk(r.height) || !rateOk(r.bitrate) || !rateOk(r.maxrate) || !rateOk(r.bufsize)) {
        throw new InputError('invalid live request: every rung needs a name, even width and height, bitrate, maxrate and bufsize');
      }
      requireKey(r.outputKey, 'rungs[].outputKey');
    }
    // A test hold (hold.ts, `live@{seq}`): the encode stops after its first output until the test lets it go.
    const hold = holds.take('/v1/live', body, { jobId: `live-${req.seq}`, attempt: 1 });
    return withWorkDir((dir) => encodeLiveSegment(storage, req, dir, { signal, onSpawn: hold ? (child, dirs) => void hold.engage(child, dirs) : undefined }));
  },

  async download(body, emit, signal) {
    const req = body as unknown as DownloadRequest;
    if (!Array.isArray(req.segmentKeys) || req.segmentKeys.length === 0) throw new InputError('invalid job request: segmentKeys must be a non-empty array');
    req.segmentKeys.forEach((k) => requireKey(k, 'segmentKeys[]'));
    if (req.initKey !== undefined) requireKey(req.initKey, 'initKey');
    requireKey(req.outputKey, 'outputKey');
    if (req.encodeFallback) requireKey(req.encodeFallback.sourceKey, 'encodeFallback.sourceKey');
    return withWorkDir((dir) => makeDownload(storage, req, dir, signal, throttledProgress(emit)));
  },
};

/** `POST /v1/frame`: small and synchronous, so the JPEG is the response body (errors are JSON with a status). */
async function handleFrame(body: Record<string, unknown>, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const req = body as unknown as FrameRequest;
  const sizeOk = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 2 && n <= 4096;
  try {
    requireKey(req.segmentKey, 'segmentKey');
    if (typeof req.offset !== 'number' || !Number.isFinite(req.offset) || req.offset < 0 || !sizeOk(req.width) || !sizeOk(req.height)) {
      throw new InputError('invalid frame request: offset ≥ 0 and integer width/height (2–4096) required');
    }
    if (req.initKey !== undefined) requireKey(req.initKey, 'initKey');
    const jpeg = req.initKey ? await withWorkDir((dir) => cutFrame(storage, req, signal, dir)) : await cutFrame(storage, req, signal);
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': String(jpeg.length) }).end(jpeg);
  } catch (err) {
    const permanent = err instanceof InputError;
    const message = err instanceof Error ? err.message : String(err);
    res.writeHead(permanent ? 422 : 500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: permanent ? 'bad_input' : 'internal', message } }));
  }
}

/** Runs a job in the background (after a free slot), reporting through its callback. */
function dispatch(name: string, job: Job, body: Record<string, unknown>, callback: CallbackSpec): void {
  const abort = new AbortController();
  const reporter = new CallbackReporter(callback, TOKEN, abort, CALLBACK_INTERVAL_MS);
  const pool = isLight(name) ? lightSlots : slots;
  reporter.start();
  void (async () => {
    const started = Date.now();
    let held = false;
    const release = () => {
      if (!held) return;
      held = false;
      pool.release();
    };
    try {
      await pool.acquire(abort.signal);
      held = true;
      const slot = { release, queuedSec: (Date.now() - started) / 1000, hold: holds.take(name, body, callback) };
      const account = { cpuSec: 0 };
      const running = Date.now();
      const result = await jobAccounting.run(account, () =>
        job(body, (e) => {
          if (e.type !== 'progress') return;
          if (e.partial !== undefined) reporter.partial(e.partial);
          else reporter.progress(e.progress);
        }, abort.signal, slot),
      );
      console.log(`${name} ${callback.jobId} ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await reporter.finish({ type: 'result', result, usage: usageOf(account, running) });
    } catch (err) {
      const permanent = err instanceof InputError;
      const message = err instanceof Error ? err.message : String(err);
      console.error(`${name} ${callback.jobId} failed (${permanent ? 'permanent' : 'transient'}): ${message}`);
      if (!abort.signal.aborted) await reporter.finish({ type: 'error', permanent, message });
      else await reporter.finish({ type: 'error', permanent: false, message: 'job stopped: its claim was taken over or the video is gone' });
    } finally {
      release();
    }
  })();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://transcoder');
  if (req.method === 'GET' && url.pathname === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, running: runningChildren(), free: slots.free, jobs: jobCount() }));
    return;
  }
  const m = /^\/v1\/(analyze|encode|audio|ladder|thumbnails|download|frame|live)$/.exec(url.pathname);
  const job = m ? jobs[m[1]!] : undefined;
  if (req.method !== 'POST' || (!job && m?.[1] !== 'frame')) {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such endpoint' } }));
    return;
  }
  if (TOKEN && req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'unauthorized', message: 'internal token required' } }));
    return;
  }
  let body: Record<string, unknown>;
  try {
    body = await readJson(req);
  } catch (err) {
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'bad_request', message: String(err) } }));
    return;
  }

  if (job && isCallbackSpec(body.callback)) {
    const want = req.headers[ONLY_IF_FREE_HEADER];
    if ((want === 'idle' && jobCount() > 0) || (want === '1' && !isLight(url.pathname) && slots.free <= 0)) {
      res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'busy', message: 'every CPU slot is taken' } }));
      return;
    }
    dispatch(url.pathname, job, body, body.callback);
    res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ accepted: true, running: slots.busy, queued: slots.queued }));
    return;
  }

  // The caller going away (consumer invocation ended) cancels the job: nobody would record its result.
  const abort = new AbortController();
  let finished = false;
  res.on('close', () => {
    if (!finished) abort.abort();
  });
  if (!job) {
    await handleFrame(body, res, abort.signal);
    finished = true;
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
  const emit: Emit = (event) => {
    if (!res.writableEnded) res.write(JSON.stringify(event) + '\n');
  };
  const started = Date.now();
  try {
    const account = { cpuSec: 0 };
    const result = await jobAccounting.run(account, () => job(body, emit, abort.signal));
    emit({ type: 'result', result, usage: usageOf(account, started) });
    console.log(`${url.pathname} ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    const permanent = err instanceof InputError;
    const message = err instanceof Error ? err.message : String(err);
    console.error(`${url.pathname} failed (${permanent ? 'permanent' : 'transient'}): ${message}`);
    emit({ type: 'error', permanent, message });
  } finally {
    finished = true;
    res.end();
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('unhandled', err);
    if (!res.headersSent) res.writeHead(500).end();
    else res.end();
  });
});
// Long encodes stream progress; never time the connection out from this side.
server.requestTimeout = 0;
// Longer than any client's idle pool timeout: the Worker reuses connections, and a socket this side closes while
// the Worker reuses it loses that request ("Network connection lost").
server.keepAliveTimeout = 120_000;
server.headersTimeout = 60_000;
// A restarted server can race the previous process (its parent-death watchdog needs up to a second to release the
// port): retry the bind for a while instead of crashing.
let bindAttempts = 0;
server.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EADDRINUSE' && bindAttempts++ < 40) {
    setTimeout(() => server.listen(PORT, HOST), 250);
    return;
  }
  throw err;
});
// A killed transcoder never removed its jobs' directories: remove those of processes that no longer run.
void sweepStaleWorkRoots().then((removed) => removed.length > 0 && console.log(`removed ${removed.length} work dir(s) of stopped transcoders`));
server.listen(PORT, HOST, () => console.log(`transcoder listening on http://${HOST}:${PORT} (storage ${storage.url('')})`));

function shutdown(code: number): void {
  killAllChildren();
  removeWorkRoot();
  server.close();
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
// A stateless job server must not die of one stray rejection (every known source is handled where it arises; this
// is the net under them): the jobs in flight would be lost with it.
process.on('unhandledRejection', (err) => console.error('unhandled rejection (kept running):', err));
process.on('SIGINT', () => shutdown(0));
// Run under a supervisor (tsx's CLI, `npm start`): if it dies without signalling us, stop too, with our ffmpegs.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) shutdown(1);
}, 1000).unref();

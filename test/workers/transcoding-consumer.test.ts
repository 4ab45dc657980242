/**
 * Queue consumer logic inside workerd: explicit acks and retries with backoff, leases and takeover, permanent vs
 * transient failures, the dead-letter path, chunk planning, dispatch + callbacks, exact fan-in (duplicate and
 * concurrent completions), growing playlists and READY-once. The transcoder is scripted: NDJSON for analysis, 202
 * for dispatched units, whose reports the test posts to the real callback route (the real transcoder runs end to
 * end in test/node/transcoding-*e2e.test.ts); queues are spied so no message leaves the test.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq, and } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { AnalyzeResult, AudioResult, CallbackBody, EncodeRequest, EncodeResult, JobEvent, RenditionResult, ThumbnailsRequest } from '../../containers/transcoder/src/protocol';
import type { VideoHook } from '../../workers/lifecycle';
import { lifecycleHooks } from '../../workers/lifecycle-hooks';
import { failVideo, insertLiveVideo, markReady } from '../../workers/metadata/video-state';
import { loadConfig } from '../../workers/shared/config';
import { openDb, schema } from '../../workers/shared/db';
import { setRuntime } from '../../workers/shared/runtime';
import { keys } from '../../workers/shared/storage-keys';
import { transcodeBackoff, handleDeadLetterBatch, handleTranscodeBatch, type ConsumerDeps } from '../../workers/transcoding/consumer';
import type { TranscodeMessage } from '../../workers/transcoding/messages';
import { startProcessing } from '../../workers/transcoding/start';
import { recordLiveRung } from '../../workers/transcoding/outputs';
import { sendPlanned } from '../../workers/transcoding/plan';
import { newId } from '../../workers/shared/runtime';
import { sweepTranscodeJobs } from '../../workers/transcoding/sweeper';
import type { TranscoderPath } from '../../workers/transcoding/transcoder-client';
import { api, newCreator, newVideo } from './helpers';

const db = openDb(env.DB);
const config = loadConfig(env);

let sent: TranscodeMessage[] = [];
let delayed: { body: TranscodeMessage; delaySeconds?: number }[] = [];
let deadLettered: unknown[] = [];
// The composed hooks are observed in place: each event's webhook hook is spied (and still runs).
let readyHook: MockInstance<VideoHook>;
let failedHook: MockInstance<VideoHook>;
const emitted = (hook: MockInstance<VideoHook>, videoId: string) => hook.mock.calls.filter(([, v]) => v === videoId).length;

beforeEach(() => {
  readyHook = vi.spyOn(lifecycleHooks.events['video.ready'], 'webhook');
  failedHook = vi.spyOn(lifecycleHooks.events['video.failed'], 'webhook');
  sent = [];
  delayed = [];
  deadLettered = [];
  vi.spyOn(env.TRANSCODE_QUEUE, 'send').mockImplementation(async (body, options) => {
    // Delayed sends (watchdogs after dispatch, purges, callback retries) are kept apart from immediate ones.
    if (options?.delaySeconds) delayed.push({ body: body as TranscodeMessage, delaySeconds: options.delaySeconds });
    else sent.push(body as TranscodeMessage);
    return undefined as never;
  });
  vi.spyOn(env.TRANSCODE_QUEUE, 'sendBatch').mockImplementation(async (batch) => {
    for (const m of batch) sent.push(m.body as TranscodeMessage);
    return undefined as never;
  });
  vi.spyOn(env.TRANSCODE_DLQ, 'send').mockImplementation(async (body) => {
    deadLettered.push(body);
    return undefined as never;
  });
});
afterEach(() => vi.restoreAllMocks());

type Script = Partial<Record<TranscoderPath, (body: unknown) => JobEvent<unknown>[] | 'crash'>>;
type Call = { path: TranscoderPath; body: Record<string, unknown> };

/**
 * A scripted transcoder: analysis answers with NDJSON events ('crash' = the stream breaks mid-job); dispatched
 * units (encode, audio, thumbnails) are accepted with 202 and their request (with its callback) recorded.
 */
function scripted(script: Script = {}): ConsumerDeps & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    transcoder: {
      async post(path, body) {
        calls.push({ path, body: body as Record<string, unknown> });
        if (path !== '/v1/analyze') return new Response(JSON.stringify({ accepted: true }), { status: 202 });
        const events = script[path]?.(body) ?? [{ type: 'error', permanent: false, message: `no script for ${path}` }];
        const enc = new TextEncoder();
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            if (events === 'crash') {
              controller.enqueue(enc.encode(JSON.stringify({ type: 'progress', progress: 0.3 }) + '\n'));
              controller.error(new Error('connection reset'));
              return;
            }
            for (const e of events) controller.enqueue(enc.encode(JSON.stringify(e) + '\n'));
            controller.close();
          },
        });
        return new Response(stream, { headers: { 'Content-Type': 'application/x-ndjson' } });
      },
    },
  };
}

/** What the transcoder does when a dispatched unit reports: POST the event to the callback its request carried. */
async function callback(call: Call, event: JobEvent<unknown>, token = env.INTERNAL_TOKEN): Promise<Response> {
  const cb = call.body.callback as { url: string; jobId: string; claim: number };
  expect(cb.url).toMatch(/\/internal\/transcoding\/callback$/);
  const body: CallbackBody = { jobId: cb.jobId, claim: cb.claim, event };
  return api('/internal/transcoding/callback', { method: 'POST', token, json: body });
}

const FACTS_1080: AnalyzeResult = { duration: 12, width: 1920, height: 1080, rotation: 0, frameRate: 30, hasAudio: true, videoCodec: 'h264', audioCodec: 'aac', formatName: 'mov,mp4,m4a,3gp,3g2,mj2' };

function renditionFor(req: EncodeRequest, name: string, segments = [6, 6]): RenditionResult {
  const r = req.rungs.find((x) => x.name === name)!;
  return { name, width: r.width, height: r.height, codecs: 'avc1.64001f', frameRate: 30, segmentDurations: segments, segmentSizes: segments.map(() => 1000), bandwidth: r.bitrate * 1.2, averageBandwidth: r.bitrate, totalBytes: 1000 * segments.length };
}

/** A chunk's result: every requested rung with these segment durations. */
function encodeResult(body: Record<string, unknown>, segments = [6, 6]): EncodeResult {
  const req = body as unknown as EncodeRequest;
  return { chunk: req.chunk, renditions: req.rungs.map((r) => renditionFor(req, r.name, segments)), bytesRead: 1000 };
}

const AUDIO: AudioResult = { codecs: 'mp4a.40.2', segmentDurations: [6, 6], segmentSizes: [96_000, 96_000], bandwidth: 128_000, averageBandwidth: 128_000, totalBytes: 192_000 };
const THUMBS = { poster: 'poster.jpg', sprites: ['sprite_0.jpg'], storyboard: 'storyboard.vtt', count: 6 };

async function processingVideo(token: string): Promise<string> {
  const { id } = await newVideo(token);
  await env.MEDIA.put(keys.original(id), new Uint8Array([0, 0, 0, 24, 102, 116, 121, 112]));
  expect(await startProcessing(env, db, id, { sourceSize: 8 })).toBe(true);
  return id;
}

async function deliver(messages: unknown[], deps: ConsumerDeps, attempts = 1) {
  const batch = createMessageBatch('transcode-jobs', messages.map((body, i) => ({ id: `m${i}-${Math.random()}`, timestamp: new Date(), attempts, body })));
  // getQueueResult reports which messages were retried but not their delay: record the options passed.
  const delays: (number | undefined)[] = [];
  for (const m of batch.messages) {
    const original = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      delays.push(options?.delaySeconds);
      original(options);
    };
  }
  const ctx = createExecutionContext();
  await handleTranscodeBatch(batch, env, deps);
  return { ...(await getQueueResult(batch, ctx)), delays };
}

const job = (videoId: string, unit: string) =>
  db.select().from(schema.transcodeJobs).where(and(eq(schema.transcodeJobs.videoId, videoId), eq(schema.transcodeJobs.unit, unit))).get();
const video = (videoId: string) => db.select().from(schema.videos).where(eq(schema.videos.id, videoId)).get();

describe('analyze', () => {
  it('stores the source facts and plans the ladder: lowest rung first, the rest in one job, then thumbnails', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    expect(sent).toEqual([{ type: 'analyze', videoId: id }]);
    sent = [];
    const deps = scripted({ '/v1/analyze': () => [{ type: 'result', result: FACTS_1080 }] });
    const result = await deliver([{ type: 'analyze', videoId: id }], deps);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(await video(id)).toMatchObject({ status: 'PROCESSING', width: 1920, height: 1080, duration: 12, frameRate: 30, hasAudio: true, videoCodec: 'h264' });
    // A 12 s video is one chunk: the audio track once, the lowest rung alone, the rest together, thumbnails.
    expect(sent).toEqual([
      { type: 'audio', videoId: id },
      { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 },
      { type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'], chunk: 0 },
      { type: 'thumbnails', videoId: id },
    ]);
    expect(await job(id, 'analyze')).toMatchObject({ status: 'COMPLETED', attempts: 1, progress: 1 });
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PENDING', rangeStart: 0, rangeEnd: null });

    // A redelivered analyze message after completion is acked without calling the transcoder again.
    const again = await deliver([{ type: 'analyze', videoId: id }], deps);
    expect(again.explicitAcks).toHaveLength(1);
    expect(deps.calls).toHaveLength(1);
  });

  it('an analysis that finishes after its video was deleted leaves no unfinished job rows', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    const analysing = scripted({ '/v1/analyze': () => [{ type: 'result', result: FACTS_1080 }] });
    // The creator deletes the video while the transcoder is analysing it (the hold point: inside the analysis call).
    const deps: ConsumerDeps = {
      transcoder: {
        async post(path, body, instance) {
          expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
          return analysing.transcoder.post(path, body, instance);
        },
      },
    };
    const result = await deliver([{ type: 'analyze', videoId: id }], deps);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await video(id))!.status).toBe('DELETED');
    const rows = await db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, id)).all();
    // The plan the late analysis stored is ended with the rest: nothing left PENDING or PROCESSING.
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.filter((r) => r.status === 'PENDING' || r.status === 'PROCESSING')).toEqual([]);
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['CANCELLED']));
    // Its follow-up messages find a deleted video and are dropped without creating anything.
    const followUps = await deliver(sent.filter((m) => m.videoId === id && m.type !== 'analyze' && m.type !== 'purge'), scripted());
    expect(followUps.retryMessages).toEqual([]);
    const after = await db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, id)).all();
    expect(after.filter((r) => r.status === 'PENDING' || r.status === 'PROCESSING')).toEqual([]);
  });

  it('fails the video with the transcoder’s reason on a permanent error, without retrying', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    const reason = 'The file is not a readable video (Invalid data found when processing input).';
    const result = await deliver([{ type: 'analyze', videoId: id }], scripted({ '/v1/analyze': () => [{ type: 'error', permanent: true, message: reason }] }));
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(await video(id)).toMatchObject({ status: 'FAILED', error: reason });
    expect(await job(id, 'analyze')).toMatchObject({ status: 'FAILED', error: reason, attempts: 1 });
    const res = await api(`/v1/videos/${id}`, { token });
    expect(await res.json()).toMatchObject({ status: 'FAILED', error: reason });
  });
});

describe('transient failures, backoff and the dead-letter queue', () => {
  it('releases the job and retries with exponential backoff while attempts remain', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    const deps = scripted({ '/v1/analyze': () => 'crash' });
    for (const attempts of [1, 2, 3]) {
      const result = await deliver([{ type: 'analyze', videoId: id }], deps, attempts);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(1);
      expect(result.delays).toEqual([transcodeBackoff(attempts, config)]);
    }
    expect([1, 2, 3].map((a) => transcodeBackoff(a, config))).toEqual([5, 10, 20]);
    expect(await job(id, 'analyze')).toMatchObject({ status: 'PENDING', attempts: 3, error: expect.stringMatching(/connection/) });
    expect(await video(id)).toMatchObject({ status: 'PROCESSING' });
  });

  it('dead-letters a message that fails on its last attempt; the DLQ consumer fails job and video with the reason', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    const deps = scripted({ '/v1/analyze': () => [{ type: 'error', permanent: false, message: 'storage: GET failed with 503' }] });
    const result = await deliver([{ type: 'analyze', videoId: id }], deps, config.transcoding.maxAttempts);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(deadLettered).toEqual([{ type: 'analyze', videoId: id }]);

    const dlqBatch = createMessageBatch('transcode-jobs-dlq', [{ id: 'd1', timestamp: new Date(), attempts: 1, body: deadLettered[0] }]);
    const ctx = createExecutionContext();
    await handleDeadLetterBatch(dlqBatch, env);
    expect((await getQueueResult(dlqBatch, ctx)).explicitAcks).toEqual(['d1']);
    expect(await job(id, 'analyze')).toMatchObject({ status: 'FAILED', error: 'storage: GET failed with 503' });
    const v = await video(id);
    expect(v?.status).toBe('FAILED');
    expect(v?.error).toMatch(/Processing failed after 1 attempt\(s\) \(analyze\): storage: GET failed with 503/);
  });

  it('sends poison messages straight to the dead-letter queue', async () => {
    const deps = scripted({});
    const poison = [{ type: 'explode', videoId: 'vid_x' }, 'not json object', { type: 'encode', videoId: 'vid_x', rungs: [] }, { type: 'analyze', videoId: '../etc' }, { type: 'encode', videoId: 'vid_x', rungs: ['240p'], chunk: -1 }];
    const result = await deliver(poison, deps);
    expect(result.explicitAcks).toHaveLength(5);
    expect(deadLettered).toEqual(poison);
    expect(deps.calls).toEqual([]);
    // …where they are logged and acked (nothing to mark).
    const dlqBatch = createMessageBatch('transcode-jobs-dlq', poison.map((body, i) => ({ id: `p${i}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await handleDeadLetterBatch(dlqBatch, env);
    expect((await getQueueResult(dlqBatch, ctx)).explicitAcks).toHaveLength(5);
  });
});

describe('leases', () => {
  it('takes over a PROCESSING job whose lease expired, and waits out a live lease', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    const t0 = 1_900_000_000_000;
    const restore = setRuntime({ now: () => t0 });
    try {
      await db
        .update(schema.transcodeJobs)
        .set({ status: 'PROCESSING', attempts: 1, leaseUntil: t0 + 60_000, startedAt: t0 - 1000 })
        .where(eq(schema.transcodeJobs.videoId, id));
      const deps = scripted({ '/v1/analyze': () => [{ type: 'result', result: FACTS_1080 }] });
      const busy = await deliver([{ type: 'analyze', videoId: id }], deps);
      expect(busy.retryMessages).toHaveLength(1);
      expect(busy.delays).toEqual([61]);
      expect(deps.calls).toEqual([]);

      await db.update(schema.transcodeJobs).set({ leaseUntil: t0 - 1 }).where(eq(schema.transcodeJobs.videoId, id));
      const taken = await deliver([{ type: 'analyze', videoId: id }], deps);
      expect(taken.explicitAcks).toHaveLength(1);
      expect(deps.calls).toHaveLength(1);
      expect(await job(id, 'analyze')).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    } finally {
      restore();
    }
  });

  it('the sweeper re-sends stale PENDING jobs and expired leases, and leaves fresh ones alone', async () => {
    const { token } = await newCreator();
    const stale = await processingVideo(token);
    const expired = await processingVideo(token);
    const fresh = await processingVideo(token);
    sent = [];
    const now = Date.now();
    await db.update(schema.transcodeJobs).set({ updatedAt: now - config.transcoding.stalePendingMs - 1 }).where(eq(schema.transcodeJobs.videoId, stale));
    await db.update(schema.transcodeJobs).set({ status: 'PROCESSING', leaseUntil: now - 1 }).where(eq(schema.transcodeJobs.videoId, expired));
    const resent = await sweepTranscodeJobs(env, db, config);
    expect(resent).toEqual(expect.arrayContaining([{ type: 'analyze', videoId: stale }, { type: 'analyze', videoId: expired }]));
    expect(resent).not.toContainEqual({ type: 'analyze', videoId: fresh });
  });
});

/** Every PROCESSING video left by earlier tests → FAILED, through the state machine (as a job failing for good does). */
async function failProcessingVideos(): Promise<void> {
  const left = await db.select({ id: schema.videos.id }).from(schema.videos).where(eq(schema.videos.status, 'PROCESSING')).all();
  for (const { id } of left) await failVideo(env, db, id, 'left by an earlier test');
}

describe('dispatch, callbacks and readiness', () => {
  // Admission and its wake-up are platform-wide (admission.ts): videos and runs left by earlier tests (whose scripted
  // transcoder never reports) would hold places and be woken. Each test starts on an idle platform.
  beforeEach(async () => {
    await failProcessingVideos();
    await db.update(schema.transcodeJobs).set({ leaseUntil: 0 }).where(eq(schema.transcodeJobs.status, 'PROCESSING'));
  });
  async function analysed(token: string, facts: AnalyzeResult = FACTS_1080): Promise<string> {
    const id = await processingVideo(token);
    await deliver([{ type: 'analyze', videoId: id }], scripted({ '/v1/analyze': () => [{ type: 'result', result: facts }] }));
    sent = [];
    return id;
  }
  /** Delivers a unit's message and returns the transcoder request it dispatched. */
  async function dispatch(deps: ReturnType<typeof scripted>, message: TranscodeMessage): Promise<Call> {
    const before = deps.calls.length;
    const result = await deliver([message], deps);
    // Not acked: the dispatched message stays with the queue as the unit's watchdog, back after the lease.
    expect(result.explicitAcks).toHaveLength(0);
    expect(result.delays).toEqual([config.transcoding.jobLeaseMs / 1000 + 1]);
    expect(deps.calls.length).toBe(before + 1);
    return deps.calls.at(-1)!;
  }

  it('dispatches without waiting, records renditions once audio and a chunk are in, and marks READY exactly once', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    const deps = scripted();

    const low = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    const request = low.body as unknown as EncodeRequest;
    expect(low.path).toBe('/v1/encode');
    expect(request.rungs).toEqual([{ name: '240p', width: 426, height: 240, bitrate: 400_000, maxrate: 600_000, bufsize: 800_000, outputPrefix: `videos/${id}/240p/` }]);
    expect(request).toMatchObject({ segmentDurationSec: 6, sourceDuration: 12, chunk: { index: 0, startSec: 0, endSec: null, firstSegment: 0 } });
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PROCESSING', attempts: 1 });

    // Progress extends the lease; completion before the audio track exists records nothing playable yet.
    expect((await callback(low, { type: 'progress', progress: 0.5 })).status).toBe(200);
    expect(await job(id, 'encode:240p@0')).toMatchObject({ progress: 0.5 });
    expect((await callback(low, { type: 'result', result: encodeResult(low.body) })).status).toBe(200);
    expect(await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all()).toEqual([]);

    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    expect(audio.body).toMatchObject({ outputPrefix: `videos/${id}/audio/`, sourceHasAudio: true, sourceDuration: 12, audioBitrate: 128_000 });
    await callback(audio, { type: 'result', result: AUDIO });
    let view = (await (await api(`/v1/videos/${id}`, { token })).json()) as { status: string; renditions: { name: string; codecs: string; bandwidth: number }[]; processing: { unit: string; range?: number[] }[] };
    expect(view.status).toBe('PROCESSING');
    expect(view.renditions.map((r) => r.name)).toEqual(['240p']);
    // The rung's CODECS and BANDWIDTH include the audio rendition it references.
    expect(view.renditions[0]).toMatchObject({ codecs: 'avc1.64001f,mp4a.40.2', bandwidth: Math.ceil((1000 * 8) / 6) + 128_000 });
    expect(view.processing.find((p) => p.unit === 'encode:240p@0')?.range).toEqual([0, 12]);
    const playlist = await (await env.MEDIA.get(keys.mediaPlaylist(id, '240p')))!.text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-TARGETDURATION:6');
    expect(playlist).toContain('#EXT-X-ENDLIST');

    const rest = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'], chunk: 0 });
    await callback(rest, { type: 'result', result: encodeResult(rest.body) });
    expect((await video(id))?.status).toBe('PROCESSING'); // thumbnails still missing
    const thumbs = await dispatch(deps, { type: 'thumbnails', videoId: id });
    await callback(thumbs, { type: 'result', result: THUMBS });
    expect((await video(id))?.status).toBe('READY');
    expect(emitted(readyHook, id)).toBe(1);

    // Redeliveries after completion change nothing: acked without dispatch, a repeated callback is a duplicate.
    const calls = deps.calls.length;
    await deliver([{ type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 }, { type: 'thumbnails', videoId: id }], deps);
    expect(deps.calls.length).toBe(calls);
    expect(await (await callback(low, { type: 'result', result: encodeResult(low.body) })).json()).toEqual({ status: 'duplicate' });
    expect(emitted(readyHook, id)).toBe(1);
    const rows = await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all();
    expect(rows.map((r) => r.name).sort()).toEqual(['1080p', '240p', '360p', '480p', '720p', 'audio']);
    const master = await (await env.MEDIA.get(keys.masterPlaylist(id)))!.text();
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(5);
    expect(master).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Original",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/playlist.m3u8"');
    expect(master).toContain('RESOLUTION=1920x1080,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"');
  });

  it('cuts a long video into chunks, grows the playlist chunk by chunk and finalises once when the last two finish together', async () => {
    const { token } = await newCreator();
    // 130 s at 60 s chunks of 6 s segments: [0,60) [60,120) [120,end).
    const id = await analysed(token, { ...FACTS_1080, duration: 130, width: 640, height: 360 });
    const deps = scripted();
    const chunks = [0, 1, 2].map((chunk) => ({ type: 'encode' as const, videoId: id, rungs: ['240p'], chunk }));
    const calls: Call[] = [];
    for (const m of chunks) calls.push(await dispatch(deps, m));
    expect(calls.map((c) => (c.body as unknown as EncodeRequest).chunk)).toEqual([
      { index: 0, startSec: 0, endSec: 60, firstSegment: 0 },
      { index: 1, startSec: 60, endSec: 120, firstSegment: 10 },
      { index: 2, startSec: 120, endSec: null, firstSegment: 20 },
    ]);
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    await callback(audio, { type: 'result', result: { ...AUDIO, segmentDurations: [...Array(21).fill(6), 4], segmentSizes: Array(22).fill(1000) } });
    const ten = Array(10).fill(6);

    // Chunk 2 first: nothing playable yet (the playlist is a contiguous prefix).
    await callback(calls[2]!, { type: 'result', result: encodeResult(calls[2]!.body, [6, 4]) });
    expect(await env.MEDIA.get(keys.mediaPlaylist(id, '240p'))).toBeNull();
    // Chunk 0: a growing EVENT playlist of its 10 segments, no ENDLIST; playable while PROCESSING.
    await callback(calls[0]!, { type: 'result', result: encodeResult(calls[0]!.body, ten) });
    const growing = await (await env.MEDIA.get(keys.mediaPlaylist(id, '240p')))!.text();
    expect(growing).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(growing).not.toContain('#EXT-X-ENDLIST');
    expect(growing.match(/#EXTINF/g)).toHaveLength(10);
    const playback = await api(`/v1/videos/${id}/playback`, { token });
    expect(playback.status).toBe(200);
    expect(((await playback.json()) as { status: string }).status).toBe('PROCESSING');

    // Chunk 1, delivered twice at once (a callback retried while the first is in flight): counted once, final once.
    const [a, b] = await Promise.all([
      callback(calls[1]!, { type: 'result', result: encodeResult(calls[1]!.body, ten) }),
      callback(calls[1]!, { type: 'result', result: encodeResult(calls[1]!.body, ten) }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([await a.json(), await b.json()].map((x) => (x as { status: string }).status).sort()).toEqual(['completed', 'duplicate']);
    const final = await (await env.MEDIA.get(keys.mediaPlaylist(id, '240p')))!.text();
    expect(final).toContain('#EXT-X-ENDLIST');
    expect(final.match(/#EXTINF/g)).toHaveLength(22);
    const row = await db.select().from(schema.renditions).where(and(eq(schema.renditions.videoId, id), eq(schema.renditions.name, '240p'))).get();
    expect(row).toMatchObject({ complete: true, segmentCount: 22 });
  });

  it('publishes the audio track as it grows, so the first chunk plays before the whole source’s audio is encoded', async () => {
    const { token } = await newCreator();
    // 130 s at 60 s chunks of 6 s segments: the 240p rung's first chunk is 60 s.
    const id = await analysed(token, { ...FACTS_1080, duration: 130, width: 426, height: 240 });
    const deps = scripted();
    const low = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    await callback(low, { type: 'result', result: encodeResult(low.body, Array(10).fill(6)) });
    const partial = (n: number): AudioResult => ({ ...AUDIO, segmentDurations: Array(n).fill(6), segmentSizes: Array(n).fill(96_000), totalBytes: 96_000 * n });
    const rows = () => db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all();
    const view = async () => (await (await api(`/v1/videos/${id}`, { token })).json()) as { status: string; renditions: { name: string; complete: boolean }[] };

    // 30 s of audio: a growing audio playlist, but the 60 s chunk is not published yet (it would play silent).
    expect((await callback(audio, { type: 'progress', progress: 0.2, partial: partial(5) })).status).toBe(200);
    expect(await rows()).toMatchObject([{ name: 'audio', kind: 'audio', complete: false, segmentCount: 5 }]);
    const growing = await (await env.MEDIA.get(keys.mediaPlaylist(id, 'audio')))!.text();
    expect(growing).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(growing).not.toContain('#EXT-X-ENDLIST');
    expect((await view()).renditions).toEqual([]);
    expect((await api(`/v1/videos/${id}/playback`, { token })).status).toBe(409);

    // 60 s of audio covers the first chunk: 240p is playable while the audio still encodes.
    await callback(audio, { type: 'progress', progress: 0.5, partial: partial(10) });
    expect((await view()).renditions.map((r) => r.name)).toEqual(['240p']);
    expect((await job(id, 'audio'))?.status).toBe('PROCESSING');
    const playback = await api(`/v1/videos/${id}/playback`, { token });
    expect(playback.status).toBe(200);
    const master = await (await env.MEDIA.get(keys.masterPlaylist(id)))!.text();
    expect(master).toContain('URI="audio/playlist.m3u8"');
    expect(master).toContain('CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"');
    expect((await rows()).find((r) => r.name === 'audio')).toMatchObject({ complete: false, segmentCount: 10 });

    // A late, shorter partial (an older post, or a redo's first ones) never shrinks the track; a malformed one and
    // one from a claim that no longer owns the unit are not stored.
    await callback(audio, { type: 'progress', progress: 0.6, partial: partial(7) });
    await callback(audio, { type: 'progress', progress: 0.6, partial: { ...partial(12), segmentDurations: [6, -1, ...Array(10).fill(6)] } });
    await callback(audio, { type: 'progress', progress: 0.6, partial: { codecs: 'mp4a.40.2' } });
    expect((await rows()).find((r) => r.name === 'audio')).toMatchObject({ segmentCount: 10 });
    const stale = { ...audio, body: { ...audio.body, callback: { ...(audio.body.callback as object), claim: 1 } } };
    expect((await callback(stale, { type: 'progress', progress: 0.7, partial: partial(12) })).status).toBe(409);
    expect((await rows()).find((r) => r.name === 'audio')).toMatchObject({ segmentCount: 10 });
    expect(await (await env.MEDIA.get(keys.mediaPlaylist(id, 'audio')))!.text()).toContain('segment_0009.ts');

    // The final result finalises the track once: VOD with ENDLIST.
    await callback(audio, { type: 'result', result: { ...AUDIO, segmentDurations: [...Array(21).fill(6), 4], segmentSizes: Array(22).fill(1000) } });
    expect((await rows()).find((r) => r.name === 'audio')).toMatchObject({ complete: true, segmentCount: 22 });
    const final = await (await env.MEDIA.get(keys.mediaPlaylist(id, 'audio')))!.text();
    expect(final).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(final).toContain('#EXT-X-ENDLIST');
    expect((await view()).renditions).toMatchObject([{ name: '240p', complete: false }]);
  });

  it('finalises exactly once when the last two chunks of a rung complete concurrently', async () => {
    const { token } = await newCreator();
    const id = await analysed(token, { ...FACTS_1080, duration: 130, width: 426, height: 240 });
    const deps = scripted();
    const calls: Call[] = [];
    for (const chunk of [0, 1, 2]) calls.push(await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk }));
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    await callback(audio, { type: 'result', result: AUDIO });
    // The storyboard is decoded from the lowest rung: until 240p is final, a thumbnails message is dropped unclaimed
    // (the rung's finalisation sends a new one).
    const early = deps.calls.length;
    const waiting = await deliver([{ type: 'thumbnails', videoId: id }], deps);
    expect(waiting.explicitAcks).toHaveLength(1);
    expect(deps.calls.length).toBe(early);
    expect(await job(id, 'thumbnails')).toMatchObject({ status: 'PENDING', attempts: 0 });
    await callback(calls[0]!, { type: 'result', result: encodeResult(calls[0]!.body, Array(10).fill(6)) });
    await Promise.all([
      callback(calls[1]!, { type: 'result', result: encodeResult(calls[1]!.body, Array(10).fill(6)) }),
      callback(calls[2]!, { type: 'result', result: encodeResult(calls[2]!.body, [6, 4]) }),
    ]);
    const row = await db.select().from(schema.renditions).where(and(eq(schema.renditions.videoId, id), eq(schema.renditions.name, '240p'))).get();
    expect(row).toMatchObject({ complete: true, segmentCount: 22 });
    expect((await video(id))?.status).toBe('PROCESSING'); // thumbnails still missing
    // Finalising the lowest rung sent the thumbnails message, once.
    expect(sent.filter((m) => m.type === 'thumbnails' && m.videoId === id)).toHaveLength(1);
    const thumbs = await dispatch(deps, { type: 'thumbnails', videoId: id });
    expect((thumbs.body as unknown as ThumbnailsRequest).framesFrom).toEqual(Array.from({ length: 22 }, (_, n) => keys.segment(id, '240p', n)));
    await callback(thumbs, { type: 'result', result: THUMBS });
    expect((await video(id))?.status).toBe('READY');
    expect(emitted(readyHook, id)).toBe(1);
  });

  it('sends the storyboard once when an audio partial is what finalises the lowest rung (its chunks were all in)', async () => {
    const { token } = await newCreator();
    // 40 s: one chunk. The 240p chunk finishes before the audio covers it, so the rung waits for the audio.
    const id = await analysed(token, { ...FACTS_1080, duration: 40, width: 426, height: 240 });
    const deps = scripted();
    const low = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    const partial = (n: number): AudioResult => ({ ...AUDIO, segmentDurations: Array(n).fill(6), segmentSizes: Array(n).fill(96_000), totalBytes: 96_000 * n });
    const storyboards = () => sent.filter((m) => m.type === 'thumbnails' && m.videoId === id).length;
    await callback(audio, { type: 'progress', progress: 0.1, partial: partial(2) });
    await callback(low, { type: 'result', result: encodeResult(low.body, [6, 6, 6, 6, 6, 6, 4]) });
    expect(storyboards()).toBe(0); // the rung is not published yet: 12 s of audio for a 40 s chunk
    await callback(audio, { type: 'progress', progress: 0.9, partial: partial(7) });
    const row = await db.select().from(schema.renditions).where(and(eq(schema.renditions.videoId, id), eq(schema.renditions.name, '240p'))).get();
    expect(row).toMatchObject({ complete: true, segmentCount: 7 });
    expect(storyboards()).toBe(1);
    await callback(audio, { type: 'result', result: { ...AUDIO, segmentDurations: [6, 6, 6, 6, 6, 6, 4], segmentSizes: Array(7).fill(1000) } });
    expect(storyboards()).toBe(1);
    const thumbs = await dispatch(deps, { type: 'thumbnails', videoId: id });
    await callback(thumbs, { type: 'result', result: THUMBS });
    expect((await video(id))?.status).toBe('READY');
  });

  it('a duplicate delivery of a chunk message changes nothing: copies at once, while the chunk runs, after it is done', async () => {
    const { token } = await newCreator();
    const id = await analysed(token, { ...FACTS_1080, duration: 130, width: 426, height: 240 });
    const deps = scripted();
    const message: TranscodeMessage = { type: 'encode', videoId: id, rungs: ['240p'], chunk: 1 };
    const watchdog = config.transcoding.jobLeaseMs / 1000 + 1;

    // Copies delivered at the same time, in one batch and in two concurrent batches: one claim, one dispatch.
    const [first, second] = await Promise.all([deliver([message, message], deps), deliver([message], deps)]);
    expect(deps.calls).toHaveLength(1);
    expect([...first.explicitAcks, ...second.explicitAcks]).toEqual([]);
    const delays = [...first.delays, ...second.delays];
    expect(delays).toHaveLength(3);
    // Each copy comes back after the lease (the dispatched one as the watchdog, the others to wait it out).
    for (const d of delays) expect(d).toBeGreaterThan(0);
    for (const d of delays) expect(d).toBeLessThanOrEqual(watchdog);
    const claimed = (await job(id, 'encode:240p@1'))!;
    expect(claimed).toMatchObject({ status: 'PROCESSING', attempts: 1 });

    // A copy while the chunk runs: it waits out the live lease; no second dispatch, the claim is untouched.
    const during = await deliver([message], deps);
    expect(during.explicitAcks).toEqual([]);
    expect(during.delays[0]).toBeGreaterThan(0);
    expect(during.delays[0]).toBeLessThanOrEqual(watchdog);
    expect(deps.calls).toHaveLength(1);
    expect(await job(id, 'encode:240p@1')).toMatchObject({ status: 'PROCESSING', attempts: 1, startedAt: claimed.startedAt });

    // The one run reports and completes; a copy afterwards is acked without work and changes no row.
    const run = deps.calls[0]!;
    expect((run.body as unknown as EncodeRequest).chunk).toEqual({ index: 1, startSec: 60, endSec: 120, firstSegment: 10 });
    expect((await callback(run, { type: 'result', result: encodeResult(run.body, Array(10).fill(6)) })).status).toBe(200);
    const done = (await job(id, 'encode:240p@1'))!;
    const after = await deliver([message, message], deps);
    expect(after.explicitAcks).toHaveLength(2);
    expect(after.retryMessages).toEqual([]);
    expect(deps.calls).toHaveLength(1);
    expect(await job(id, 'encode:240p@1')).toEqual(done);
    expect(done).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    expect(sent).toEqual([]);
  });

  it('refuses unauthenticated, stale and deleted-video callbacks; a lost run is taken over once its lease expires', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    const deps = scripted();
    const first = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    expect((await callback(first, { type: 'progress', progress: 0.1 }, 'wrong')).status).toBe(401);

    // The run goes silent; the watchdog copy arrives after the lease: the unit is claimed again and re-dispatched.
    const t0 = Date.now();
    const restore = setRuntime({ now: () => t0 + config.transcoding.jobLeaseMs + 5000 });
    let second: Call;
    try {
      second = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    } finally {
      restore();
    }
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PROCESSING', attempts: 2 });
    // The old run's reports are refused (409: it stops); the new claim's are accepted.
    expect((await callback(first, { type: 'result', result: encodeResult(first.body) })).status).toBe(409);
    expect((await callback(second!, { type: 'progress', progress: 0.2 })).status).toBe(200);

    // Deleted: the next report answers 410 and a purge is scheduled.
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBeLessThan(300);
    expect((await callback(second!, { type: 'progress', progress: 0.3 })).status).toBe(410);
    expect(sent).toContainEqual({ type: 'purge', videoId: id });
  });

  it('a transient error re-sends the unit with backoff; on the last attempt the job and the video fail with the reason', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    const deps = scripted();
    const run = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    delayed = [];
    await callback(run, { type: 'error', permanent: false, message: 'ffmpeg failed (SIGKILL)' });
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PENDING', error: 'ffmpeg failed (SIGKILL)' });
    expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 }]);
    // Re-sent at once, held back by the consumer until the backoff has passed.
    const early = await deliver([sent[0]], deps);
    expect(early.delays).toEqual([transcodeBackoff(1, config)]);

    await db.update(schema.transcodeJobs).set({ attempts: config.transcoding.maxAttempts - 1, updatedAt: 0 }).where(and(eq(schema.transcodeJobs.videoId, id), eq(schema.transcodeJobs.unit, 'encode:240p@0')));
    const last = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    await callback(last, { type: 'error', permanent: false, message: 'ffmpeg failed (SIGKILL)' });
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'FAILED' });
    expect((await video(id))?.error).toMatch(/Processing failed after 5 attempt\(s\) \(encode:240p@0\): ffmpeg failed/);
  });

  // Regression: failures reported through the callback (callback.ts) and found at fan-in (outputs.ts) moved the
  // video to FAILED without emitting video.failed, so no webhook went out; the state machine emits it now.
  it('a permanent error reported through the callback emits video.failed once: the webhook delivery is queued', async () => {
    const { token } = await newCreator();
    expect((await api('/v1/webhooks', { method: 'POST', token, json: { url: 'https://hooks.example.com/video', events: ['video.failed'] } })).status).toBe(201);
    const queued: unknown[] = [];
    vi.spyOn(env.WEBHOOK_QUEUE, 'sendBatch').mockImplementation(async (batch) => {
      for (const m of batch) queued.push(m.body);
      return undefined as never;
    });
    const id = await analysed(token);
    const deps = scripted();
    const run = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    const reason = 'The video could not be decoded (x).';
    expect(await (await callback(run, { type: 'error', permanent: true, message: reason })).json()).toEqual({ status: 'failed' });
    // The same report again finds the video FAILED (410): nothing moves, nothing is emitted twice.
    expect((await callback(run, { type: 'error', permanent: true, message: reason })).status).toBe(410);
    expect(await video(id)).toMatchObject({ status: 'FAILED', error: reason });
    expect(emitted(failedHook, id)).toBe(1);
    const rows = await db.select().from(schema.webhookDeliveries).where(and(eq(schema.webhookDeliveries.videoId, id), eq(schema.webhookDeliveries.eventType, 'video.failed'))).all();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.payload)).toMatchObject({ type: 'video.failed', data: { videoId: id, status: 'FAILED', error: reason } });
    expect(queued).toEqual([{ deliveryId: rows[0]!.id, round: 0 }]);
  });

  it('a rung much shorter than the analysed duration fails the video at fan-in and emits video.failed', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    const deps = scripted();
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    await callback(audio, { type: 'result', result: AUDIO });
    const run = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    await callback(run, { type: 'result', result: encodeResult(run.body, [2]) });
    expect(await video(id)).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/looks truncated/) });
    expect(emitted(failedHook, id)).toBe(1);
  });

  it('a redone rung deletes stale segments beyond the new count when it is finalised', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    for (let n = 0; n < 4; n++) await env.MEDIA.put(keys.segment(id, '240p', n), 'old');
    const deps = scripted();
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    await callback(audio, { type: 'result', result: AUDIO });
    const run = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    await callback(run, { type: 'result', result: encodeResult(run.body, [6, 6]) });
    const listed = await env.MEDIA.list({ prefix: keys.renditionPrefix(id, '240p') });
    expect(listed.objects.map((o) => o.key.split('/').pop()).sort()).toEqual(['playlist.m3u8', 'segment_0000.ts', 'segment_0001.ts']);
    const rows = await db.select().from(schema.renditions).where(and(eq(schema.renditions.videoId, id), eq(schema.renditions.name, '240p'))).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ segmentCount: 2, segmentDurations: '[6,6]', complete: true });
  });

  it('retry API re-runs one failed rendition of a FAILED video, chunk by chunk', async () => {
    const { token } = await newCreator();
    const other = await newCreator('other');
    const id = await analysed(token);
    const deps = scripted();
    const audio = await dispatch(deps, { type: 'audio', videoId: id });
    await callback(audio, { type: 'result', result: AUDIO });
    const low = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 });
    await callback(low, { type: 'result', result: encodeResult(low.body) });
    // The big unit fails for good (a permanent error): video FAILED.
    const big = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'], chunk: 0 });
    await callback(big, { type: 'error', permanent: true, message: 'The video could not be decoded (x).' });
    expect((await video(id))?.status).toBe('FAILED');

    expect((await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST' })).status).toBe(401);
    expect((await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST', token: other.token })).status).toBe(403);
    expect((await api(`/v1/videos/${id}/renditions/4k/retry`, { method: 'POST', token })).status).toBe(404);
    expect((await api(`/v1/videos/${id}/renditions/240p/retry`, { method: 'POST', token })).status).toBe(409);

    sent = [];
    const res = await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST', token });
    expect(res.status).toBe(202);
    expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['720p'], chunk: 0 }]);
    expect((await video(id))?.status).toBe('PROCESSING');
    expect(await job(id, 'encode:720p@0')).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect((await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST', token })).status).toBe(409);

    const retry = await dispatch(deps, { type: 'encode', videoId: id, rungs: ['720p'], chunk: 0 });
    await callback(retry, { type: 'result', result: encodeResult(retry.body) });
    expect(await job(id, 'encode:720p@0')).toMatchObject({ status: 'COMPLETED' });
    const names = (await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all()).map((r) => r.name).sort();
    expect(names).toEqual(['240p', '720p', 'audio']);
  });

  it('makes a READY live recording\'s storyboard from its lowest rung, without a poster; its failure leaves the recording READY', async () => {
    const { creatorId } = await newCreator('broadcaster');
    const id = newId('vid');
    await insertLiveVideo(db, { id, creatorId, title: 'on air', createdAt: Date.now(), liveInputId: newId('live'), width: 640, height: 360 });
    const rung = (name: string, width: number, height: number) =>
      ({ videoId: id, name, width, height, codecs: 'avc1.64001e,mp4a.40.2', segmentDurations: [2, 2, 1.5], totalBytes: 3000, peakBandwidth: 12_000, discontinuities: [], windowStart: 0, gapFrom: null });
    await recordLiveRung(env, db, rung('360p', 640, 360), true);
    await recordLiveRung(env, db, rung('240p', 426, 240), true);
    expect(await markReady(env, db, id, { duration: 5.5, sourceSize: 3000 })).toBe(true);
    await sendPlanned(env, db, id, [{ message: { type: 'thumbnails', videoId: id } }]);
    expect(sent).toContainEqual({ type: 'thumbnails', videoId: id });

    // Only the storyboard is worked on after READY.
    const deps = scripted();
    expect((await deliver([{ type: 'audio', videoId: id }], deps)).explicitAcks).toHaveLength(1);
    expect(deps.calls).toEqual([]);

    const run = await dispatch(deps, { type: 'thumbnails', videoId: id });
    const request = run.body as unknown as ThumbnailsRequest;
    expect(run.path).toBe('/v1/thumbnails');
    expect(request.sourceKey).toBeUndefined();
    expect(request.framesFrom).toEqual([0, 1, 2].map((n) => keys.segment(id, '240p', n)));
    expect(request).toMatchObject({ outputPrefix: keys.thumbnailsPrefix(id), sourceDuration: 5.5, intervalSec: 2, tileHeight: expect.any(Number) });

    expect(await (await callback(run, { type: 'error', permanent: true, message: 'No frames could be extracted for thumbnails.' })).json()).toEqual({ status: 'failed; the video goes on' });
    expect(await job(id, 'thumbnails')).toMatchObject({ status: 'FAILED' });
    expect(await video(id)).toMatchObject({ status: 'READY' });
  });
});

describe('admission: instances at capacity, and the next unit the moment one frees up', () => {
  const FACTS_LONG: AnalyzeResult = { ...FACTS_1080, duration: 150, width: 640, height: 360 };

  /** A scripted transcoder whose local pool says how many encodes could start now. */
  function pool(free: () => boolean | number) {
    const deps = scripted({ '/v1/analyze': () => [{ type: 'result', result: FACTS_LONG }] });
    return { ...deps, transcoder: { ...deps.transcoder, freeEncodeSlots: async () => Number(free()) } };
  }

  it('holds encodes back while no process has a free CPU slot, without spending an attempt; light units still start', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    let free = false;
    const deps = pool(() => free);
    await deliver([{ type: 'analyze', videoId: id }], deps);
    const encode: TranscodeMessage = { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 };
    const held = await deliver([encode], deps);
    expect(held.retryMessages).toHaveLength(1);
    expect(held.delays).toEqual([config.transcoding.admissionRetrySec]);
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PENDING', attempts: 0, error: null });
    // The audio unit waits on reads, not on a CPU slot: it is dispatched all the same.
    const audio = await deliver([{ type: 'audio', videoId: id }], deps);
    expect(audio.delays).toEqual([config.transcoding.jobLeaseMs / 1000 + 1]);
    expect(deps.calls.map((c) => c.path)).toEqual(['/v1/analyze', '/v1/audio']);
    free = true;
    await deliver([encode], deps);
    expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PROCESSING', attempts: 1 });
  });

  it('a unit that ends sends the oldest unit waiting for admission at once, in plan order; young, backed-off and blocked units are left alone', async () => {
    // The wake-up is platform-wide (the oldest waiting unit of any video): earlier tests in this file leave
    // PROCESSING videos with units never claimed, so those are failed first.
    await failProcessingVideos();
    const { token } = await newCreator();
    const id = await processingVideo(token);
    const deps = pool(() => true);
    await deliver([{ type: 'analyze', videoId: id }], deps);
    const rows = await db.select({ unit: schema.transcodeJobs.unit, updatedAt: schema.transcodeJobs.updatedAt }).from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, id)).all();
    const planned = Math.max(...rows.map((r) => r.updatedAt));
    expect(rows.map((r) => r.unit)).toEqual(['analyze', 'audio', 'encode:240p@0', 'encode:240p@1', 'encode:240p@2', 'encode:360p@0', 'encode:360p@1', 'encode:360p@2', 'thumbnails']);
    const first = (await deliver([{ type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 }], deps), deps.calls.at(-1)!);

    // Just planned (a second later): the queue is about to deliver every unit anyway, so a completion wakes nothing.
    sent = [];
    const second = (await deliver([{ type: 'encode', videoId: id, rungs: ['240p'], chunk: 1 }], deps), deps.calls.at(-1)!);
    const soon = setRuntime({ now: () => planned + 1000 });
    try {
      await callback(second, { type: 'result', result: encodeResult(second.body) });
    } finally {
      soon();
    }
    expect(sent).toEqual([]);

    // Later (the rest held back by admission): each unit that ends sends the oldest waiting one, audio first.
    const later = planned + 60_000;
    const restore = setRuntime({ now: () => later });
    try {
      // A unit released after an error waits out its backoff instead of being woken.
      await db.update(schema.transcodeJobs).set({ attempts: 1, error: 'transcoder unreachable' }).where(and(eq(schema.transcodeJobs.videoId, id), eq(schema.transcodeJobs.unit, 'encode:240p@2')));
      sent = [];
      await callback(first, { type: 'result', result: encodeResult(first.body) });
      expect(sent).toEqual([{ type: 'audio', videoId: id }]);
      const audio = (await deliver([sent[0]], deps), deps.calls.at(-1)!);
      sent = [];
      await callback(audio, { type: 'error', permanent: false, message: 'storage read failed' });
      // Released with an error: it retries after its backoff; the next waiting unit takes the freed instance.
      expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['360p'], chunk: 0 }, { type: 'audio', videoId: id }]);
      // A copy that arrives after the woken one claimed the unit finds it taken: one run, no extra attempt.
      await deliver([sent[0]], deps);
      const calls = deps.calls.length;
      const duplicate = await deliver([sent[0]], deps);
      expect(duplicate.retryMessages).toHaveLength(1);
      expect(deps.calls.length).toBe(calls);
      expect(await job(id, 'encode:360p@0')).toMatchObject({ status: 'PROCESSING', attempts: 1 });
    } finally {
      restore();
    }
    // The storyboard is never woken: it waits for the lowest rung, whose completion sends it.
    expect(sent.some((m) => m.type === 'thumbnails')).toBe(false);
  });

  it('admits a video\'s units in plan order: a later unit gives way to the first one waiting ahead of it', async () => {
    const { token } = await newCreator();
    const id = await processingVideo(token);
    let slots = 1;
    const deps = pool(() => slots);
    await deliver([{ type: 'analyze', videoId: id }], deps);
    // Far enough ahead that leases left by earlier tests have expired: the running units are this test's own.
    const restore = setRuntime({ now: () => Date.now() + 10 * config.transcoding.jobLeaseMs });
    try {
      // One free CPU slot, and chunk 1's message arrives first: it gives way to chunk 0 (the audio unit ahead of
      // both takes no CPU slot), whose message is sent at once; chunk 1 is held back without spending an attempt.
      sent = [];
      const chunk1: TranscodeMessage = { type: 'encode', videoId: id, rungs: ['240p'], chunk: 1 };
      const held = await deliver([chunk1], deps);
      expect(held.delays).toEqual([config.transcoding.admissionRetrySec]);
      expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 }]);
      expect(await job(id, 'encode:240p@1')).toMatchObject({ status: 'PENDING', attempts: 0 });
      await deliver([sent[0]], deps);
      expect(await job(id, 'encode:240p@0')).toMatchObject({ status: 'PROCESSING', attempts: 1 });
      expect(deps.calls.filter((c) => c.path === '/v1/encode')).toHaveLength(1);

      // Two free slots and two of the lowest rung's chunks waiting: the next rung group gives way; with three it starts.
      slots = 2;
      sent = [];
      const next: TranscodeMessage = { type: 'encode', videoId: id, rungs: ['360p'], chunk: 0 };
      await deliver([next], deps);
      expect(sent).toEqual([chunk1]);
      expect(await job(id, 'encode:360p@0')).toMatchObject({ status: 'PENDING', attempts: 0 });
      slots = 3;
      sent = [];
      await deliver([next], deps);
      expect(sent).toEqual([]);
      expect(await job(id, 'encode:360p@0')).toMatchObject({ status: 'PROCESSING', attempts: 1 });

      // Instances: one place left under the running-unit cap, and the audio unit still waits: it goes first.
      const other = await processingVideo(token);
      const now = Date.now() + 10 * config.transcoding.jobLeaseMs;
      const fill = config.transcoding.maxRunningUnits - 1 - 2; // 240p@0 and 360p@0 of this video hold two places
      for (let i = 0; i < fill; i++) {
        await db.insert(schema.transcodeJobs).values({ id: `job_fill_${other}_${i}`, videoId: other, unit: `encode:fill@${i}`, status: 'PROCESSING', attempts: 1, leaseUntil: now + 3_600_000, createdAt: now, updatedAt: now });
      }
      slots = 10;
      sent = [];
      const chunk2: TranscodeMessage = { type: 'encode', videoId: id, rungs: ['240p'], chunk: 2 };
      await deliver([chunk2], deps);
      expect(sent).toEqual([{ type: 'audio', videoId: id }]);
      await deliver([sent[0]], deps);
      expect(await job(id, 'audio')).toMatchObject({ status: 'PROCESSING', attempts: 1 });
      // The cap is reached now: chunk 2 simply waits (nothing to give way to that could start).
      sent = [];
      const full = await deliver([chunk2], deps);
      expect(full.delays).toEqual([config.transcoding.admissionRetrySec]);
      expect(sent).toEqual([]);
      expect(await job(id, 'encode:240p@2')).toMatchObject({ status: 'PENDING', attempts: 0 });
    } finally {
      restore();
    }
  });
});

describe('per-title ladders: the complexity probe and what waits for it', () => {
  beforeEach(async () => {
    await db.update(schema.videos).set({ status: 'FAILED' }).where(eq(schema.videos.status, 'PROCESSING'));
    await db.update(schema.transcodeJobs).set({ leaseUntil: 0 }).where(eq(schema.transcodeJobs.status, 'PROCESSING'));
  });
  const dispatched = async (deps: ReturnType<typeof scripted>, message: TranscodeMessage): Promise<Call> => {
    await deliver([message], deps);
    return deps.calls.at(-1)!;
  };
  /** A per-title 1080p video after analysis, its `ladder` unit dispatched; returns the probe's request. */
  async function probing(token: string, deps: ReturnType<typeof scripted>): Promise<{ id: string; probe: Call }> {
    const id = await processingVideo(token);
    await db.update(schema.videos).set({ ladderMode: 'per-title' }).where(eq(schema.videos.id, id));
    sent = [];
    await deliver([{ type: 'analyze', videoId: id }], scripted({ '/v1/analyze': () => [{ type: 'result', result: FACTS_1080 }] }));
    // Analysis plans the lowest rung and the probe; the other rungs wait for the probe's decision.
    expect(sent).toEqual([
      { type: 'audio', videoId: id },
      { type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 },
      { type: 'ladder', videoId: id },
      { type: 'thumbnails', videoId: id },
    ]);
    sent = [];
    const low = await deliver([{ type: 'encode', videoId: id, rungs: ['240p'], chunk: 0 }], deps);
    expect(low.explicitAcks).toHaveLength(0);
    expect((deps.calls.at(-1)!.body as unknown as EncodeRequest).rungs[0]).toMatchObject({ name: '240p', crf: 21, maxrate: 400_000 });
    await deliver([{ type: 'ladder', videoId: id }], deps);
    const probe = deps.calls.at(-1)!;
    expect(probe.path).toBe('/v1/ladder');
    expect(probe.body).toMatchObject({ sourceKey: keys.original(id), rungs: [{ name: '360p', codecs: false }, { name: '720p', codecs: false }] });
    return { id, probe };
  }

  it('the probe result decides the CRFs and sends the units that waited; their chunks use them', async () => {
    const { token } = await newCreator();
    const deps = scripted();
    const { id, probe } = await probing(token, deps);
    const choice = (crf: number) => ({ codec: 'h264', crf, trials: [{ crf, kbps: 300, ssim: 0.98 }] });
    const result = { sampleSec: 3, windowStarts: [1, 5, 9], cpuSec: 2, rungs: [{ name: '360p', fixed: { crf: null, kbps: 700, ssim: 0.981 }, choices: [choice(23)] }, { name: '720p', fixed: { crf: null, kbps: 2800, ssim: 0.975 }, choices: [choice(26)] }] };
    expect((await callback(probe, { type: 'result', result })).status).toBe(200);
    const decided = JSON.parse((await video(id))!.ladder!) as { mode: string; crf: Record<string, number> };
    expect(decided).toMatchObject({ mode: 'per-title', crf: { '240p': 21, '360p': 23, '480p': 23, '720p': 26, '1080p': 26 } });
    expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'], chunk: 0 }]);
    const upper = await dispatched(deps, sent[0]!);
    expect((upper.body as unknown as EncodeRequest).rungs.map((r) => [r.name, r.crf, r.maxrate])).toEqual([['360p', 23, 1_200_000], ['480p', 23, 2_250_000], ['720p', 26, 4_500_000], ['1080p', 26, 9_000_000]]);
    const view = (await (await api(`/v1/videos/${id}`, { token })).json()) as { ladder: { mode: string } };
    expect(view.ladder).toMatchObject({ mode: 'per-title' });
  });

  it('a probe that fails for good keeps the fixed ladder with the reason: the video goes on', async () => {
    const { token } = await newCreator();
    const deps = scripted();
    const { id, probe } = await probing(token, deps);
    const reason = 'the sample of the source does not decode cleanly (Invalid NAL unit size)';
    expect(await (await callback(probe, { type: 'error', permanent: true, message: reason })).json()).toEqual({ status: 'failed; the video goes on' });
    expect(await video(id)).toMatchObject({ status: 'PROCESSING' });
    expect(await job(id, 'ladder')).toMatchObject({ status: 'FAILED', error: reason });
    expect(JSON.parse((await video(id))!.ladder!)).toEqual({ mode: 'fixed', reason: `the complexity probe failed: ${reason}` });
    expect(emitted(failedHook, id)).toBe(0);
    expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'], chunk: 0 }]);
    const upper = await dispatched(deps, sent[0]!);
    // The fixed ladder's rates for the rungs that waited (the lowest rung, already encoded, keeps its CRF).
    expect((upper.body as unknown as EncodeRequest).rungs.map((r) => [r.name, r.crf, r.bitrate])).toEqual([['360p', undefined, 800_000], ['480p', undefined, 1_500_000], ['720p', undefined, 3_000_000], ['1080p', undefined, 6_000_000]]);
  });
});

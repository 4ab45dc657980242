/**
 * Queue consumer logic inside workerd: explicit acks and retries with backoff, leases and takeover, permanent vs
 * transient failures, the dead-letter path, progressive availability and READY-once. The transcoder here is a
 * scripted NDJSON responder (the real one is exercised end to end in test/node/transcoding-e2e.test.ts); queues
 * are spied so no message leaves the test.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq, and } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnalyzeResult, EncodeRequest, JobEvent, RenditionResult } from '../../containers/transcoder/src/protocol';
import { registerVideoReadyHook } from '../../workers/lifecycle';
import { loadConfig } from '../../workers/shared/config';
import { openDb, schema } from '../../workers/shared/db';
import { setRuntime } from '../../workers/shared/runtime';
import { keys } from '../../workers/shared/storage-keys';
import { backoffSeconds, handleDeadLetterBatch, handleTranscodeBatch, type ConsumerDeps } from '../../workers/transcoding/consumer';
import type { TranscodeMessage } from '../../workers/transcoding/messages';
import { startProcessing } from '../../workers/transcoding/start';
import { sweepTranscodeJobs } from '../../workers/transcoding/sweeper';
import type { TranscoderPath } from '../../workers/transcoding/transcoder-client';
import { api, newCreator, newVideo } from './helpers';

const db = openDb(env.DB);
const config = loadConfig(env as unknown as Record<string, unknown>);

let sent: TranscodeMessage[] = [];
let deadLettered: unknown[] = [];
const readyCalls: string[] = [];
registerVideoReadyHook(async (_env, videoId) => {
  readyCalls.push(videoId);
});

beforeEach(() => {
  sent = [];
  deadLettered = [];
  vi.spyOn(env.TRANSCODE_QUEUE, 'send').mockImplementation(async (body) => {
    sent.push(body as TranscodeMessage);
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

/** A transcoder that answers each job with scripted NDJSON events ('crash' = the stream breaks mid-job). */
function scripted(script: Script): ConsumerDeps & { calls: { path: TranscoderPath; body: unknown }[] } {
  const calls: { path: TranscoderPath; body: unknown }[] = [];
  return {
    calls,
    transcoder: {
      async post(path, body) {
        calls.push({ path, body });
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

const FACTS_1080: AnalyzeResult = { duration: 12, width: 1920, height: 1080, rotation: 0, frameRate: 30, hasAudio: true, videoCodec: 'h264', audioCodec: 'aac', formatName: 'mov,mp4,m4a,3gp,3g2,mj2' };

function renditionFor(req: EncodeRequest, name: string, segments = [6, 6]): RenditionResult {
  const r = req.rungs.find((x) => x.name === name)!;
  return { name, width: r.width, height: r.height, codecs: 'avc1.64001f,mp4a.40.2', frameRate: 30, segmentDurations: segments, segmentSizes: segments.map(() => 1000), bandwidth: r.bitrate * 1.2, averageBandwidth: r.bitrate, totalBytes: 2000 };
}

/** Encode script: every requested rung succeeds (and its segments are "uploaded" into R2). */
const encodeOk = (segments = [6, 6]) => (body: unknown): JobEvent<unknown>[] => {
  const req = body as EncodeRequest;
  return [{ type: 'progress', progress: 0.5 }, { type: 'result', result: { renditions: req.rungs.map((r) => renditionFor(req, r.name, segments)) } }];
};

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
    expect(sent).toEqual([
      { type: 'encode', videoId: id, rungs: ['240p'] },
      { type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'] },
      { type: 'thumbnails', videoId: id },
    ]);
    expect(await job(id, 'analyze')).toMatchObject({ status: 'COMPLETED', attempts: 1, progress: 1 });
    expect(await job(id, 'encode:240p')).toMatchObject({ status: 'PENDING' });

    // A redelivered analyze message after completion is acked without calling the transcoder again.
    const again = await deliver([{ type: 'analyze', videoId: id }], deps);
    expect(again.explicitAcks).toHaveLength(1);
    expect(deps.calls).toHaveLength(1);
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
      expect(result.delays).toEqual([backoffSeconds(attempts, config)]);
    }
    expect([1, 2, 3].map((a) => backoffSeconds(a, config))).toEqual([5, 10, 20]);
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
    const poison = [{ type: 'explode', videoId: 'vid_x' }, 'not json object', { type: 'encode', videoId: 'vid_x', rungs: [] }, { type: 'analyze', videoId: '../etc' }];
    const result = await deliver(poison, deps);
    expect(result.explicitAcks).toHaveLength(4);
    expect(deadLettered).toEqual(poison);
    expect(deps.calls).toEqual([]);
    // …where they are logged and acked (nothing to mark).
    const dlqBatch = createMessageBatch('transcode-jobs-dlq', poison.map((body, i) => ({ id: `p${i}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await handleDeadLetterBatch(dlqBatch, env);
    expect((await getQueueResult(dlqBatch, ctx)).explicitAcks).toHaveLength(4);
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

describe('encode and readiness', () => {
  async function analysed(token: string): Promise<string> {
    const id = await processingVideo(token);
    await deliver([{ type: 'analyze', videoId: id }], scripted({ '/v1/analyze': () => [{ type: 'result', result: FACTS_1080 }] }));
    return id;
  }

  it('records renditions as each job finishes (playable early) and marks READY exactly once', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    const deps = scripted({ '/v1/encode': encodeOk(), '/v1/thumbnails': () => [{ type: 'result', result: { poster: 'poster.jpg', sprites: ['sprite_0.jpg'], storyboard: 'storyboard.vtt', count: 6 } }] });

    await deliver([{ type: 'encode', videoId: id, rungs: ['240p'] }], deps);
    const request = deps.calls[0]!.body as EncodeRequest;
    expect(request.rungs).toEqual([{ name: '240p', width: 426, height: 240, bitrate: 400_000, maxrate: 600_000, bufsize: 800_000, outputPrefix: `videos/${id}/240p/` }]);
    expect(request).toMatchObject({ segmentDurationSec: 6, audioBitrate: 128_000, sourceDuration: 12, sourceHasAudio: true });
    let view = (await (await api(`/v1/videos/${id}`, { token })).json()) as { status: string; renditions: { name: string }[] };
    expect(view.status).toBe('PROCESSING');
    expect(view.renditions.map((r) => r.name)).toEqual(['240p']);
    const playlist = await (await env.MEDIA.get(keys.mediaPlaylist(id, '240p')))!.text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-TARGETDURATION:6');
    expect(playlist).toContain('#EXT-X-ENDLIST');

    await deliver([{ type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'] }], deps);
    expect((await video(id))?.status).toBe('PROCESSING'); // thumbnails still missing
    await deliver([{ type: 'thumbnails', videoId: id }], deps);
    expect((await video(id))?.status).toBe('READY');
    expect(readyCalls.filter((v) => v === id)).toHaveLength(1);

    // Redeliveries after completion change nothing and do not fire video.ready again.
    await deliver([{ type: 'encode', videoId: id, rungs: ['240p'] }, { type: 'thumbnails', videoId: id }], deps);
    expect(readyCalls.filter((v) => v === id)).toHaveLength(1);
    const rows = await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all();
    expect(rows.map((r) => r.name).sort()).toEqual(['1080p', '240p', '360p', '480p', '720p']);
    const master = await (await env.MEDIA.get(keys.masterPlaylist(id)))!.text();
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(5);
    expect(master).toContain('RESOLUTION=1920x1080,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2"');
  });

  it('a redone job overwrites its rendition and deletes stale segments beyond the new count', async () => {
    const { token } = await newCreator();
    const id = await analysed(token);
    for (let n = 0; n < 4; n++) await env.MEDIA.put(keys.segment(id, '240p', n), 'old');
    await deliver([{ type: 'encode', videoId: id, rungs: ['240p'] }], scripted({ '/v1/encode': encodeOk([6, 6]) }));
    const listed = await env.MEDIA.list({ prefix: keys.renditionPrefix(id, '240p') });
    expect(listed.objects.map((o) => o.key.split('/').pop()).sort()).toEqual(['playlist.m3u8', 'segment_0000.ts', 'segment_0001.ts']);
    const rows = await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ segmentCount: 2, segmentDurations: '[6,6]' });
  });

  it('retry API re-runs one failed rendition of a FAILED video', async () => {
    const { token } = await newCreator();
    const other = await newCreator('other');
    const id = await analysed(token);
    const deps = scripted({ '/v1/encode': encodeOk() });
    await deliver([{ type: 'encode', videoId: id, rungs: ['240p'] }], deps);
    // The big job fails for good (e.g. dead-lettered): video FAILED.
    const failing = scripted({ '/v1/encode': () => [{ type: 'error', permanent: false, message: 'ffmpeg failed (SIGKILL)' }] });
    await deliver([{ type: 'encode', videoId: id, rungs: ['360p', '480p', '720p', '1080p'] }], failing, config.transcoding.maxAttempts);
    const dlq = createMessageBatch('transcode-jobs-dlq', [{ id: 'x', timestamp: new Date(), attempts: 1, body: deadLettered[0] }]);
    await handleDeadLetterBatch(dlq, env);
    expect((await video(id))?.status).toBe('FAILED');

    expect((await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST' })).status).toBe(401);
    expect((await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST', token: other.token })).status).toBe(403);
    expect((await api(`/v1/videos/${id}/renditions/4k/retry`, { method: 'POST', token })).status).toBe(404);
    expect((await api(`/v1/videos/${id}/renditions/240p/retry`, { method: 'POST', token })).status).toBe(409);

    sent = [];
    const res = await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST', token });
    expect(res.status).toBe(202);
    expect(sent).toEqual([{ type: 'encode', videoId: id, rungs: ['720p'] }]);
    expect((await video(id))?.status).toBe('PROCESSING');
    expect(await job(id, 'encode:720p')).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect((await api(`/v1/videos/${id}/renditions/720p/retry`, { method: 'POST', token })).status).toBe(409);

    await deliver([{ type: 'encode', videoId: id, rungs: ['720p'] }], deps);
    expect(await job(id, 'encode:720p')).toMatchObject({ status: 'COMPLETED' });
    const names = (await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, id)).all()).map((r) => r.name).sort();
    expect(names).toEqual(['240p', '720p']);
  });
});

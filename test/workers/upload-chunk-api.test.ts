import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, moveVideoTo, newCreator, newVideo } from './helpers';
import { PART, bytes, chunkOf, initiate, putChunk, sha256 } from './upload-helpers';
import { openDb, schema } from '../../workers/shared/db';
import { eq } from 'drizzle-orm';
import { parseServerTiming } from '../../workers/uploads/server-timing';

interface InitBody {
  uploadId: string;
  chunkSize: number;
  totalChunks: number;
  expiresAt: string;
  storedChunks: number[];
  missingChunks: number[];
}

async function setup(size = 2 * PART + 1000, withSha = true) {
  const { token } = await newCreator();
  const { id } = await newVideo(token);
  const file = bytes(size, size);
  const res = await initiate(id, token, withSha ? { fileSize: size, sha256: await sha256(file) } : { fileSize: size });
  expect(res.status).toBe(201);
  return { token, id, file, init: await res.json<InitBody>() };
}

async function jobsFor(videoId: string) {
  return openDb(env.DB).select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, videoId)).all();
}

describe('POST /v1/videos/:id/upload (initiate)', () => {
  it('returns the upload id, chunk size, chunk count and expiry', async () => {
    const { init, id } = await setup();
    expect(init.uploadId).toMatch(new RegExp(`^${id}-up_[0-9a-z]{16}$`));
    expect(init.chunkSize).toBe(PART);
    expect(init.totalChunks).toBe(3);
    const ttl = Date.parse(init.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(23.9 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
    expect(init.missingChunks).toEqual([0, 1, 2]);
  });

  it('is idempotent for the same file (resumes) and replaces for another', async () => {
    const { token, id, file, init } = await setup();
    const again = await initiate(id, token, { fileSize: file.byteLength, sha256: await sha256(file) });
    expect(again.status).toBe(200);
    expect((await again.json<InitBody>()).uploadId).toBe(init.uploadId);
    const other = await initiate(id, token, { fileSize: 123 });
    expect(other.status).toBe(201);
    expect((await other.json<InitBody>()).uploadId).not.toBe(init.uploadId);
  });

  it('rejects a file over the configured maximum with 413', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const res = await initiate(id, token, { fileSize: 20 * 1024 * 1024 * 1024 + 1 });
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('payload_too_large');
  });

  it.each([
    ['malformed JSON', '{"fileSize": '],
    ['a zero size', '{"fileSize":0}'],
    ['a negative size', '{"fileSize":-5}'],
    ['a fractional size', '{"fileSize":1.5}'],
    ['a string size', '{"fileSize":"100"}'],
    ['a bad sha256', '{"fileSize":100,"sha256":"abc"}'],
    ['an unknown field', '{"fileSize":100,"chunkSize":1}'],
  ])('rejects %s with 400', async (_what, raw) => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const res = await api(`/v1/videos/${id}/upload`, { method: 'POST', token, body: raw, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('bad_request');
  });

  it('needs a valid token (401) and the owner (403)', async () => {
    const owner = await newCreator('owner');
    const other = await newCreator('other');
    const { id } = await newVideo(owner.token);
    expect((await initiate(id, '', { fileSize: 10 })).status).toBe(401);
    expect((await initiate(id, 'evt_bogus', { fileSize: 10 })).status).toBe(401);
    expect((await initiate(id, other.token, { fileSize: 10 })).status).toBe(403);
    expect((await api(`/v1/videos/${id}/upload`, { token: other.token })).status).toBe(403);
    expect((await putChunk(id, 0, 'x', other.token)).status).toBe(403);
    expect((await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token: other.token })).status).toBe(403);
  });
});

describe('PUT chunks, resume info, complete', () => {
  it('stores chunks in any order and in parallel, then assembles a byte-identical original and enqueues once', async () => {
    const { token, id, file } = await setup();
    const puts = await Promise.all([2, 0, 1].map((n) => putChunk(id, n, chunkOf(file, n), token)));
    expect(puts.map((r) => r.status)).toEqual([201, 201, 201]);
    // Each stored chunk says where its time went (the benchmark's per-hop breakdown).
    for (const put of puts) {
      expect(Object.keys(parseServerTiming(put.headers.get('Server-Timing')))).toEqual(['video', 'session', 'r2', 'commit', 'release']);
    }

    const info = await (await api(`/v1/videos/${id}/upload`, { token })).json<InitBody & { bytesStored: number }>();
    expect(info.storedChunks).toEqual([0, 1, 2]);
    expect(info.missingChunks).toEqual([]);
    expect(info.bytesStored).toBe(file.byteLength);

    const done = await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token });
    expect(done.status).toBe(200);
    expect(Object.keys(parseServerTiming(done.headers.get('Server-Timing')))).toEqual(['session', 'assemble', 'verify', 'process']);
    const body = await done.json<{ sha256: string; size: number; status: string; alreadyCompleted: boolean }>();
    expect(body).toMatchObject({ status: 'PROCESSING', size: file.byteLength, sha256: await sha256(file), alreadyCompleted: false });

    const object = await env.MEDIA.get(`originals/${id}/original`);
    expect(object?.size).toBe(file.byteLength);
    expect(await sha256(new Uint8Array(await object!.arrayBuffer()))).toBe(await sha256(file));

    const video = await (await api(`/v1/videos/${id}`, { token })).json<{ status: string }>();
    expect(video.status).toBe('PROCESSING');
    const row = await openDb(env.DB).select().from(schema.videos).where(eq(schema.videos.id, id)).get();
    expect(row?.sourceSha256).toBe(await sha256(file));
    expect(row?.sourceSize).toBe(file.byteLength);

    // A retried completion answers the same and enqueues nothing more (one analyze job row).
    const retry = await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ sha256: await sha256(file), alreadyCompleted: true });
    expect(await jobsFor(id)).toHaveLength(1);
  });

  it('DELETE after a completed upload is 409 and keeps the record: a retried complete stays 200 and reports the current status', async () => {
    const { token, id, file } = await setup();
    for (let n = 0; n < 3; n++) expect((await putChunk(id, n, chunkOf(file, n), token)).status).toBe(201);
    expect((await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token })).status).toBe(200);

    const cancel = await api(`/v1/videos/${id}/upload`, { method: 'DELETE', token });
    expect(cancel.status).toBe(409);
    expect(await cancel.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining('complete') } });
    // The original is still there, and the retried completion is the documented idempotent 200.
    expect((await env.MEDIA.head(`originals/${id}/original`))?.size).toBe(file.byteLength);
    const retry = await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ status: 'PROCESSING', alreadyCompleted: true, sha256: await sha256(file) });

    // Once the video is READY, the idempotent answer says so instead of a stale PROCESSING.
    await moveVideoTo(id, 'READY');
    const later = await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token });
    expect(await later.json()).toMatchObject({ status: 'READY', alreadyCompleted: true });
  });

  it('a chunk sent twice is idempotent: 200 with the first ETag kept', async () => {
    const { token, id, file } = await setup();
    const first = await putChunk(id, 1, chunkOf(file, 1), token);
    expect(first.status).toBe(201);
    const { etag } = await first.json<{ etag: string }>();
    const second = await putChunk(id, 1, chunkOf(file, 1), token);
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ etag, duplicate: true });
  });

  it('rejects chunk indexes that are negative, not integers or out of range (400)', async () => {
    const { token, id } = await setup();
    for (const n of ['-1', '3', '99', 'abc', '1.5']) {
      const res = await putChunk(id, n, 'x', token);
      expect(res.status, `chunk ${n}`).toBe(400);
    }
  });

  it('rejects a chunk larger than the chunk size (413) and a short non-last chunk (400)', async () => {
    const { token, id, file } = await setup();
    expect((await putChunk(id, 0, bytes(PART + 1), token)).status).toBe(413);
    expect((await putChunk(id, 0, bytes(PART - 1), token)).status).toBe(400);
    // The last chunk must be exactly the remainder.
    expect((await putChunk(id, 2, bytes(999), token)).status).toBe(400);
    expect((await putChunk(id, 2, bytes(1001), token)).status).toBe(413);
    expect((await putChunk(id, 2, chunkOf(file, 2), token)).status).toBe(201);
    // Nothing of the rejected ones was stored.
    const info = await (await api(`/v1/videos/${id}/upload`, { token })).json<InitBody>();
    expect(info.storedChunks).toEqual([2]);
  });

  it('complete with chunks missing is a 409 listing them, and loses nothing', async () => {
    const { token, id, file } = await setup();
    await putChunk(id, 1, chunkOf(file, 1), token);
    const res = await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token });
    expect(res.status).toBe(409);
    const body = await res.json<{ error: { code: string; details: { missingChunks: number[] } } }>();
    expect(body.error.details.missingChunks).toEqual([0, 2]);
    await putChunk(id, 0, chunkOf(file, 0), token);
    await putChunk(id, 2, chunkOf(file, 2), token);
    expect((await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token })).status).toBe(200);
  });

  it('a wrong declared SHA-256 fails verification (422), discards the object and keeps the video UPLOADING', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const file = bytes(PART + 10, 7);
    await initiate(id, token, { fileSize: file.byteLength, sha256: 'ab'.repeat(32) });
    await putChunk(id, 0, chunkOf(file, 0), token);
    await putChunk(id, 1, chunkOf(file, 1), token);
    const res = await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token });
    expect(res.status).toBe(422);
    expect(await env.MEDIA.head(`originals/${id}/original`)).toBeNull();
    expect((await (await api(`/v1/videos/${id}`, { token })).json<{ status: string }>()).status).toBe('UPLOADING');
    expect(await jobsFor(id)).toHaveLength(0);
    // The session ended; a new upload can start.
    expect((await api(`/v1/videos/${id}/upload`, { token })).status).toBe(404);
  });

  it('an unknown session is 404; a chunk without Content-Length is 411', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    expect((await api(`/v1/videos/${id}/upload`, { token })).status).toBe(404);
    expect((await putChunk(id, 0, 'x', token)).status).toBe(404);
    expect((await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token })).status).toBe(404);
    await initiate(id, token, { fileSize: 10 });
    const stream = new ReadableStream({ start: (ctl) => (ctl.enqueue(new Uint8Array(10)), ctl.close()) });
    const res = await api(`/v1/videos/${id}/upload/chunks/0`, { method: 'PUT', token, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(411);
  });

  it('DELETE abandons the upload and aborts its parts', async () => {
    const { token, id, file } = await setup();
    await putChunk(id, 0, chunkOf(file, 0), token);
    expect((await api(`/v1/videos/${id}/upload`, { method: 'DELETE', token })).status).toBe(204);
    expect((await api(`/v1/videos/${id}/upload`, { token })).status).toBe(404);
  });
});

import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { api, newCreator, newVideo } from './helpers';
import { PART, bytes, chunkOf, initiate, putChunk, tusCreate, tusHead, tusPatch } from './upload-helpers';
import type { UploadSession } from '../../workers/uploads/upload-session';

const stubFor = (videoId: string) => env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(videoId));

/** Moves the session's deadline into the past, as if 24 h had gone by. */
async function expire(videoId: string): Promise<void> {
  await runInDurableObject(stubFor(videoId), async (_instance: UploadSession, state) => {
    state.storage.sql.exec('UPDATE session SET expires_at = ?', Date.now() - 1);
  });
}

async function r2UploadIdOf(videoId: string): Promise<string> {
  return runInDurableObject(stubFor(videoId), async (_i: UploadSession, state) =>
    state.storage.sql.exec<{ r2_upload_id: string }>('SELECT r2_upload_id FROM session').one().r2_upload_id,
  );
}

/** True while R2 still accepts parts for this multipart upload (i.e. it was not aborted). */
async function multipartAlive(videoId: string, r2UploadId: string): Promise<boolean> {
  try {
    await env.MEDIA.resumeMultipartUpload(`originals/${videoId}/original`, r2UploadId).uploadPart(9, new Uint8Array(10));
    return true;
  } catch {
    return false;
  }
}

describe('UploadSession expiry', () => {
  it('an expired chunk upload is 410 at once; its alarm aborts the R2 upload and drops the session', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const file = bytes(PART + 10);
    await initiate(id, token, { fileSize: file.byteLength });
    expect((await putChunk(id, 0, chunkOf(file, 0), token)).status).toBe(201);
    const r2UploadId = await r2UploadIdOf(id);
    expect(await multipartAlive(id, r2UploadId)).toBe(true);

    await expire(id);
    expect((await api(`/v1/videos/${id}/upload`, { token })).status).toBe(410);
    expect((await putChunk(id, 1, chunkOf(file, 1), token)).status).toBe(410);
    expect((await api(`/v1/videos/${id}/upload/complete`, { method: 'POST', token })).status).toBe(410);

    expect(await runDurableObjectAlarm(stubFor(id))).toBe(true);
    expect(await multipartAlive(id, r2UploadId)).toBe(false);
    const rows = await runInDurableObject(stubFor(id), async (_i: UploadSession, state) => ({
      sessions: state.storage.sql.exec('SELECT * FROM session').toArray().length,
      parts: state.storage.sql.exec('SELECT * FROM parts').toArray().length,
      alarm: await state.storage.getAlarm(),
    }));
    expect(rows).toEqual({ sessions: 0, parts: 0, alarm: null });
    expect((await api(`/v1/videos/${id}/upload`, { token })).status).toBe(410);
    // A new upload can start after expiry.
    expect((await initiate(id, token, { fileSize: 10 })).status).toBe(201);
  });

  it('an expired tus upload is 410 and its staged tail is deleted by the alarm', async () => {
    const { token } = await newCreator();
    const res = await tusCreate(token, PART + 100, { title: 'expiring' });
    const location = new URL(res.headers.get('Location')!).pathname; // Location is absolute
    const videoId = res.headers.get('X-Video-Id')!;
    expect((await tusPatch(location, token, 0, bytes(1000))).status).toBe(204);
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}/` })).objects).toHaveLength(1);
    await expire(videoId);
    expect((await tusHead(location, token)).status).toBe(410);
    await runDurableObjectAlarm(stubFor(videoId));
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}/` })).objects).toHaveLength(0);
    expect((await tusHead(location, token)).status).toBe(410);
  });

  it('sets the alarm at the 24 h deadline', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const before = Date.now();
    const init = await (await initiate(id, token, { fileSize: 10 })).json<{ expiresAt: string }>();
    const alarm = await runInDurableObject(stubFor(id), (_i: UploadSession, state) => state.storage.getAlarm());
    expect(alarm).toBe(Date.parse(init.expiresAt));
    expect(alarm! - before).toBeGreaterThanOrEqual(24 * 3600_000 - 1000);
  });
});

describe('deleting a video', () => {
  it('aborts its upload in progress (R2 multipart and session)', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const file = bytes(PART + 10);
    await initiate(id, token, { fileSize: file.byteLength });
    await putChunk(id, 0, chunkOf(file, 0), token);
    const r2UploadId = await r2UploadIdOf(id);
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    expect(await multipartAlive(id, r2UploadId)).toBe(false);
    const info = await stubFor(id).info(null);
    expect(info.status).toBe('not_found');
  });
});

describe('parseServerTiming', () => {
  it('reads dur of each entry, sums repeats and skips entries without one', async () => {
    const { parseServerTiming } = await import('../../workers/uploads/server-timing');
    expect(parseServerTiming('video;dur=3.5, r2;desc="x";dur=10, r2;dur=2, cache, bad;dur=x')).toEqual({ video: 3.5, r2: 12 });
    expect(parseServerTiming(null)).toEqual({});
  });
});

describe('internal benchmark routes', () => {
  it('r2-put stores the body with a bare R2 put (same ETag as R2 computes), answers, then deletes it', async () => {
    const body = bytes(6 * 1024 * 1024 + 7, 3);
    expect((await api('/internal/bench/r2-put', { method: 'POST', body })).status).toBe(401);
    const res = await api('/internal/bench/r2-put', { method: 'POST', body, token: env.INTERNAL_TOKEN });
    expect(res.status).toBe(200);
    const answer = await res.json<{ bytes: number; etag: string }>();
    expect(answer.bytes).toBe(body.byteLength);
    const md5 = new Uint8Array(await crypto.subtle.digest('MD5', body));
    expect(answer.etag).toBe([...md5].map((b) => b.toString(16).padStart(2, '0')).join(''));
    // The scratch object is deleted after the answer (waitUntil); poll briefly.
    for (let i = 0; i < 50 && (await env.MEDIA.list({ prefix: 'bench/' })).objects.length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await env.MEDIA.list({ prefix: 'bench/' })).objects).toEqual([]);
  });

  it('r2-read streams an original back, with the same SHA-256 as completion computes, or 404', async () => {
    const file = bytes(12345, 9);
    await env.MEDIA.put('originals/vid_benchread/original', file);
    expect((await api('/internal/bench/r2-read/vid_benchread')).status).toBe(401);
    const hashed = await api('/internal/bench/r2-read/vid_benchread?hash=sha256', { token: env.INTERNAL_TOKEN });
    const expected = [...new Uint8Array(await crypto.subtle.digest('SHA-256', file))].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(await hashed.json()).toMatchObject({ bytes: 12345, sha256: expected });
    const plain = await api('/internal/bench/r2-read/vid_benchread', { token: env.INTERNAL_TOKEN });
    expect(await plain.json()).toMatchObject({ bytes: 12345, sha256: null });
    expect((await api('/internal/bench/r2-read/vid_nothing', { token: env.INTERNAL_TOKEN })).status).toBe(404);
    expect((await api('/internal/bench/r2-read/..%2Fx', { token: env.INTERNAL_TOKEN })).status).toBe(400);
  });
});

describe('internal discard route (benchmark baseline)', () => {
  it('requires the internal token and counts the bytes it discards', async () => {
    expect((await api('/internal/bench/discard', { method: 'POST', body: 'abc' })).status).toBe(401);
    const { token } = await newCreator();
    expect((await api('/internal/bench/discard', { method: 'POST', body: 'abc', token })).status).toBe(401);
    const res = await api('/internal/bench/discard', { method: 'POST', body: bytes(12345), token: env.INTERNAL_TOKEN });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: 12345 });
  });
});

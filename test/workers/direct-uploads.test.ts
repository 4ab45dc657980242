/**
 * Direct creator uploads: the URL from POST /v1/direct_uploads is a tus endpoint that needs no Authorization
 * header, covers one video and one upload, expires, caps the size and the origins, and is spent once used.
 * Every refusal is checked to have written nothing (no session offset, no staged or original bytes).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { checkAnalysed } from '../../workers/lifecycle';
import { api, newCreator, newVideo } from './helpers';
import { TUS, b64, bytes, tusCreate } from './upload-helpers';

/** tus Locations are absolute (built from the request's origin); the test client takes paths. */
const pathOf = (location: string) => new URL(location).pathname;

interface DirectUpload {
  id: string;
  uploadURL: string;
  videoId: string;
  expiresAt: string;
}

async function mint(token: string, json: Record<string, unknown> = {}): Promise<DirectUpload & { path: string }> {
  const res = await api('/v1/direct_uploads', { method: 'POST', token, json });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json<DirectUpload>();
  return { ...body, path: new URL(body.uploadURL).pathname };
}

/** tus creation with no credentials at all. */
function create(path: string, length: number, extra: Record<string, string> = {}) {
  return api(path, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': `filename ${b64('clip.mp4')}`, ...extra } });
}

function patch(location: string, offset: number, body: Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}) {
  return api(location, { method: 'PATCH', body, headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...extra } });
}

async function storedUnder(videoId: string): Promise<string[]> {
  const listed = await Promise.all([env.MEDIA.list({ prefix: `uploads/${videoId}/` }), env.MEDIA.list({ prefix: `originals/${videoId}/` })]);
  return listed.flatMap((l) => l.objects.map((o) => o.key));
}

describe('POST /v1/direct_uploads', () => {
  it('needs a creator token', async () => {
    expect((await api('/v1/direct_uploads', { method: 'POST', json: {} })).status).toBe(401);
  });

  it.each([
    ['a negative maxSizeBytes', { maxSizeBytes: -1 }, /maxSizeBytes/],
    ['a fractional maxSizeBytes', { maxSizeBytes: 1.5 }, /maxSizeBytes/],
    ['a zero maxDurationSeconds', { maxDurationSeconds: 0 }, /maxDurationSeconds/],
    ['a too short expiry', { expiresInSeconds: 5 }, /expiresInSeconds must be at least 60/],
    ['an origin with a path', { allowedOrigins: ['https://app.example/upload'] }, /allowedOrigins entries must be origins/],
    ['an origin that is not a URL', { allowedOrigins: ['app.example'] }, /allowedOrigins/],
    ['an unknown field', { maxSize: 10 }, /unknown field\(s\): maxSize/],
    ['metadata that is not an object', { metadata: 'x' }, /metadata must be an object/],
  ])('rejects %s with 400 and the error shape', async (_what, json, message) => {
    const { token } = await newCreator();
    const res = await api('/v1/direct_uploads', { method: 'POST', token, json });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(message);
  });

  it('answers 201 {uploadURL, videoId, expiresAt} and creates the video UPLOADING', async () => {
    const { token } = await newCreator();
    const before = Date.now();
    const du = await mint(token, { title: 'From a browser', expiresInSeconds: 600, metadata: { courseId: 'c1' } });
    expect(du.uploadURL).toMatch(/^http:\/\/example\.com\/v1\/direct_uploads\/dut_[0-9a-z]{40}\/tus$/);
    expect(Date.parse(du.expiresAt) - before).toBeGreaterThanOrEqual(599_000);
    const video = await (await api(`/v1/videos/${du.videoId}`, { token })).json<{ status: string; title: string }>();
    expect(video).toMatchObject({ status: 'UPLOADING', title: 'From a browser' });
  });
});

describe('the direct upload URL', () => {
  it('uploads a whole file with no Authorization header, then is spent (410 for every reuse)', async () => {
    const { token } = await newCreator();
    const du = await mint(token);
    const file = bytes(3000, 7);
    const created = await create(du.path, file.byteLength);
    expect(created.status).toBe(201);
    expect(created.headers.get('X-Video-Id')).toBe(du.videoId);
    const location = pathOf(created.headers.get('Location')!);
    expect(location).toMatch(new RegExp(`^${du.path}/${du.videoId}-up_[0-9a-z]{16}$`));
    const head = await api(location, { method: 'HEAD', headers: TUS });
    expect(head.status).toBe(200);
    expect(head.headers.get('Upload-Offset')).toBe('0');
    const done = await patch(location, 0, file);
    expect(done.status).toBe(204);
    expect(done.headers.get('Upload-Offset')).toBe('3000');
    const video = await (await api(`/v1/videos/${du.videoId}`, { token })).json<{ status: string }>();
    expect(video.status).toBe('PROCESSING');
    expect((await env.MEDIA.head(`originals/${du.videoId}/original`))?.size).toBe(3000);

    for (const res of [await create(du.path, 10), await patch(location, 3000, bytes(1))]) {
      expect(res.status).toBe(410);
      expect((await res.json<{ error: { code: string; message: string } }>()).error).toMatchObject({ code: 'gone', message: expect.stringMatching(/already used/) });
    }
    expect((await api(location, { method: 'HEAD', headers: TUS })).status).toBe(410);
  });

  it('refuses a second creation while the first upload is in progress (409, pointing at it)', async () => {
    const { token } = await newCreator();
    const du = await mint(token);
    const first = await create(du.path, 100);
    expect(first.status).toBe(201);
    const second = await create(du.path, 100);
    expect(second.status).toBe(409);
    expect(second.headers.get('Location')).toBe(first.headers.get('Location'));
  });

  it('refuses a tampered or unknown token with 401 and writes nothing', async () => {
    const { token } = await newCreator();
    const du = await mint(token);
    const last = du.path.at(-5)!;
    const tampered = du.path.replace(/.(\/tus)$/, `${last === 'a' ? 'b' : 'a'}$1`);
    for (const path of [tampered, '/v1/direct_uploads/dut_short/tus', `${tampered}/${du.videoId}-up_0000000000000000`]) {
      const res = await api(path, { method: path.endsWith('tus') ? 'POST' : 'PATCH', headers: { ...TUS, 'Upload-Length': '10', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: path.endsWith('tus') ? undefined : bytes(10) });
      expect(res.status).toBe(401);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe('unauthorized');
    }
    expect(await storedUnder(du.videoId)).toEqual([]);
    expect((await create(du.path, 10)).status).toBe(201);
  });

  it('refuses an expired URL with 410 and writes nothing', async () => {
    const { token } = await newCreator();
    const du = await mint(token, { expiresInSeconds: 60 });
    await env.DB.prepare('UPDATE direct_uploads SET expires_at = ? WHERE id = ?').bind(Date.now() - 1000, du.id).run();
    const res = await create(du.path, 10);
    expect(res.status).toBe(410);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(/expired/);
    expect(await storedUnder(du.videoId)).toEqual([]);
  });

  it("is scoped to its own upload: another video's upload through it is 403, and nothing is written to either", async () => {
    const { token } = await newCreator();
    const a = await mint(token);
    const b = await mint(token);
    const bLocation = pathOf((await create(b.path, 100)).headers.get('Location')!);
    const bUploadId = bLocation.split('/').at(-1)!;
    const aFirst = await create(a.path, 100);
    expect(aFirst.status).toBe(201);
    // Token A with B's upload id, and token A with a regular creator upload of the same creator.
    const own = await newVideo(token);
    const creatorUpload = await tusCreate(token, 100, { videoId: own.id });
    const creatorUploadId = creatorUpload.headers.get('Location')!.split('/').at(-1)!;
    for (const uploadId of [bUploadId, creatorUploadId]) {
      expect((await patch(`${a.path}/${uploadId}`, 0, bytes(100))).status).toBe(403);
      expect((await api(`${a.path}/${uploadId}`, { method: 'DELETE', headers: TUS })).status).toBe(403);
    }
    expect((await api(bLocation, { method: 'HEAD', headers: TUS })).headers.get('Upload-Offset')).toBe('0');
    expect(await storedUnder(b.videoId)).toEqual([]);
    expect(await storedUnder(own.id)).toEqual([]);
  });

  it('cannot be used as an API credential', async () => {
    const { token } = await newCreator();
    const du = await mint(token);
    const capability = du.path.split('/')[3]!;
    expect((await api('/v1/videos', { token: capability })).status).toBe(401);
    expect((await api(`/v1/videos/${du.videoId}`, { method: 'PATCH', token: capability, json: { title: 'x' } })).status).toBe(401);
    expect((await tusCreate(capability, 10, { title: 'x' })).status).toBe(401);
    expect((await api('/v1/direct_uploads', { method: 'POST', token: capability, json: {} })).status).toBe(401);
  });

  it('refuses an Upload-Length beyond maxSizeBytes with 413, and bytes beyond it, storing nothing past the limit', async () => {
    const { token } = await newCreator();
    const du = await mint(token, { maxSizeBytes: 1000 });
    const tooBig = await create(du.path, 1001);
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json<{ error: { code: string; message: string } }>()).error).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/maxSizeBytes \(1000\)/) });
    expect(await storedUnder(du.videoId)).toEqual([]);
    const created = await create(du.path, 1000);
    expect(created.status).toBe(201);
    const location = pathOf(created.headers.get('Location')!);
    const over = await patch(location, 0, bytes(1500));
    expect(over.status).toBe(413);
    expect((await api(location, { method: 'HEAD', headers: TUS })).headers.get('Upload-Offset')).toBe('0');
    expect(await storedUnder(du.videoId)).toEqual([]);
  });

  it('holds a deferred-length upload to maxSizeBytes: data sent with the creation, later PATCHes and a declared length', async () => {
    const { token } = await newCreator();
    const du = await mint(token, { maxSizeBytes: 1000 });
    const deferred = (body: Uint8Array<ArrayBuffer>) =>
      api(du.path, {
        method: 'POST',
        body,
        headers: { ...TUS, 'Upload-Defer-Length': '1', 'Content-Type': 'application/offset+octet-stream', 'Upload-Metadata': `filename ${b64('clip.mp4')}` },
      });
    // 5,000 bytes on a creation that defers its length: refused before a byte is stored, and the URL is still unused.
    const tooMuch = await deferred(bytes(5000));
    expect(tooMuch.status).toBe(413);
    expect((await tooMuch.json<{ error: { code: string; message: string } }>()).error).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/maxSizeBytes \(1000\)/) });
    expect(await storedUnder(du.videoId)).toEqual([]);
    // Discovery tells a client the URL's own limit.
    expect((await api(du.path, { method: 'OPTIONS' })).headers.get('Tus-Max-Size')).toBe('1000');

    const created = await deferred(bytes(600));
    expect(created.status).toBe(201);
    expect(created.headers.get('Upload-Offset')).toBe('600');
    const location = pathOf(created.headers.get('Location')!);
    expect((await patch(location, 600, bytes(401))).status).toBe(413);
    expect((await patch(location, 600, bytes(10), { 'Upload-Length': '1001' })).status).toBe(413);
    const head = await api(location, { method: 'HEAD', headers: TUS });
    expect(head.headers.get('Upload-Offset')).toBe('600');
    expect(head.headers.get('Upload-Defer-Length')).toBe('1');
    // Exactly up to the limit is fine.
    const last = await patch(location, 600, bytes(400), { 'Upload-Length': '1000' });
    expect(last.status).toBe(204);
    expect(last.headers.get('Upload-Offset')).toBe('1000');
  });

  it('with allowedOrigins: other origins get 403 without CORS headers; allowed ones get CORS', async () => {
    const { token } = await newCreator();
    const du = await mint(token, { allowedOrigins: ['https://courses.example'] });
    const preflight = (origin: string) =>
      api(du.path, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'tus-resumable,upload-length' } });
    const evilPreflight = await preflight('https://evil.example');
    expect(evilPreflight.status).toBe(403);
    expect(evilPreflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const okPreflight = await preflight('https://courses.example');
    expect(okPreflight.status).toBe(200);
    expect(okPreflight.headers.get('Access-Control-Allow-Origin')).toBe('https://courses.example');

    const evil = await create(du.path, 10, { Origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(await storedUnder(du.videoId)).toEqual([]);
    const ok = await create(du.path, 10, { Origin: 'https://courses.example' });
    expect(ok.status).toBe(201);
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('https://courses.example');
    expect(ok.headers.get('Access-Control-Expose-Headers')).toMatch(/Location/);
  });

  it('fails a video longer than maxDurationSeconds after analysis, with the reason', async () => {
    const { token } = await newCreator();
    const du = await mint(token, { maxDurationSeconds: 10 });
    expect(await checkAnalysed(env, du.videoId, { duration: 9.5 })).toBeNull();
    expect(await checkAnalysed(env, du.videoId, { duration: 12.25 })).toBe(
      'the video is 12.3 s long, longer than the 10 s this direct upload allows (maxDurationSeconds)',
    );
    const plain = await newVideo(token);
    expect(await checkAnalysed(env, plain.id, { duration: 99999 })).toBeNull();
  });
});

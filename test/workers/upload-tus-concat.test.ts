/** tus concatenation: partial uploads in parallel, a final upload that makes them, in order, the video's (composite) original. */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { api, newCreator, newVideo } from './helpers';
import { MiB, PART, TUS, b64, bytes, sha256, tusHead, tusPatch } from './upload-helpers';
import { readOriginal } from '../../workers/shared/original';
import type { UploadSession } from '../../workers/uploads/upload-session';

const OFFSET_TYPE = { 'Content-Type': 'application/offset+octet-stream' };
const pathOf = (res: Response) => new URL(res.headers.get('Location')!).pathname;
const meta = (m: Record<string, string>) => Object.entries(m).map(([k, v]) => `${k} ${b64(v)}`).join(',');

/** Creates a partial upload; with `data`, sends it in the creation POST (as tus-js-client does with uploadDataDuringCreation). */
async function partial(token: string, length: number, opts: { data?: Uint8Array<ArrayBuffer>; metadata?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...TUS, 'Upload-Length': String(length), 'Upload-Concat': 'partial' };
  if (opts.metadata) headers['Upload-Metadata'] = meta(opts.metadata);
  if (opts.data) Object.assign(headers, OFFSET_TYPE);
  const res = await api('/v1/uploads', { method: 'POST', token, headers, body: opts.data });
  expect(res.status).toBe(201);
  expect(res.headers.get('X-Video-Id')).toBeNull();
  return { url: res.headers.get('Location')!, location: pathOf(res), res };
}

function final(token: string, urls: string[], metadata: Record<string, string> = { title: 'joined' }, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { ...TUS, 'Upload-Concat': `final;${urls.join(' ')}`, ...extra };
  if (Object.keys(metadata).length) headers['Upload-Metadata'] = meta(metadata);
  return api('/v1/uploads', { method: 'POST', token, headers });
}

/** The original's SHA-256, read as every reader reads it (one object or a composite). */
async function original(videoId: string): Promise<string | null> {
  const read = await readOriginal(env.MEDIA, videoId);
  return read.status === 'ok' ? sha256(new Uint8Array(await new Response(read.body).arrayBuffer())) : null;
}

/** Every R2 key under a prefix. */
const listed = async (prefix: string) => (await env.MEDIA.list({ prefix })).objects.map((o) => o.key);

async function videoCount(token: string): Promise<number> {
  return (await (await api('/v1/videos', { token })).json<{ videos: unknown[] }>()).videos.length;
}

const ownerOf = (location: string) => location.split('/').pop()!.split('-')[0]!;
const stubFor = (name: string) => env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(name));

/** Three partials of unaligned sizes (none a multiple of the 5 MiB part), uploaded in parallel. */
async function uploadedPartials(token: string, file: Uint8Array<ArrayBuffer>, cuts: number[]) {
  return Promise.all(
    cuts.slice(0, -1).map(async (start, i) => {
      const slice = file.slice(start, cuts[i + 1]);
      // The first goes in its creation POST; the others by PATCH, two PATCHes for the middle one.
      if (i === 0) return partial(token, slice.byteLength, { data: slice });
      const p = await partial(token, slice.byteLength);
      const half = i === 1 ? Math.floor(slice.byteLength / 2) : slice.byteLength;
      expect((await tusPatch(p.location, token, 0, slice.slice(0, half))).status).toBe(204);
      if (half < slice.byteLength) expect((await tusPatch(p.location, token, half, slice.slice(half))).status).toBe(204);
      return p;
    }),
  );
}

describe('tus concatenation', () => {
  it('concatenates partial uploads, in the final order, into a byte-identical composite original; deleting the video deletes every part', async () => {
    const { token } = await newCreator();
    const file = bytes(11 * MiB + 12345, 31);
    const cuts = [0, 3 * MiB + 1, 7 * MiB + 7, file.byteLength];
    const parts = await uploadedPartials(token, file, cuts);
    const headers = (await tusHead(parts[1]!.location, token)).headers;
    expect(headers.get('Upload-Concat')).toBe('partial');
    expect(headers.get('Upload-Offset')).toBe(String(cuts[2]! - cuts[1]!));

    // Absolute URLs, as tus-js-client sends them.
    const res = await final(token, parts.map((p) => p.url));
    expect(res.status).toBe(201);
    const videoId = res.headers.get('X-Video-Id')!;
    expect(await original(videoId)).toBe(await sha256(file));
    const video = await (await api(`/v1/videos/${videoId}`, { token })).json<{ title: string; status: string }>();
    expect(video).toMatchObject({ title: 'joined', status: 'PROCESSING' });

    const finalHead = await tusHead(pathOf(res), token);
    expect(finalHead.status).toBe(200);
    expect(finalHead.headers.get('Upload-Concat')).toBe(`final;${parts.map((p) => p.url).join(' ')}`);
    expect(finalHead.headers.get('Upload-Length')).toBe(String(file.byteLength));
    expect(finalHead.headers.get('Upload-Offset')).toBe(String(file.byteLength));

    // No copy: the original is a manifest over the partials' objects, which the video now owns.
    expect(await listed(`originals/${videoId}/`)).toEqual([`originals/${videoId}/composite.json`]);
    for (const p of parts) {
      expect((await tusHead(p.location, token)).status).toBe(410);
      expect(await listed(`uploads/${ownerOf(p.location)}/`)).toEqual([expect.stringMatching(/\/data$/)]);
    }
    expect(await listed(`uploads/${videoId}/`)).toHaveLength(0);

    expect((await api(`/v1/videos/${videoId}`, { method: 'DELETE', token })).status).toBe(204);
    expect(await listed(`originals/${videoId}/`)).toHaveLength(0);
    for (const p of parts) expect(await listed(`uploads/${ownerOf(p.location)}/`)).toHaveLength(0);
  });

  it('the 24 h expiry keeps partials a completed final upload owns (and the original stays readable)', async () => {
    const { token } = await newCreator();
    const file = bytes(MiB + 17, 36);
    const a = await partial(token, 1000, { data: file.slice(0, 1000) });
    const b = await partial(token, file.byteLength - 1000, { data: file.slice(1000) });
    const res = await final(token, [a.url, b.url], { title: 'owned' });
    expect(res.status).toBe(201);
    const videoId = res.headers.get('X-Video-Id')!;
    for (const p of [a, b]) {
      // Past any deadline: whatever alarm a consumed partial could still have finds nothing of its own to expire.
      await runInDurableObject(stubFor(ownerOf(p.location)), async (_i: UploadSession, state) => {
        state.storage.sql.exec('UPDATE session SET expires_at = ?', Date.now() - 1);
        await state.storage.setAlarm(Date.now());
      });
      await runDurableObjectAlarm(stubFor(ownerOf(p.location)));
      expect(await listed(`uploads/${ownerOf(p.location)}/`)).toHaveLength(1);
    }
    expect(await original(videoId)).toBe(await sha256(file));
  });

  it('accepts relative partial URLs, and takes the video the partials name in their metadata', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const file = bytes(2 * MiB + 3, 32);
    const a = await partial(token, MiB, { data: file.slice(0, MiB), metadata: { videoId: id } });
    const b = await partial(token, MiB + 3, { data: file.slice(MiB), metadata: { videoId: id } });
    const res = await final(token, [a.location, b.location], {});
    expect(res.status).toBe(201);
    expect(res.headers.get('X-Video-Id')).toBe(id);
    expect(await original(id)).toBe(await sha256(file));
  });

  it('checks the SHA-256 of the concatenation against a declared one: a mismatch is 422 and nothing is kept', async () => {
    const { token } = await newCreator();
    const file = bytes(3 * MiB, 34);
    const a = await partial(token, MiB, { data: file.slice(0, MiB) });
    const b = await partial(token, 2 * MiB, { data: file.slice(MiB) });
    const wrong = await final(token, [a.url, b.url], { title: 'declared', sha256: await sha256(bytes(10)) });
    expect(wrong.status).toBe(422);
    expect((await wrong.json<{ error: { code: string } }>()).error.code).toBe('verification_failed');
    for (const p of [a, b]) expect(await listed(`uploads/${ownerOf(p.location)}/`)).toHaveLength(0);
    expect(await listed(`originals/${wrong.headers.get('X-Video-Id') ?? 'none'}/`)).toHaveLength(0);
    const c = await partial(token, MiB, { data: file.slice(0, MiB) });
    const d = await partial(token, 2 * MiB, { data: file.slice(MiB) });
    const right = await final(token, [c.url, d.url], { title: 'declared', sha256: await sha256(file) });
    expect(right.status).toBe(201);
    const videoId = right.headers.get('X-Video-Id')!;
    expect(await original(videoId)).toBe(await sha256(file));
  });

  it('a retried final POST (its answer lost) answers with the same upload: no second video, no 409', async () => {
    const { token } = await newCreator();
    const file = bytes(2 * MiB + 5, 35);
    const a = await partial(token, MiB, { data: file.slice(0, MiB) });
    const b = await partial(token, MiB + 5, { data: file.slice(MiB) });
    const first = await final(token, [a.url, b.url], { title: 'retried' });
    expect(first.status).toBe(201);
    const again = await final(token, [a.url, b.url], { title: 'retried' });
    expect(again.status).toBe(201);
    expect(again.headers.get('Location')).toBe(first.headers.get('Location'));
    expect(again.headers.get('Upload-Offset')).toBe(String(file.byteLength));
    expect(await videoCount(token)).toBe(1);
    // The consumed partials cannot make another upload.
    const c = await partial(token, 10, { data: bytes(10) });
    expect((await final(token, [a.url, c.url], { title: 'other' })).status).toBe(410);
  });

  it('refuses PATCH on a final upload with 403', async () => {
    const { token } = await newCreator();
    const a = await partial(token, 100, { data: bytes(100) });
    const res = await final(token, [a.url]);
    expect(res.status).toBe(201);
    expect((await tusPatch(pathOf(res), token, 100, bytes(1))).status).toBe(403);
  });

  it('concatenation-unfinished: a final upload over a partial still uploading waits, then completes with its last byte', async () => {
    const { token } = await newCreator();
    const file = bytes(200, 41);
    const done = await partial(token, 100, { data: file.slice(0, 100) });
    const half = await partial(token, 100, { data: file.slice(100, 150) });
    const res = await final(token, [done.url, half.url]);
    expect(res.status).toBe(201);
    const videoId = res.headers.get('X-Video-Id')!;
    // Waiting: the length is known, the offset is not shown until the concatenation is done (tus 1.0.0).
    const waiting = await tusHead(pathOf(res), token);
    expect(waiting.status).toBe(200);
    expect(waiting.headers.get('Upload-Length')).toBe('200');
    expect(waiting.headers.get('Upload-Offset')).toBeNull();
    expect((await api(`/v1/videos/${videoId}`, { token })).json()).resolves.toMatchObject({ status: 'UPLOADING' });
    // The partial's last byte completes the final upload.
    expect((await tusPatch(half.location, token, 50, file.slice(150))).status).toBe(204);
    const complete = await tusHead(pathOf(res), token);
    expect(complete.headers.get('Upload-Offset')).toBe('200');
    expect(await original(videoId)).toBe(await sha256(file));
    expect((await api(`/v1/videos/${videoId}`, { token })).json()).resolves.toMatchObject({ status: 'PROCESSING' });
  });

  it('concatenation-unfinished needs the unfinished partial\'s length; a partial that ends unfinished fails the final', async () => {
    const { token } = await newCreator();
    const done = await partial(token, 100, { data: bytes(100) });
    const deferred = await api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, 'Upload-Defer-Length': '1', 'Upload-Concat': 'partial' } });
    expect(deferred.status).toBe(201);
    const res = await final(token, [done.url, deferred.headers.get('Location')!]);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(/length is not declared/);
    expect(await videoCount(token)).toBe(0);

    const half = await partial(token, 100, { data: bytes(50) });
    const waiting = await final(token, [done.url, half.url]);
    expect(waiting.status).toBe(201);
    expect((await api(half.location, { method: 'DELETE', token, headers: TUS })).status).toBe(204);
    // The final upload can no longer complete: it says so, and the partial it claimed goes with it.
    expect((await tusHead(pathOf(waiting), token)).status).toBe(410);
  });

  it("scopes partials to their creator (403) and to one video (409)", async () => {
    const owner = await newCreator('owner');
    const other = await newCreator('other');
    const mine = await partial(owner.token, 10, { data: bytes(10) });
    expect((await final(other.token, [mine.url])).status).toBe(403);

    const { id: videoA } = await newVideo(owner.token);
    const { id: videoB } = await newVideo(owner.token);
    const forA = await partial(owner.token, 10, { data: bytes(10), metadata: { videoId: videoA } });
    const conflictRes = await final(owner.token, [forA.url], { videoId: videoB });
    expect(conflictRes.status).toBe(409);
    // Another creator's video cannot be named by a partial either.
    const res = await api('/v1/uploads', {
      method: 'POST',
      token: other.token,
      headers: { ...TUS, 'Upload-Length': '10', 'Upload-Concat': 'partial', 'Upload-Metadata': meta({ videoId: videoA }) },
    });
    expect(res.status).toBe(403);
  });

  it.each([
    ['Upload-Length on a final upload', { 'Upload-Length': '10' }, null],
    ['a URL that names no upload of this server', {}, ['https://elsewhere.example/files/abc']],
    ['the same partial twice', {}, 'twice'],
    ['a plain upload instead of a partial', {}, 'plain'],
  ])('refuses %s with 400', async (_what, extra, urls) => {
    const { token } = await newCreator();
    const a = await partial(token, 10, { data: bytes(10) });
    let list = [a.url];
    if (urls === 'twice') list = [a.url, a.url];
    else if (urls === 'plain') {
      const plain = await api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': meta({ title: 'p' }) } });
      list = [plain.headers.get('Location')!];
    } else if (Array.isArray(urls)) list = urls;
    const res = await final(token, list, { title: 't' }, extra as Record<string, string>);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('bad_request');
  });

  it('a partial that expires unused is cleaned up by the 24 h alarm: its object and staged bytes go, later requests get 410', async () => {
    const { token } = await newCreator();
    const done = await partial(token, 1000, { data: bytes(1000) });
    const open = await partial(token, 6 * MiB, { data: bytes(MiB) });
    for (const p of [done, open]) {
      const owner = ownerOf(p.location);
      expect((await env.MEDIA.list({ prefix: `uploads/${owner}/` })).objects.length).toBeGreaterThan(0);
      await runInDurableObject(stubFor(owner), async (_i: UploadSession, state) => {
        state.storage.sql.exec('UPDATE session SET expires_at = ?', Date.now() - 1);
      });
      expect(await runDurableObjectAlarm(stubFor(owner))).toBe(true);
      expect((await env.MEDIA.list({ prefix: `uploads/${owner}/` })).objects).toHaveLength(0);
      expect((await tusHead(p.location, token)).status).toBe(410);
    }
    // A final upload over an expired partial is 410, and creates no video.
    expect((await final(token, [done.url])).status).toBe(410);
    expect(await videoCount(token)).toBe(0);
  });

  it('a final upload cut short after claiming its partials (before its manifest) is completed by HEAD, byte-identical', async () => {
    const { token, creatorId } = await newCreator();
    const { id: videoId } = await newVideo(token);
    const file = bytes(PART + 3 * MiB + 10, 33);
    const a = await partial(token, 3 * MiB, { data: file.slice(0, 3 * MiB) });
    const b = await partial(token, file.byteLength - 3 * MiB, { data: file.slice(3 * MiB) });
    const concat = await Promise.all(
      [a, b].map(async (p) => {
        const uploadId = p.location.split('/').pop()!;
        const info = await stubFor(ownerOf(p.location)).info(uploadId);
        if (info.status !== 'ok') throw new Error('partial missing');
        await stubFor(ownerOf(p.location)).bind(uploadId, videoId);
        return { uploadId, objectKey: info.session.objectKey, size: info.session.fileSize };
      }),
    );
    // What a final POST does before its Worker dies: the final session, then the partials claimed.
    const stub = stubFor(videoId);
    const uploadId = `${videoId}-up_0000000000000001`;
    const started = await stub.start({
      uploadId, videoId, creatorId, protocol: 'tus', kind: 'final', objectKey: `originals/${videoId}/original`,
      fileSize: file.byteLength, partSize: PART, sha256: null, metadata: null, contentType: null, ttlMs: 3600_000, concat,
    });
    expect(started.status).toBe('created');
    for (const p of concat) expect((await stubFor(ownerOf(`/${p.uploadId}`)).terminate(p.uploadId, 'concatenated', uploadId)).status).toBe('ok');
    expect(await original(videoId)).toBeNull();

    const head = await tusHead(`/v1/uploads/${uploadId}`, token);
    expect(head.status).toBe(200);
    expect(head.headers.get('Upload-Offset')).toBe(String(file.byteLength));
    expect(await original(videoId)).toBe(await sha256(file));
    expect((await tusHead(a.location, token)).status).toBe(410);
  });

  it('a final upload that ends unfinished (terminated) takes the partials it claimed with it', async () => {
    const { token, creatorId } = await newCreator();
    const { id: videoId } = await newVideo(token);
    const a = await partial(token, 100, { data: bytes(100) });
    const uploadId = a.location.split('/').pop()!;
    const info = await stubFor(ownerOf(a.location)).info(uploadId);
    if (info.status !== 'ok') throw new Error('partial missing');
    const finalId = `${videoId}-up_0000000000000002`;
    const stub = stubFor(videoId);
    await stub.start({
      uploadId: finalId, videoId, creatorId, protocol: 'tus', kind: 'final', objectKey: `originals/${videoId}/original`, fileSize: 100,
      partSize: PART, sha256: null, metadata: null, contentType: null, ttlMs: 3600_000, concat: [{ uploadId, objectKey: info.session.objectKey, size: 100 }],
    });
    await stubFor(ownerOf(a.location)).terminate(uploadId, 'concatenated', finalId);
    expect(await listed(`uploads/${ownerOf(a.location)}/`)).toHaveLength(1);
    expect((await api(`/v1/uploads/${finalId}`, { method: 'DELETE', token, headers: TUS })).status).toBe(204);
    expect(await listed(`uploads/${ownerOf(a.location)}/`)).toHaveLength(0);
    expect(await listed(`originals/${videoId}/`)).toHaveLength(0);
  });
});

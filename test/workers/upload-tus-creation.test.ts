/**
 * tus conformance beyond the core: wrong-length checksums, Upload-Length: 0, creation-with-upload and
 * creation-defer-length (concatenation is in upload-tus-concat.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, newCreator } from './helpers';
import { MiB, PART, TUS, b64, bytes, sha1Base64, sha256, tusCreate, tusHead, tusPatch } from './upload-helpers';

const OFFSET_TYPE = { 'Content-Type': 'application/offset+octet-stream' };

/** A creation POST carrying `data` (creation-with-upload). */
function createWithData(token: string, length: number | null, data: Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { ...TUS, ...OFFSET_TYPE, 'Upload-Metadata': `title ${b64('with data')}`, ...extra };
  if (length !== null) headers['Upload-Length'] = String(length);
  return api('/v1/uploads', { method: 'POST', token, body: data, headers });
}

const pathOf = (res: Response) => new URL(res.headers.get('Location')!).pathname;

async function head(location: string, token: string) {
  const res = await tusHead(location, token);
  expect(res.status).toBe(200);
  return res.headers;
}

async function videoOf(videoId: string, token: string) {
  return (await api(`/v1/videos/${videoId}`, { token })).json<{ status: string; error?: string }>();
}

async function original(videoId: string): Promise<string | null> {
  const object = await env.MEDIA.get(`originals/${videoId}/original`);
  return object ? sha256(new Uint8Array(await object.arrayBuffer())) : null;
}

async function videoCount(token: string): Promise<number> {
  const list = await (await api('/v1/videos', { token })).json<{ videos: unknown[] }>();
  return list.videos.length;
}

describe('tus checksum', () => {
  it('a digest of the wrong length is a mismatch (460, offset unchanged); the same PATCH with the right one succeeds', async () => {
    const { token } = await newCreator();
    const file = bytes(PART + MiB, 21);
    const res = await tusCreate(token, file.byteLength, { title: 'checksums' });
    const location = pathOf(res);
    // A 16-byte (MD5-sized) value under sha1 can never match.
    const wrongLength = await tusPatch(location, token, 0, file, { 'Upload-Checksum': `sha1 ${btoa('0123456789abcdef')}` });
    expect(wrongLength.status).toBe(460);
    expect(wrongLength.headers.get('Upload-Offset')).toBe('0');
    expect((await wrongLength.json<{ error: { code: string } }>()).error.code).toBe('checksum_mismatch');
    expect((await head(location, token)).get('Upload-Offset')).toBe('0');
    const right = await tusPatch(location, token, 0, file, { 'Upload-Checksum': `sha1 ${await sha1Base64(file)}` });
    expect(right.status).toBe(204);
    expect(right.headers.get('Upload-Offset')).toBe(String(file.byteLength));
    expect(await original(res.headers.get('X-Video-Id')!)).toBe(await sha256(file));
  });
});

describe('tus Upload-Length: 0', () => {
  it('is created complete (offset 0, length 0) and its video fails at once with a clear reason', async () => {
    const { token } = await newCreator();
    const res = await tusCreate(token, 0, { title: 'empty' });
    expect(res.status).toBe(201);
    expect(res.headers.get('Upload-Offset')).toBe('0');
    const headers = await head(pathOf(res), token);
    expect(headers.get('Upload-Offset')).toBe('0');
    expect(headers.get('Upload-Length')).toBe('0');
    const video = await videoOf(res.headers.get('X-Video-Id')!, token);
    expect(video.status).toBe('FAILED');
    expect(video.error).toMatch(/empty \(0 bytes\)/);
    // A zero-byte PATCH at offset 0 is the completed upload's no-op, not an error.
    expect((await tusPatch(pathOf(res), token, 0, new Uint8Array(0))).status).toBe(204);
  });

  it('a creation POST with an empty body (Content-Type set, Content-Length 0) leaves a usable upload at offset 0', async () => {
    const { token } = await newCreator();
    const file = bytes(1000, 4);
    const res = await createWithData(token, file.byteLength, new Uint8Array(0));
    expect(res.status).toBe(201);
    expect(res.headers.get('Upload-Offset')).toBe('0');
    const location = pathOf(res);
    expect((await tusPatch(location, token, 0, file)).status).toBe(204);
    expect(await original(res.headers.get('X-Video-Id')!)).toBe(await sha256(file));
  });
});

describe('tus creation-with-upload', () => {
  it('takes the first bytes in the POST (Upload-Offset in the 201); PATCHes continue from there', async () => {
    const { token } = await newCreator();
    const file = bytes(2 * PART + 333, 5);
    const first = file.slice(0, PART + MiB);
    const res = await createWithData(token, file.byteLength, first);
    expect(res.status).toBe(201);
    expect(res.headers.get('Location')).toMatch(/^http:\/\/example\.com\/v1\/uploads\//);
    expect(res.headers.get('Upload-Offset')).toBe(String(first.byteLength));
    const location = pathOf(res);
    expect((await head(location, token)).get('Upload-Offset')).toBe(String(first.byteLength));
    const rest = await tusPatch(location, token, first.byteLength, file.slice(first.byteLength));
    expect(rest.status).toBe(204);
    const videoId = res.headers.get('X-Video-Id')!;
    expect(await original(videoId)).toBe(await sha256(file));
    expect((await videoOf(videoId, token)).status).toBe('PROCESSING');
  });

  it('an upload that completes in the POST completes the video', async () => {
    const { token } = await newCreator();
    const file = bytes(PART + 4321, 6);
    const res = await createWithData(token, file.byteLength, file);
    expect(res.status).toBe(201);
    expect(res.headers.get('Upload-Offset')).toBe(String(file.byteLength));
    const videoId = res.headers.get('X-Video-Id')!;
    expect(await original(videoId)).toBe(await sha256(file));
    expect((await videoOf(videoId, token)).status).toBe('PROCESSING');
  });

  it('refuses another Content-Type with 415 and creates nothing', async () => {
    const { token } = await newCreator();
    const res = await createWithData(token, 100, bytes(100), { 'Content-Type': 'application/octet-stream' });
    expect(res.status).toBe(415);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('unsupported_media_type');
    expect(await videoCount(token)).toBe(0);
  });

  it('refuses a body longer than Upload-Length with 400 and creates nothing', async () => {
    const { token } = await newCreator();
    expect((await createWithData(token, 10, bytes(11))).status).toBe(400);
    expect(await videoCount(token)).toBe(0);
  });

  it('a checksum mismatch in the POST is 460 with the Location of the upload, at offset 0', async () => {
    const { token } = await newCreator();
    const file = bytes(2000, 8);
    const res = await createWithData(token, file.byteLength, file, { 'Upload-Checksum': `sha1 ${await sha1Base64(bytes(5))}` });
    expect(res.status).toBe(460);
    const location = pathOf(res);
    expect((await head(location, token)).get('Upload-Offset')).toBe('0');
    expect((await tusPatch(location, token, 0, file, { 'Upload-Checksum': `sha1 ${await sha1Base64(file)}` })).status).toBe(204);
  });
});

describe('tus creation-defer-length', () => {
  async function deferred(token: string) {
    const res = await api('/v1/uploads', {
      method: 'POST',
      token,
      headers: { ...TUS, 'Upload-Defer-Length': '1', 'Upload-Metadata': `title ${b64('recording')}` },
    });
    expect(res.status).toBe(201);
    return { location: pathOf(res), videoId: res.headers.get('X-Video-Id')! };
  }

  it('streams without a length, which a later PATCH sets once; it cannot change afterwards', async () => {
    const { token } = await newCreator();
    const file = bytes(2 * PART + 999, 12);
    const { location, videoId } = await deferred(token);
    let headers = await head(location, token);
    expect(headers.get('Upload-Defer-Length')).toBe('1');
    expect(headers.get('Upload-Length')).toBeNull();

    const cuts = [0, MiB, PART + 2 * MiB, file.byteLength];
    expect((await tusPatch(location, token, 0, file.slice(0, cuts[1]))).status).toBe(204);
    // The second PATCH declares the length; the upload is not complete yet.
    const declaring = await tusPatch(location, token, cuts[1]!, file.slice(cuts[1], cuts[2]), { 'Upload-Length': String(file.byteLength) });
    expect(declaring.status).toBe(204);
    headers = await head(location, token);
    expect(headers.get('Upload-Length')).toBe(String(file.byteLength));
    expect(headers.get('Upload-Defer-Length')).toBeNull();
    // Immutable once set: another value is refused and nothing moves.
    const changed = await tusPatch(location, token, cuts[2]!, file.slice(cuts[2]), { 'Upload-Length': String(file.byteLength + 1) });
    expect(changed.status).toBe(400);
    expect((await head(location, token)).get('Upload-Offset')).toBe(String(cuts[2]));
    const last = await tusPatch(location, token, cuts[2]!, file.slice(cuts[2]));
    expect(last.status).toBe(204);
    expect(await original(videoId)).toBe(await sha256(file));
    expect((await videoOf(videoId, token)).status).toBe('PROCESSING');
  });

  it('a length declared by an empty PATCH at a mid-part offset turns the staged tail into the last part', async () => {
    const { token } = await newCreator();
    const file = bytes(PART + 1000, 13);
    const { location, videoId } = await deferred(token);
    expect((await tusPatch(location, token, 0, file)).status).toBe(204);
    expect((await head(location, token)).get('Upload-Offset')).toBe(String(file.byteLength));
    const declare = await tusPatch(location, token, file.byteLength, new Uint8Array(0), { 'Upload-Length': String(file.byteLength) });
    expect(declare.status).toBe(204);
    expect(await original(videoId)).toBe(await sha256(file));
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}/` })).objects).toHaveLength(0);
  });

  it('refuses a declared length below the stored offset (400) and keeps the bytes', async () => {
    const { token } = await newCreator();
    const { location } = await deferred(token);
    expect((await tusPatch(location, token, 0, bytes(500))).status).toBe(204);
    expect((await tusPatch(location, token, 500, bytes(10), { 'Upload-Length': '400' })).status).toBe(400);
    expect((await tusPatch(location, token, 500, new Uint8Array(0), { 'Upload-Length': '400' })).status).toBe(400);
    expect((await head(location, token)).get('Upload-Offset')).toBe('500');
    expect((await head(location, token)).get('Upload-Defer-Length')).toBe('1');
  });
});

import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, newCreator, newVideo } from './helpers';
import { MiB, PART, TUS, b64, bytes, sha1Base64, sha256, tusCreate, tusHead, tusPatch } from './upload-helpers';

async function created(token: string, length: number, metadata: Record<string, string> = { title: 'tus clip' }) {
  const res = await tusCreate(token, length, metadata);
  expect(res.status).toBe(201);
  // Absolute, from the request's own origin; the tests go on with its path.
  const absolute = res.headers.get('Location')!;
  expect(absolute).toMatch(/^http:\/\/example\.com\/v1\/uploads\/vid_[0-9a-z]{16}-up_[0-9a-z]{16}$/);
  const location = new URL(absolute).pathname;
  return { location, videoId: res.headers.get('X-Video-Id')!, res };
}

async function offsetOf(location: string, token: string): Promise<number> {
  const head = await tusHead(location, token);
  expect(head.status).toBe(200);
  return Number(head.headers.get('Upload-Offset'));
}

async function original(videoId: string): Promise<string | null> {
  const object = await env.MEDIA.get(`originals/${videoId}/original`);
  return object ? sha256(new Uint8Array(await object.arrayBuffer())) : null;
}

describe('tus discovery and protocol headers', () => {
  it('OPTIONS answers 200 with version, extensions, max size and checksum algorithms, without a token', async () => {
    const res = await api('/v1/uploads', { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(res.headers.get('Tus-Version')).toBe('1.0.0');
    expect(res.headers.get('Tus-Extension')).toBe(
      'creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation,concatenation-unfinished',
    );
    expect(res.headers.get('Tus-Max-Size')).toBe(String(20 * 1024 * MiB));
    expect(res.headers.get('Tus-Checksum-Algorithm')).toBe('sha1');
  });

  it('answers a browser preflight with CORS headers that expose Location and Upload-Offset', async () => {
    const res = await api('/v1/uploads/whatever', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'upload-offset' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example');
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('PATCH');
    expect(res.headers.get('Access-Control-Allow-Headers')).toContain('Upload-Offset');
    const exposed = res.headers.get('Access-Control-Expose-Headers')!;
    for (const h of ['Location', 'Upload-Offset', 'Upload-Length', 'Upload-Expires', 'Tus-Resumable']) expect(exposed).toContain(h);
  });

  it('rejects an unsupported or missing Tus-Resumable with 412 and Tus-Version', async () => {
    const { token } = await newCreator();
    for (const version of ['0.2.2', undefined]) {
      const headers: Record<string, string> = { 'Upload-Length': '10' };
      if (version) headers['Tus-Resumable'] = version;
      const res = await api('/v1/uploads', { method: 'POST', token, headers });
      expect(res.status).toBe(412);
      expect(res.headers.get('Tus-Version')).toBe('1.0.0');
      expect(res.headers.get('Tus-Resumable')).toBe('1.0.0');
    }
  });
});

describe('tus creation', () => {
  it('creates a video from the title and returns Location and Upload-Expires', async () => {
    const { token } = await newCreator();
    const { videoId, res } = await created(token, 1000, { title: 'from tus', filetype: 'video/mp4' });
    expect(Date.parse(res.headers.get('Upload-Expires')!)).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const video = await (await api(`/v1/videos/${videoId}`, { token })).json<{ title: string; status: string }>();
    expect(video).toMatchObject({ title: 'from tus', status: 'UPLOADING' });
  });

  it("uploads into an existing video; another creator's video is 403", async () => {
    const owner = await newCreator('owner');
    const other = await newCreator('other');
    const { id } = await newVideo(owner.token);
    const { videoId } = await created(owner.token, 10, { videoId: id });
    expect(videoId).toBe(id);
    expect((await tusCreate(other.token, 10, { videoId: id })).status).toBe(403);
  });

  it('needs a token (401)', async () => {
    expect((await tusCreate('', 10, { title: 't' })).status).toBe(401);
    expect((await tusCreate('evt_bad', 10, { title: 't' })).status).toBe(401);
  });

  it.each([
    ['no Upload-Length', { 'Upload-Metadata': `title ${b64('t')}` }],
    ['a non-numeric Upload-Length', { 'Upload-Length': 'ten', 'Upload-Metadata': `title ${b64('t')}` }],
    ['malformed metadata base64', { 'Upload-Length': '10', 'Upload-Metadata': 'title ***' }],
    ['a metadata pair with three fields', { 'Upload-Length': '10', 'Upload-Metadata': `title ${b64('t')} extra` }],
    ['a duplicated metadata key', { 'Upload-Length': '10', 'Upload-Metadata': `title ${b64('a')},title ${b64('b')}` }],
    ['neither videoId nor title', { 'Upload-Length': '10', 'Upload-Metadata': `filetype ${b64('video/mp4')}` }],
    ['Upload-Defer-Length other than 1', { 'Upload-Defer-Length': '2', 'Upload-Metadata': `title ${b64('t')}` }],
    ['both Upload-Length and Upload-Defer-Length', { 'Upload-Length': '10', 'Upload-Defer-Length': '1', 'Upload-Metadata': `title ${b64('t')}` }],
    ['a malformed Upload-Concat', { 'Upload-Length': '10', 'Upload-Concat': 'whole', 'Upload-Metadata': `title ${b64('t')}` }],
  ])('rejects %s with 400', async (_what, headers) => {
    const { token } = await newCreator();
    const res = await api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, ...headers } });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('bad_request');
  });

  it('rejects an Upload-Length over Tus-Max-Size with 413', async () => {
    const { token } = await newCreator();
    expect((await tusCreate(token, 20 * 1024 * MiB + 1, { title: 't' })).status).toBe(413);
  });
});

describe('tus PATCH', () => {
  it('accepts PATCHes of any size (a staged tail across part boundaries) and assembles a byte-identical original', async () => {
    const { token } = await newCreator();
    const file = bytes(2 * PART + 12345, 3);
    const { location, videoId } = await created(token, file.byteLength);
    // 1 MiB, then 6 MiB (completes part 1 from the staged tail), then 3 MiB, then the rest.
    const cuts = [0, 1 * MiB, 7 * MiB, 10 * MiB + 7, file.byteLength];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const res = await tusPatch(location, token, cuts[i]!, file.slice(cuts[i]!, cuts[i + 1]!));
      expect(res.status, `PATCH ${i}`).toBe(204);
      expect(Number(res.headers.get('Upload-Offset'))).toBe(cuts[i + 1]);
      expect(await offsetOf(location, token)).toBe(cuts[i + 1]);
    }
    expect(await original(videoId)).toBe(await sha256(file));
    const video = await (await api(`/v1/videos/${videoId}`, { token })).json<{ status: string }>();
    expect(video.status).toBe('PROCESSING');
    // Staged tails are gone.
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}/` })).objects).toHaveLength(0);
  });

  it('rejects a wrong Content-Type with 415 and an offset mismatch with 409, storing nothing', async () => {
    const { token } = await newCreator();
    const file = bytes(1000);
    const { location } = await created(token, file.byteLength);
    const wrongType = await tusPatch(location, token, 0, file, { 'Content-Type': 'application/octet-stream' });
    expect(wrongType.status).toBe(415);
    const mismatch = await tusPatch(location, token, 10, file.slice(10));
    expect(mismatch.status).toBe(409);
    expect(await offsetOf(location, token)).toBe(0);
  });

  it('rejects malformed Upload-Offset and Upload-Checksum headers with 400, and a PATCH past the length with 413', async () => {
    const { token } = await newCreator();
    const file = bytes(1000);
    const { location } = await created(token, file.byteLength);
    expect((await tusPatch(location, token, 0, file, { 'Upload-Offset': '-1' })).status).toBe(400);
    expect((await tusPatch(location, token, 0, file, { 'Upload-Offset': 'abc' })).status).toBe(400);
    expect((await tusPatch(location, token, 0, file, { 'Upload-Checksum': 'md5 AAAA' })).status).toBe(400);
    expect((await tusPatch(location, token, 0, file, { 'Upload-Checksum': 'sha1' })).status).toBe(400);
    expect((await tusPatch(location, token, 0, bytes(1001))).status).toBe(413);
    expect(await offsetOf(location, token)).toBe(0);
  });

  it('verifies Upload-Checksum (sha1): a mismatch is 460 and stores nothing; the right one is accepted', async () => {
    const { token } = await newCreator();
    const file = bytes(PART + 2 * MiB, 9);
    const { location, videoId } = await created(token, file.byteLength);
    const first = file.slice(0, PART + MiB);
    const bad = await tusPatch(location, token, 0, first, { 'Upload-Checksum': `sha1 ${await sha1Base64(bytes(10))}` });
    expect(bad.status).toBe(460);
    expect(await offsetOf(location, token)).toBe(0);
    const good = await tusPatch(location, token, 0, first, { 'Upload-Checksum': `sha1 ${await sha1Base64(first)}` });
    expect(good.status).toBe(204);
    expect(await offsetOf(location, token)).toBe(first.byteLength);
    const rest = file.slice(first.byteLength);
    expect((await tusPatch(location, token, first.byteLength, rest, { 'Upload-Checksum': `sha1 ${await sha1Base64(rest)}` })).status).toBe(204);
    expect(await original(videoId)).toBe(await sha256(file));
  });

  it('two concurrent PATCHes on one upload: one wins, the other gets 409, the data is intact', async () => {
    const { token } = await newCreator();
    const file = bytes(2 * PART, 11);
    const { location, videoId } = await created(token, file.byteLength);
    // The first PATCH streams slowly so the second one arrives while it holds the upload.
    const slice = file.slice(0, PART);
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (sent >= slice.byteLength) return ctl.close();
        const next = slice.subarray(sent, sent + 256 * 1024);
        sent += next.byteLength;
        await new Promise((r) => setTimeout(r, 20));
        ctl.enqueue(next);
      },
    });
    const winner = api(location, {
      method: 'PATCH',
      token,
      body: slow,
      duplex: 'half',
      headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', 'Content-Length': String(PART) },
    } as RequestInit);
    await new Promise((r) => setTimeout(r, 100));
    const loser = await tusPatch(location, token, 0, slice);
    expect(loser.status).toBe(409);
    expect((await winner).status).toBe(204);
    expect(await offsetOf(location, token)).toBe(PART);
    expect((await tusPatch(location, token, PART, file.slice(PART))).status).toBe(204);
    expect(await original(videoId)).toBe(await sha256(file));
  });

  it('a PATCH whose client vanishes mid-body keeps its whole parts and frees the upload: HEAD + PATCH from the offset resume it', async () => {
    const { token } = await newCreator();
    const file = bytes(3 * PART, 13);
    const { location, videoId } = await created(token, file.byteLength);
    // The whole file in one PATCH (tus-js-client's default); the body breaks 1 MiB into part 2, once part 1 is stored.
    let sent = 0;
    let partStored!: () => void;
    const stored = new Promise<void>((r) => (partStored = r));
    const breaking = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (sent >= PART + MiB) {
          await stored;
          return ctl.error(new Error('client went away'));
        }
        const next = file.subarray(sent, sent + 256 * 1024);
        sent += next.byteLength;
        ctl.enqueue(next);
      },
    });
    const interrupted = api(location, {
      method: 'PATCH',
      token,
      body: breaking,
      duplex: 'half',
      headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', 'Content-Length': String(file.byteLength) },
    } as RequestInit).catch((err: unknown) => err);
    let offset = 0;
    for (let i = 0; i < 200 && offset < PART; i++) {
      await new Promise((r) => setTimeout(r, 25));
      offset = await offsetOf(location, token);
    }
    expect(offset).toBe(PART);
    partStored();
    const answer = await interrupted;
    if (answer instanceof Response) expect(answer.status).toBe(400);
    // What the server acknowledged is durable; the part in flight is not counted.
    expect(await offsetOf(location, token)).toBe(PART);
    // The interrupted PATCH released its lease: a new client resumes at once (not 409 until the lease lapses).
    const resumed = await tusPatch(location, token, PART, file.slice(PART));
    expect(resumed.status).toBe(204);
    expect(Number(resumed.headers.get('Upload-Offset'))).toBe(file.byteLength);
    expect(await original(videoId)).toBe(await sha256(file));
    const video = await (await api(`/v1/videos/${videoId}`, { token })).json<{ status: string }>();
    expect(video.status).toBe('PROCESSING');
  });

  it('DELETE terminates: later requests get 410, the multipart upload and staged bytes are gone', async () => {
    const { token } = await newCreator();
    const file = bytes(PART + 100);
    const { location, videoId } = await created(token, file.byteLength);
    await tusPatch(location, token, 0, file.slice(0, 1000));
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}/` })).objects).toHaveLength(1);
    const del = await api(location, { method: 'DELETE', token, headers: TUS });
    expect(del.status).toBe(204);
    expect((await tusHead(location, token)).status).toBe(410);
    expect((await tusPatch(location, token, 1000, file.slice(1000))).status).toBe(410);
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}/` })).objects).toHaveLength(0);
  });

  it('DELETE of a finished upload is a 204 (tus termination): the upload ends, its video and original stay', async () => {
    const { token } = await newCreator();
    const file = bytes(1000);
    const { location, videoId } = await created(token, file.byteLength);
    expect((await tusPatch(location, token, 0, file)).status).toBe(204);
    const before = await original(videoId);
    expect(before).toBe(await sha256(file));
    const del = await api(location, { method: 'DELETE', token, headers: TUS });
    expect(del.status).toBe(204);
    expect((await tusHead(location, token)).status).toBe(410);
    expect(await original(videoId)).toBe(before);
    const video = await (await api(`/v1/videos/${videoId}`, { token })).json<{ status: string }>();
    expect(video.status).toBe('PROCESSING');
    // Terminating it again: the upload is gone.
    expect((await api(location, { method: 'DELETE', token, headers: TUS })).status).toBe(410);
  });

  it('an unknown upload is 404; another creator is 403', async () => {
    const owner = await newCreator('owner');
    const other = await newCreator('other');
    expect((await tusHead('/v1/uploads/vid_0000000000000000-up_0000000000000000', owner.token)).status).toBe(404);
    expect((await tusHead('/v1/uploads/not-an-id', owner.token)).status).toBe(404);
    const { location } = await created(owner.token, 100);
    expect((await tusHead(location, other.token)).status).toBe(403);
    expect((await tusPatch(location, other.token, 0, bytes(100))).status).toBe(403);
  });
});

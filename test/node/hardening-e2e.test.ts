/**
 * What an attacker's probes found, each checked through the real local stack (wrangler dev with the production
 * address rules, the transcoder Node process, ffmpeg), on one real 12 s video:
 * - every path that accepts bytes holds to its limit: a direct upload URL's maxSizeBytes (a creation that defers
 *   its length and carries more), the platform's maximum (the creator's own tus, a concatenation, the chunk API);
 * - frames at any time snap to the storyboard grid, and frames cut on request spend a per-address allowance while
 *   cached ones stay free;
 * - detailed stats are the creator's; security headers on every kind of answer, static assets included;
 * - the text rule, the playback ttl cap, client addresses in any spelling, and public IPv6 webhook receivers.
 * Small limits come from vars so every loop is short.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackFetch, startStack, type Stack } from '../helpers/local-stack';
import { listObjects, makeSource, uploadOriginal, waitForStatus } from '../helpers/transcoding-media';
import { expectExpiry } from '../helpers/token-expiry';

const MiB = 1024 * 1024;
const MAX_FILE = 4 * MiB;
const FRAME_CUTS = 4;
const SESSIONS = 5;
const TUS = { 'Tus-Resumable': '1.0.0' };
const OFFSET = { 'Content-Type': 'application/offset+octet-stream' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

let stack: Stack;
let workDir: string;
let videoId: string;
let nextAddress = 0;
/** A client address no other test used (203.0.113.x): each test spends its own allowances. */
const freshAddress = () => `203.0.113.${++nextAddress}`;
const auth = () => ({ Authorization: `Bearer ${stack.token}` });

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

/** The signed base `/v/{id}/t/{token}/` for a viewer at `address`. */
async function signedBase(address: string): Promise<string> {
  const res = await fetch(`${stack.origin}/v1/videos/${videoId}/playback`, { headers: { 'CF-Connecting-IP': address } });
  expect(res.status, await res.clone().text()).toBe(200);
  const { url } = (await res.json()) as { url: string };
  return url.slice(0, url.lastIndexOf('/') + 1);
}

async function stored(prefix: string): Promise<string[]> {
  return (await listObjects(stack, prefix)).map((o) => o.key);
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'hardening-e2e-'));
  stack = await startStack({
    transcoder: true,
    vars: { UPLOAD_MAX_FILE_SIZE: String(MAX_FILE), FRAMES_CUTS_PER_ADDRESS: String(FRAME_CUTS), VIEWS_SESSIONS_PER_ADDRESS: String(SESSIONS) },
  });
  const source = await makeSource(path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 12 });
  videoId = await uploadOriginal(stack, 'hardening e2e', source);
  await waitForStatus(stack, videoId, ['READY']);
}, 400_000);

afterAll(async () => {
  await stack?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('limits that held only in part', () => {
  it('a direct upload URL stores nothing past its maxSizeBytes, whatever the creation defers', async () => {
    for (const [limit, body] of [
      [1000, 5000],
      [MiB, 3 * MiB],
    ] as const) {
      const minted = await fetch(`${stack.origin}/v1/direct_uploads`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ maxSizeBytes: limit }) });
      const du = (await minted.json()) as { uploadURL: string; videoId: string };
      const res = await stackFetch(du.uploadURL, { method: 'POST', headers: { ...TUS, ...OFFSET, 'Upload-Defer-Length': '1' }, body: new Uint8Array(body) });
      expect(await errorOf(res), `${body} bytes against ${limit}`).toMatchObject({ status: 413, code: 'payload_too_large', message: expect.stringContaining(`maxSizeBytes (${limit})`) });
      expect(await stored(`uploads/${du.videoId}/`)).toEqual([]);
      expect(await stored(`originals/${du.videoId}/`)).toEqual([]);
      // The URL is still unused: a creation within the limit gets it, from offset 0.
      const fine = await fetch(du.uploadURL, { method: 'POST', headers: { ...TUS, 'Upload-Length': String(limit) } });
      expect(fine.status).toBe(201);
      expect(fine.headers.get('upload-offset')).toBe('0');
      expect((await fetch(du.uploadURL, { method: 'OPTIONS' })).headers.get('tus-max-size')).toBe(String(limit));
    }
  });

  it("the creator's own tus endpoint and the chunk API hold the platform's maximum", async () => {
    const meta = `title ${b64('too big')}`;
    // A deferred-length creation carrying more than the maximum.
    const deferred = await stackFetch(`${stack.origin}/v1/uploads`, { method: 'POST', headers: { ...auth(), ...TUS, ...OFFSET, 'Upload-Defer-Length': '1', 'Upload-Metadata': meta }, body: new Uint8Array(MAX_FILE + 1) });
    expect(await errorOf(deferred)).toMatchObject({ status: 413, message: expect.stringContaining(`the maximum of ${MAX_FILE} bytes`) });
    // Two partial uploads each under the maximum, concatenated over it.
    const partials: string[] = [];
    for (let i = 0; i < 2; i++) {
      const part = await fetch(`${stack.origin}/v1/uploads`, {
        method: 'POST',
        headers: { ...auth(), ...TUS, ...OFFSET, 'Upload-Concat': 'partial', 'Upload-Length': String(3 * MiB) },
        body: new Uint8Array(3 * MiB),
      });
      expect(part.status, await part.clone().text()).toBe(201);
      partials.push(part.headers.get('location')!);
    }
    const final = await fetch(`${stack.origin}/v1/uploads`, { method: 'POST', headers: { ...auth(), ...TUS, 'Upload-Concat': `final;${partials.join(' ')}`, 'Upload-Metadata': meta } });
    expect(await errorOf(final)).toMatchObject({ status: 413, message: expect.stringContaining('the concatenated upload') });
    // The chunk API: the declared size, and a chunk longer than its slot.
    const created = await fetch(`${stack.origin}/v1/videos`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'chunks' }) });
    const { id } = (await created.json()) as { id: string };
    const initiate = (fileSize: number) => fetch(`${stack.origin}/v1/videos/${id}/upload`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ fileSize }) });
    expect((await initiate(MAX_FILE + 1)).status).toBe(413);
    expect((await initiate(1000)).status).toBe(201);
    expect((await stackFetch(`${stack.origin}/v1/videos/${id}/upload/chunks/0`, { method: 'PUT', headers: auth(), body: new Uint8Array(1001) })).status).toBe(413);
    expect(await stored(`originals/${id}/`)).toEqual([]);
  });

  it('frames at any time: one cut per grid point, a per-address allowance for cuts, cached frames free', async () => {
    const a = freshAddress();
    const base = await signedBase(a);
    const frame = (time: number, width: number, address: string) => fetch(`${base}thumbnails/at.jpg?time=${time}&width=${width}`, { headers: { 'CF-Connecting-IP': address } });
    const hash = async (res: Response) => createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');

    // 1 s and 2.9 s are the same grid point (2 s), at the same canonical width: one cut, then a HIT.
    const first = await frame(1, 320, a);
    expect(first.status, await first.clone().text()).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const same = await frame(2.9, 300, a);
    expect(same.headers.get('x-cache')).toBe('HIT');
    expect(await hash(same)).toBe(await hash(first));
    // Three more grid points: the allowance of four cuts is spent; the fifth is refused, with when to come back.
    for (const time of [4, 6, 8]) expect((await frame(time, 320, a)).status, `time ${time}`).toBe(200);
    const refused = await frame(10, 320, a);
    expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'rate_limited', message: expect.stringContaining('new frames') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // What is cut stays free for everyone; another address still has its own allowance.
    expect((await frame(5.5, 320, a)).status).toBe(200);
    expect((await frame(10, 320, freshAddress())).status).toBe(200);
    const frames = (await stored(`videos/${videoId}/`)).filter((k) => k.includes('/frames/'));
    expect(frames).toHaveLength(FRAME_CUTS + 1);
  });
});

describe('what strangers can see', () => {
  it("detailed stats are the creator's: 404 to anyone else", async () => {
    const stranger = await stack.newCreator('stranger');
    expect((await fetch(`${stack.origin}/v1/videos/${videoId}/stats`)).status).toBe(404);
    expect((await fetch(`${stack.origin}/v1/videos/${videoId}/stats`, { headers: { Authorization: `Bearer ${stranger.token}` } })).status).toBe(404);
    const own = await fetch(`${stack.origin}/v1/videos/${videoId}/stats`, { headers: auth() });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ views: expect.any(Number), uniqueViewers: expect.any(Number), hourly: expect.any(Array) });
    // The public count stays where the watch page reads it.
    expect(await (await fetch(`${stack.origin}/v1/videos/${videoId}`)).json()).toMatchObject({ viewCount: expect.any(Number) });
  });

  it('every kind of answer carries nosniff and refuses framing; pages and /reference have a CSP with frame-ancestors', async () => {
    const caption = await fetch(`${stack.origin}/v1/videos/${videoId}/captions/en?label=English`, { method: 'PUT', headers: auth(), body: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b>hello</b>\n' });
    expect(caption.status).toBe(201);
    const base = await signedBase(freshAddress());
    const answers: [string, string, RequestInit?][] = [
      ['API JSON', `${stack.origin}/v1/videos`, { headers: auth() }],
      ['API error', `${stack.origin}/v1/videos/vid_nope00000000000`],
      ['unknown route', `${stack.origin}/nothing-here`],
      ['health', `${stack.origin}/healthz`],
      ['OpenAPI', `${stack.origin}/openapi.json`],
      ['master playlist', `${base}master.m3u8`],
      ['media playlist', `${base}240p/playlist.m3u8`],
      ['segment', `${base}240p/segment_0000.ts`],
      ['caption WebVTT', `${base}captions/en.vtt`],
      ['storyboard', `${base}thumbnails/storyboard.vtt`],
      ['tus discovery', `${stack.origin}/v1/uploads`, { method: 'OPTIONS' }],
      ['static stylesheet', `${stack.origin}/assets/styles.css`],
      ['static script', `${stack.origin}/assets/library.js`],
    ];
    for (const [what, url, init] of answers) {
      const res = await fetch(url, init);
      await res.arrayBuffer();
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), what).toBe('DENY');
    }
    for (const page of ['/signin', '/upload', '/library', `/watch/${videoId}`, `/stats/${videoId}`, '/reference']) {
      const res = await fetch(`${stack.origin}${page}`);
      expect(res.headers.get('content-type'), page).toContain('text/html');
      expect(res.headers.get('content-security-policy'), page).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), page).toBe('DENY');
    }
  });
});

describe('input that should not be accepted, and what was over-blocked', () => {
  it('the text rule holds for titles, tus metadata and caption labels', async () => {
    const created = await fetch(`${stack.origin}/v1/videos`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'abc\u202Egnp.exe' }) });
    expect(await errorOf(created)).toMatchObject({ status: 400, message: expect.stringContaining('U+202E') });
    const tus = await fetch(`${stack.origin}/v1/uploads`, { method: 'POST', headers: { ...auth(), ...TUS, 'Upload-Length': '10', 'Upload-Metadata': `title ${b64('\u200B\u200B')}` } });
    expect(await errorOf(tus)).toMatchObject({ status: 400, message: expect.stringContaining('visible character') });
    for (const label of ['Line\u2028break', 'Next\u0085line']) {
      const res = await fetch(`${stack.origin}/v1/videos/${videoId}/captions/fr?label=${encodeURIComponent(label)}`, { method: 'PUT', headers: auth(), body: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nsalut\n' });
      expect(res.status, label).toBe(400);
    }
  });

  it('a huge ?ttl= is capped at 24 h, as documented', async () => {
    const before = Date.now();
    const res = await fetch(`${stack.origin}/v1/videos/${videoId}/playback?ttl=999999999999`, { headers: { 'CF-Connecting-IP': freshAddress() } });
    const after = Date.now();
    expect(res.status).toBe(200);
    expectExpiry(Date.parse(((await res.json()) as { expiresAt: string }).expiresAt), before, after, 24 * 3600);
  });

  it('one client address in any spelling shares one allowance of playback sessions', async () => {
    const spellings = ['198.51.100.7', '198.51.100.007', '198.051.100.7', '::ffff:198.51.100.7', '198.51.100.07'];
    for (const address of spellings) expect((await fetch(`${stack.origin}/v1/videos/${videoId}/playback`, { headers: { 'CF-Connecting-IP': address } })).status, address).toBe(200);
    const past = await fetch(`${stack.origin}/v1/videos/${videoId}/playback`, { headers: { 'CF-Connecting-IP': '198.051.100.007' } });
    expect(await errorOf(past)).toMatchObject({ status: 429, message: expect.stringContaining('playback sessions') });
    expect((await fetch(`${stack.origin}/v1/videos/${videoId}/playback`, { headers: { 'CF-Connecting-IP': '198.51.100.8' } })).status).toBe(200);
    expect(spellings).toHaveLength(SESSIONS);
  });

  it('webhooks accept a public IPv6 literal and still refuse private ones (production address rules)', async () => {
    const register = (url: string) =>
      fetch(`${stack.origin}/v1/webhooks`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ url, events: ['video.ready'] }) });
    const ok = await register('https://[2606:4700::1111]/hook');
    expect(ok.status, await ok.clone().text()).toBe(201);
    expect(((await ok.json()) as { url: string }).url).toBe('https://[2606:4700::1111]/hook');
    expect(await errorOf(await register('http://[::1]/hook'))).toMatchObject({ status: 400, message: expect.stringContaining('loopback') });
    expect(await errorOf(await register('http://[fd12::1]/hook'))).toMatchObject({ status: 400, message: expect.stringContaining('unique local') });
  });
});

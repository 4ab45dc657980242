import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api } from './helpers';
import { playableVideo, setStatus, signedBase, signedMasterPath } from './playback-fixtures';
import { signToken, verifyToken } from '../../workers/playback/signing';
import { base64UrlEncode, keyring } from '../../workers/shared/keyring';
import { setRuntime } from '../../workers/shared/runtime';
import { defaults, loadConfig } from '../../workers/shared/config';
import { newCreator, newVideo } from './helpers';
import { expectExpiry } from '../helpers/token-expiry';

type ErrorBody = { error: { code: string; message: string } };

const nowSec = () => Math.floor(Date.now() / 1000);

async function tokenFor(videoId: string, opts: { kid?: string; keys?: Record<string, string>; nbf?: number; ttl?: number } = {}): Promise<string> {
  const keysJson = opts.keys ? JSON.stringify(opts.keys) : env.SIGNING_KEYS;
  const ring = keyring(loadConfig({ SIGNING_KEYS: keysJson, SIGNING_KEY_ID: opts.kid ?? env.SIGNING_KEY_ID }).secrets);
  const signed = await signToken(ring, videoId, opts.nbf ?? nowSec(), opts.ttl ?? 600);
  if (!signed) throw new Error('no signing key');
  return signed.token;
}

async function expect403(path: string, code: string): Promise<void> {
  const res = await api(path);
  expect(res.status).toBe(403);
  expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
  const body = await res.json<ErrorBody>();
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
}

describe('GET /v1/videos/:id/playback', () => {
  it('returns a signed master URL expiring after the default TTL', async () => {
    const { id } = await playableVideo();
    const before = Date.now();
    const res = await api(`/v1/videos/${id}/playback`);
    const after = Date.now();
    expect(res.status).toBe(200);
    const body = await res.json<{ url: string; expiresAt: string; status: string; renditions: string[] }>();
    expect(body.url).toMatch(new RegExp(`^${env.PUBLIC_ORIGIN}/v/${id}/t/k1\\.\\d+\\.\\d+\\.[A-Za-z0-9_-]{43}/master\\.m3u8$`));
    const expires = Date.parse(body.expiresAt);
    expectExpiry(expires, before, after, defaults.playback.signedUrlTtlSec);
    expect(body).toMatchObject({ status: 'READY', renditions: ['240p', '360p'] });
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    // The URL works as is.
    expect((await api(new URL(body.url).pathname)).status).toBe(200);
  });

  it('honours ?ttl= and caps it at 24 h', async () => {
    const { id } = await playableVideo();
    let before = Date.now();
    const short = await (await api(`/v1/videos/${id}/playback?ttl=60`)).json<{ expiresAt: string }>();
    expectExpiry(Date.parse(short.expiresAt), before, Date.now(), 60);
    // However large (the docs promise a cap, not an error): 9, 12 and 40 digits all get 24 h.
    for (const ttl of ['999999999', '999999999999', '9'.repeat(40)]) {
      before = Date.now();
      const res = await api(`/v1/videos/${id}/playback?ttl=${ttl}`);
      const after = Date.now();
      expect(res.status, ttl).toBe(200);
      const capped = await res.json<{ expiresAt: string }>();
      expectExpiry(Date.parse(capped.expiresAt), before, after, 24 * 3600);
    }
  });

  it.each([['0'], ['-5'], ['abc'], ['1.5'], ['']])('rejects ttl=%s with 400', async (ttl) => {
    const { id } = await playableVideo();
    const res = await api(`/v1/videos/${id}/playback?ttl=${ttl}`);
    expect(res.status).toBe(400);
    expect((await res.json<ErrorBody>()).error.code).toBe('bad_request');
  });

  it('rejects a duplicated ttl parameter, and ignores the order of other parameters', async () => {
    const { id } = await playableVideo();
    expect((await api(`/v1/videos/${id}/playback?ttl=60&ttl=86400`)).status).toBe(400);
    expect((await api(`/v1/videos/${id}/playback?foo=1&ttl=60`)).status).toBe(200);
    expect((await api(`/v1/videos/${id}/playback?ttl=60&foo=1`)).status).toBe(200);
  });

  it('is 409 while uploading, while processing with no finished rung, and after failure; 404 when deleted or unknown', async () => {
    const { token } = await newCreator();
    const { id: uploading } = await newVideo(token);
    const res = await api(`/v1/videos/${uploading}/playback`);
    expect(res.status).toBe(409);
    expect((await res.json<ErrorBody>()).error.message).toMatch(/uploading/);

    await setStatus(uploading, 'PROCESSING');
    const processing = await api(`/v1/videos/${uploading}/playback`);
    expect(processing.status).toBe(409);
    expect((await processing.json<ErrorBody>()).error.message).toMatch(/no rendition is finished/);

    const { id: failed } = await playableVideo({ status: 'FAILED' });
    const failedRes = await api(`/v1/videos/${failed}/playback`);
    expect(failedRes.status).toBe(409);
    expect((await failedRes.json<ErrorBody>()).error.message).toMatch(/failed/);

    const { id: deleted } = await playableVideo({ status: 'DELETED' });
    expect((await api(`/v1/videos/${deleted}/playback`)).status).toBe(404);
    expect((await api(`/v1/videos/vid_doesnotexist00000/playback`)).status).toBe(404);
    expect((await api(`/v1/videos/..%2F..%2Fetc/playback`)).status).toBe(404);
  });

  it('plays a PROCESSING video once one rung is finished', async () => {
    const { id } = await playableVideo({ status: 'PROCESSING', rungs: [{ name: '240p', height: 240, durations: [2] }] });
    const res = await api(`/v1/videos/${id}/playback`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'PROCESSING', renditions: ['240p'] });
  });

  it("needs the creator's token for a private video", async () => {
    const { id, token } = await playableVideo({ visibility: 'private' });
    expect((await api(`/v1/videos/${id}/playback`)).status).toBe(404);
    const other = await newCreator('other');
    expect((await api(`/v1/videos/${id}/playback`, { token: other.token })).status).toBe(404);
    expect((await api(`/v1/videos/${id}/playback`, { token: 'evt_bogus' })).status).toBe(401);
    const own = await api(`/v1/videos/${id}/playback`, { token });
    expect(own.status).toBe(200);
    // The signed URL itself is the grant: no token needed to play it.
    const { url } = await own.json<{ url: string }>();
    expect((await api(new URL(url).pathname)).status).toBe(200);
  });

  it('answers CORS preflight for browser players', async () => {
    const res = await api('/v1/videos/vid_x/playback', {
      method: 'OPTIONS',
      headers: { Origin: 'http://player.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('authorization');
  });
});

describe('signed playback URLs', () => {
  it('rejects unsigned canonical paths with 403', async () => {
    const { id } = await playableVideo();
    await expect403(`/v/${id}/master.m3u8`, 'signature_required');
    await expect403(`/v/${id}/240p/playlist.m3u8`, 'signature_required');
    await expect403(`/v/${id}/240p/segment_0000.ts`, 'signature_required');
    // A signature in the query is not how these URLs work: still unsigned.
    const token = await tokenFor(id);
    await expect403(`/v/${id}/240p/segment_0000.ts?token=${token}`, 'signature_required');
  });

  it('rejects a tampered signature', async () => {
    const { id } = await playableVideo();
    const token = await tokenFor(id);
    const sig = token.slice(-43);
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    await expect403(`/v/${id}/t/${token.slice(0, -43)}${flipped}/master.m3u8`, 'signature_bad_signature');
  });

  it("rejects video A's signature on video B", async () => {
    const a = await playableVideo();
    const b = await playableVideo();
    const tokenA = await tokenFor(a.id);
    expect((await api(`/v/${a.id}/t/${tokenA}/master.m3u8`)).status).toBe(200);
    await expect403(`/v/${b.id}/t/${tokenA}/master.m3u8`, 'signature_bad_signature');
    await expect403(`/v/${b.id}/t/${tokenA}/240p/segment_0000.ts`, 'signature_bad_signature');
  });

  it('rejects an expiry pushed later with the old signature', async () => {
    const { id } = await playableVideo();
    const token = await tokenFor(id, { ttl: 60 });
    const [kid, nbf, exp, sig] = token.split('.') as [string, string, string, string];
    const extended = [kid, nbf, String(Number(exp) + 86400), sig].join('.');
    await expect403(`/v/${id}/t/${extended}/master.m3u8`, 'signature_bad_signature');
    const earlierStart = [kid, String(Number(nbf) - 1000), exp, sig].join('.');
    await expect403(`/v/${id}/t/${earlierStart}/master.m3u8`, 'signature_bad_signature');
  });

  it('accepts exactly one spelling of a token: zero-padded nbf or exp is malformed', async () => {
    const { id } = await playableVideo();
    const token = await tokenFor(id);
    const [kid, nbf, exp, sig] = token.split('.') as [string, string, string, string];
    expect((await api(`/v/${id}/t/${token}/master.m3u8`)).status).toBe(200);
    for (const respelled of [`${kid}.0${nbf}.${exp}.${sig}`, `${kid}.${nbf}.0${exp}.${sig}`, `${kid}.00${nbf}.00${exp}.${sig}`]) {
      await expect403(`/v/${id}/t/${respelled}/master.m3u8`, 'signature_malformed');
    }
    // In-process too, before any MAC is computed.
    const ring = keyring(loadConfig(env).secrets);
    expect(await verifyToken(ring, `${kid}.0${nbf}.${exp}.${sig}`, id, Number(nbf), 30)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects expired tokens, tolerating the configured clock skew', async () => {
    const { id } = await playableVideo();
    const issued = nowSec() - 1000;
    const token = await tokenFor(id, { nbf: issued, ttl: 100 }); // expired 900 s ago
    await expect403(`/v/${id}/t/${token}/master.m3u8`, 'signature_expired');

    const skew = defaults.playback.clockSkewSec;
    const edge = await tokenFor(id, { nbf: nowSec() - 100, ttl: 100 - (skew - 2) }); // expired skew-2 s ago
    expect((await api(`/v/${id}/t/${edge}/master.m3u8`)).status).toBe(200);
    const past = await tokenFor(id, { nbf: nowSec() - 100, ttl: 100 - (skew + 3) });
    await expect403(`/v/${id}/t/${past}/master.m3u8`, 'signature_expired');
  });

  it('tolerates a signer clock a few seconds ahead (nbf), not far ahead', async () => {
    const { id } = await playableVideo();
    const skew = defaults.playback.clockSkewSec;
    const slightlyAhead = await tokenFor(id, { nbf: nowSec() + skew - 2 });
    expect((await api(`/v/${id}/t/${slightlyAhead}/master.m3u8`)).status).toBe(200);
    const farAhead = await tokenFor(id, { nbf: nowSec() + 120 });
    await expect403(`/v/${id}/t/${farAhead}/master.m3u8`, 'signature_not_yet_valid');
  });

  it('uses the injectable clock (expiry is judged by runtime().now())', async () => {
    const { id } = await playableVideo();
    const path = await signedMasterPath(id, undefined, '?ttl=60');
    expect((await api(path)).status).toBe(200);
    const restore = setRuntime({ now: () => Date.now() + 3600_000 });
    try {
      await expect403(path, 'signature_expired');
    } finally {
      restore();
    }
  });

  it.each([
    ['garbage', 'nonsense'],
    ['a missing part', 'k1.1.2'],
    ['a short signature', 'k1.1.99999999999.abc'],
    ['a non-canonical base64 signature', `k1.1.99999999999.${'A'.repeat(42)}B`],
  ])('rejects %s as malformed', async (_what, token) => {
    const { id } = await playableVideo();
    await expect403(`/v/${id}/t/${token}/master.m3u8`, 'signature_malformed');
  });

  it('rotates keys: the previous kid still verifies, a retired or unknown kid is rejected', async () => {
    const { id } = await playableVideo();
    // k0 is the previous key, still listed in SIGNING_KEYS (test config): tokens it signed keep working.
    const old = await tokenFor(id, { kid: 'k0' });
    expect(old.startsWith('k0.')).toBe(true);
    expect((await api(`/v/${id}/t/${old}/master.m3u8`)).status).toBe(200);
    // New tokens are signed with the current key.
    expect((await signedMasterPath(id)).includes('/t/k1.')).toBe(true);
    // A key removed from SIGNING_KEYS (retired) is unknown to the Worker.
    const retired = await tokenFor(id, { kid: 'k9', keys: { k9: base64UrlEncode(new TextEncoder().encode('retired-key-material-0123456789')) } });
    await expect403(`/v/${id}/t/${retired}/master.m3u8`, 'signature_unknown_key');
  });

  it('verifies in-process: a key ring with a key retired no longer accepts its tokens', async () => {
    const both = { k0: 'b2xkLXRlc3Qtc2lnbmluZy1rZXktcmV0aXJpbmctc29vbg', k1: 'dGVzdC1zaWduaW5nLWtleS1vbmUtMzItYnl0ZXMtbG9uZw' };
    const before = keyring(loadConfig({ SIGNING_KEYS: JSON.stringify(both), SIGNING_KEY_ID: 'k0' }).secrets);
    const signed = (await signToken(before, 'vid_a', nowSec(), 60))!;
    expect((await verifyToken(before, signed.token, 'vid_a', nowSec(), 5)).ok).toBe(true);
    const after = keyring(loadConfig({ SIGNING_KEYS: JSON.stringify({ k1: both.k1 }), SIGNING_KEY_ID: 'k1' }).secrets);
    expect(await verifyToken(after, signed.token, 'vid_a', nowSec(), 5)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('ignores duplicated and reordered query parameters (the token is in the path)', async () => {
    const { id } = await playableVideo();
    const base = signedBase(await signedMasterPath(id));
    const plain = await api(`${base}240p/segment_0000.ts`);
    const plainBytes = new Uint8Array(await plain.arrayBuffer());
    for (const q of ['?exp=1&exp=2', '?sig=x&kid=k0', '?kid=k0&sig=x', '?a=1&a=1&b=2']) {
      const res = await api(`${base}240p/segment_0000.ts${q}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('X-Cache')).toBe('HIT'); // one cache entry, whatever the query
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(plainBytes);
    }
  });
});

describe('bad paths', () => {
  it.each([
    ['a traversal in the id', (b: string, id: string) => b.replace(`/v/${id}/`, `/v/..%2F${id}/`)],
    ['an encoded slash in the id', (b: string, id: string) => b.replace(`/v/${id}/`, `/v/${id}%2F240p/`)],
    ['an encoded dot-dot rendition', (b: string) => `${b}%2e%2e/segment_0000.ts`],
    ['an encoded slash in the rendition', (b: string) => `${b}240p%2F..%2F360p/segment_0000.ts`],
    ['a backslash traversal', (b: string) => `${b}..%5C240p/segment_0000.ts`],
    ['a rendition not in the ladder', (b: string) => `${b}999p/segment_0000.ts`],
    ['a non-canonical segment name', (b: string) => `${b}240p/segment_00000.ts`],
    ['a non-segment file', (b: string) => `${b}240p/secret.txt`],
    ['an unknown thumbnail', (b: string) => `${b}thumbnails/../../x.jpg`],
  ])('rejects %s with 404 before touching storage', async (_what, mutate) => {
    const { id } = await playableVideo();
    const base = signedBase(await signedMasterPath(id));
    const res = await api(mutate(base, id));
    expect(res.status).toBe(404);
    expect((await res.json<ErrorBody>()).error.code).toBe('not_found');
  });

  it('rejects a rendition of the ladder that this video does not have, naming the ones it has', async () => {
    const { id } = await playableVideo();
    const base = signedBase(await signedMasterPath(id));
    for (const path of [`${base}1080p/playlist.m3u8`, `${base}1080p/segment_0000.ts`]) {
      const res = await api(path);
      expect(res.status).toBe(404);
      expect((await res.json<ErrorBody>()).error.message).toMatch(/1080p does not exist.*240p, 360p/);
    }
  });

  it('rejects a segment number past the end', async () => {
    const { id } = await playableVideo();
    const base = signedBase(await signedMasterPath(id));
    expect((await api(`${base}240p/segment_0002.ts`)).status).toBe(200);
    const res = await api(`${base}240p/segment_0003.ts`);
    expect(res.status).toBe(404);
    expect((await res.json<ErrorBody>()).error.message).toMatch(/past the end of 240p \(3 segments\)/);
    expect((await api(`${base}240p/segment_9999.ts`)).status).toBe(404);
  });

  it('refuses signed requests for FAILED, DELETED and still-uploading videos', async () => {
    const failed = await playableVideo({ status: 'FAILED' });
    const ft = await tokenFor(failed.id);
    const failedRes = await api(`/v/${failed.id}/t/${ft}/240p/segment_0000.ts`);
    expect(failedRes.status).toBe(409);

    const deleted = await playableVideo({ status: 'DELETED' });
    const dt = await tokenFor(deleted.id);
    expect((await api(`/v/${deleted.id}/t/${dt}/master.m3u8`)).status).toBe(404);

    const { token } = await newCreator();
    const { id: uploading } = await newVideo(token);
    const ut = await tokenFor(uploading);
    const upRes = await api(`/v/${uploading}/t/${ut}/master.m3u8`);
    expect(upRes.status).toBe(409);
    expect((await upRes.json<ErrorBody>()).error.message).toMatch(/uploading/);
  });
});

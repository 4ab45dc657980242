/**
 * Signing keys and the tokens an app signs with them, through the Worker: an app signs with `jose` exactly as the
 * docs show (docs/playback.md), plays master, media playlist and segment; every refusal has its own 403; keys are
 * the creator's; a revoked key's tokens stop (at once here, within the key cache's lifetime elsewhere); access
 * rules by country (request.cf, given through the request's `cf`) and address; allowed origins of the token and of
 * the video; unsigned playback of public videos; downloads only with `downloadable`.
 */
import { env } from 'cloudflare:workers';
import { importJWK, importPKCS8, SignJWT, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/shared/config';
import { openDb } from '../../workers/shared/db';
import { clientKey, takeSessionAllowance } from '../../workers/views/allowances';
import { setRuntime } from '../../workers/shared/runtime';
import { revokeSigningKey } from '../../workers/signing-keys/keys';
import { api, BASE, newCreator } from './helpers';
import { playableVideo, signedBase, signedMasterPath } from './playback-fixtures';
import { exports } from 'cloudflare:workers';

interface NewKey {
  id: string;
  alg: 'ES256' | 'RS256';
  jwk: JWK;
  pem: string;
  createdAt: string;
}

type ErrorBody = { error: { code: string; message: string } };

const nowSec = () => Math.floor(Date.now() / 1000);
let restoreClock: (() => void) | null = null;
afterEach(() => {
  restoreClock?.();
  restoreClock = null;
});

async function newKey(token: string, alg?: 'ES256' | 'RS256'): Promise<NewKey> {
  const res = await api('/v1/signing_keys', { method: 'POST', token, json: alg ? { alg } : {} });
  expect(res.status).toBe(201);
  return res.json<NewKey>();
}

/** What an app does: sign a token for a video with its private key (here from the JWK; the PEM works the same). */
async function sign(key: NewKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const privateKey = await importJWK(key.jwk, key.alg);
  const { exp = nowSec() + 600, ...rest } = claims;
  const jwt = new SignJWT(rest).setProtectedHeader({ alg: key.alg, kid: key.id, ...header });
  if (exp !== null) jwt.setExpirationTime(exp as number);
  return jwt.sign(privateKey);
}

const fetchPath = (path: string, init: RequestInit & { cf?: Record<string, unknown> } = {}) => exports.default.fetch(new Request(`${BASE}${path}`, init));

async function expect403(path: string, code: string, init: RequestInit & { cf?: Record<string, unknown> } = {}): Promise<void> {
  const res = await fetchPath(path, init);
  expect(res.status, `${path} → ${code}`).toBe(403);
  expect((await res.json<ErrorBody>()).error.code).toBe(code);
}

describe('signing keys', () => {
  it('creates ES256 (default) and RS256 keys, answers the private key once, lists ids and dates only', async () => {
    const { token } = await newCreator();
    const es = await newKey(token);
    expect(es).toMatchObject({ id: expect.stringMatching(/^key_[0-9a-z]{16}$/), alg: 'ES256', createdAt: expect.any(String) });
    expect(es.jwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: es.id, alg: 'ES256', d: expect.any(String) });
    expect(es.pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
    await importPKCS8(es.pem, 'ES256');
    const rs = await newKey(token, 'RS256');
    expect(rs.jwk).toMatchObject({ kty: 'RSA', kid: rs.id, d: expect.any(String) });
    const list = await (await api('/v1/signing_keys', { token })).json<{ keys: unknown[] }>();
    expect(list.keys).toEqual([
      { id: rs.id, alg: 'RS256', createdAt: rs.createdAt },
      { id: es.id, alg: 'ES256', createdAt: es.createdAt },
    ]);
    // Only the public half is stored.
    const stored = await env.DB.prepare('SELECT public_jwk FROM signing_keys WHERE id = ?').bind(es.id).first<{ public_jwk: string }>();
    expect(JSON.parse(stored!.public_jwk)).not.toHaveProperty('d');
  });

  it('refuses bad input and strangers', async () => {
    const { token } = await newCreator();
    expect((await api('/v1/signing_keys', { method: 'POST', json: {} })).status).toBe(401);
    const bad = await api('/v1/signing_keys', { method: 'POST', token, json: { alg: 'HS256' } });
    expect(bad.status).toBe(400);
    expect((await bad.json<ErrorBody>()).error.code).toBe('bad_request');
    expect((await api('/v1/signing_keys', { method: 'POST', token, json: { alg: 'ES256', extra: 1 } })).status).toBe(400);
    expect((await api('/v1/signing_keys/not-a-key', { method: 'DELETE', token })).status).toBe(400);
    const other = await newCreator();
    const key = await newKey(other.token);
    expect((await api(`/v1/signing_keys/${key.id}`, { method: 'DELETE', token })).status).toBe(404);
  });
});

describe('tokens signed by an app', () => {
  it('play master, media playlist and segment (ES256 and RS256), and the master carries a playback session', async () => {
    const { id, token } = await playableVideo();
    for (const alg of ['ES256', 'RS256'] as const) {
      const key = await newKey(token, alg);
      const jwt = await sign(key, { sub: id });
      const master = await fetchPath(`/v/${id}/t/${jwt}/master.m3u8`);
      expect(master.status).toBe(200);
      expect(await master.text()).toContain('240p/playlist.m3u8');
      expect(master.headers.get('Playback-Session')).toMatch(/^\w+\.[\w-]{22}\.\d+\.[\w-]{43}$/);
      expect(master.headers.get('Access-Control-Expose-Headers')).toContain('Playback-Session');
      expect((await fetchPath(`/v/${id}/t/${jwt}/240p/playlist.m3u8`)).status).toBe(200);
      const segment = await fetchPath(`/v/${id}/t/${jwt}/240p/segment_0000.ts`);
      expect(segment.status).toBe(200);
      expect(segment.headers.get('Content-Type')).toBe('video/mp2t');
    }
  });

  it('refuses each forged, stale or foreign token with its own code', async () => {
    const { id, token } = await playableVideo();
    const other = await playableVideo();
    const key = await newKey(token);
    const path = (jwt: string) => `/v/${id}/t/${jwt}/master.m3u8`;
    const good = await sign(key, { sub: id });
    const [h, p, s] = good.split('.') as [string, string, string];
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

    // alg none: no signature at all.
    await expect403(path(`${b64({ alg: 'none', kid: key.id })}.${p}.AA`), 'signature_bad_signature');
    // HS256 keyed with the public key (the classic confusion attack).
    const publicJwk = { ...key.jwk };
    delete publicJwk.d;
    const hmacKey = new TextEncoder().encode(JSON.stringify(publicJwk));
    const confused = await new SignJWT({ sub: id }).setProtectedHeader({ alg: 'HS256', kid: key.id }).setExpirationTime(nowSec() + 600).sign(hmacKey);
    await expect403(path(confused), 'signature_bad_signature');
    // No kid, an unknown kid.
    await expect403(path(await sign(key, { sub: id }, { kid: undefined })), 'signature_malformed');
    await expect403(path(await sign(key, { sub: id }, { kid: 'key_0000000000000000' })), 'signature_unknown_key');
    // Another video's id in sub; a tampered payload; a padded (second) spelling of the same signature.
    await expect403(path(await sign(key, { sub: other.id })), 'signature_wrong_video');
    await expect403(path(`${h}.${b64({ sub: id, exp: nowSec() + 99_999 })}.${s}`), 'signature_bad_signature');
    // A second spelling of the same signature bytes: padding is not a path character (404), and changing the
    // unused low bits of the last base64url character is refused as not canonical.
    expect((await fetchPath(path(`${h}.${p}.${s}=`))).status).toBe(404);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(s.at(-1)!);
    await expect403(path(`${h}.${p}.${s.slice(0, -1)}${alphabet[last ^ 1]}`), 'signature_malformed');
    // Time: expired, too far ahead, not valid yet; exp is required.
    await expect403(path(await sign(key, { sub: id, exp: nowSec() - 60 })), 'signature_expired');
    await expect403(path(await sign(key, { sub: id, exp: nowSec() + 25 * 3600 })), 'signature_lifetime_too_long');
    await expect403(path(await sign(key, { sub: id, nbf: nowSec() + 600 })), 'signature_not_yet_valid');
    await expect403(path(await sign(key, { sub: id, exp: null })), 'signature_malformed');
    // Unusable rules are refused, not ignored.
    await expect403(path(await sign(key, { sub: id, accessRules: [{ type: 'ip.src', ip: ['not-an-ip'], action: 'allow' }] })), 'signature_malformed');
    await expect403(path(await sign(key, { sub: id, allowedOrigins: ['javascript:alert(1)'] })), 'signature_malformed');
    // The good token still plays.
    expect((await fetchPath(path(good))).status).toBe(200);
  }, 30_000);

  it("a token from creator A's key never plays creator B's video", async () => {
    const a = await newCreator();
    const b = await playableVideo();
    const keyOfA = await newKey(a.token);
    await expect403(`/v/${b.id}/t/${await sign(keyOfA, { sub: b.id })}/master.m3u8`, 'signature_wrong_video');
  });

  it('a revoked key is refused at once where it was revoked, and within the key cache lifetime elsewhere', async () => {
    const { id, token, creatorId } = await playableVideo();
    const key = await newKey(token);
    const jwt = await sign(key, { sub: id });
    const path = `/v/${id}/t/${jwt}/240p/playlist.m3u8`;
    expect((await fetchPath(path)).status).toBe(200);
    // This isolate: the DELETE forgets the key.
    expect((await api(`/v1/signing_keys/${key.id}`, { method: 'DELETE', token })).status).toBe(204);
    await expect403(path, 'signature_unknown_key');
    expect((await api('/v1/signing_keys', { token })).json()).resolves.toEqual({ keys: [] });

    // Another location: the key is revoked in D1 behind this isolate's back (as a DELETE handled elsewhere does);
    // this isolate keeps serving from what it read until its entry is `signingKeyCacheMs` old, then refuses.
    const second = await newKey(token);
    const jwt2 = await sign(second, { sub: id });
    const path2 = `/v/${id}/t/${jwt2}/240p/playlist.m3u8`;
    const t0 = Date.now();
    restoreClock = setRuntime({ now: () => t0 });
    expect((await fetchPath(path2)).status).toBe(200);
    expect(await revokeSigningKey(openDb(env.DB), creatorId, second.id)).toBe(true);
    restoreClock();
    restoreClock = setRuntime({ now: () => t0 + 29_000 });
    expect((await fetchPath(path2)).status).toBe(200);
    restoreClock();
    restoreClock = setRuntime({ now: () => t0 + 30_001 });
    await expect403(path2, 'signature_unknown_key');
  });
});

describe('access rules and origins', () => {
  it('access rules: first match wins, by country (request.cf) and by address (CF-Connecting-IP)', async () => {
    const { id, token } = await playableVideo();
    const key = await newKey(token);
    const jwt = await sign(key, {
      sub: id,
      accessRules: [
        { type: 'ip.src', ip: ['203.0.113.0/24', '2001:db8::/32'], action: 'allow' },
        { type: 'ip.geoip.country', country: ['DE', 'fr'], action: 'allow' },
        { type: 'any', action: 'block' },
      ],
    });
    const path = `/v/${id}/t/${jwt}/master.m3u8`;
    expect((await fetchPath(path, { cf: { country: 'DE' } })).status).toBe(200);
    expect((await fetchPath(path, { cf: { country: 'FR' } })).status).toBe(200);
    await expect403(path, 'access_denied', { cf: { country: 'US' } });
    await expect403(path, 'access_denied');
    expect((await fetchPath(path, { headers: { 'CF-Connecting-IP': '203.0.113.10' }, cf: { country: 'US' } })).status).toBe(200);
    // One address, one spelling: a leading zero is still 203.0.113.10.
    expect((await fetchPath(path, { headers: { 'CF-Connecting-IP': '203.0.113.010' } })).status).toBe(200);
    expect((await fetchPath(path, { headers: { 'CF-Connecting-IP': '2001:DB8:0::42' } })).status).toBe(200);
    await expect403(path, 'access_denied', { headers: { 'CF-Connecting-IP': '198.51.100.7' } });

    const blockOne = await sign(key, { sub: id, accessRules: [{ type: 'ip.geoip.country', country: ['US'], action: 'block' }] });
    await expect403(`/v/${id}/t/${blockOne}/master.m3u8`, 'access_denied', { cf: { country: 'US' } });
    // No rule matched: allowed.
    expect((await fetchPath(`/v/${id}/t/${blockOne}/master.m3u8`, { cf: { country: 'DE' } })).status).toBe(200);
  });

  it("allowed origins: the token's and the video's both apply; no origin is allowed, an opaque one is not", async () => {
    const { id, token } = await playableVideo();
    const key = await newKey(token);
    const jwt = await sign(key, { sub: id, allowedOrigins: ['https://app.example', 'http://localhost:3000'] });
    const path = `/v/${id}/t/${jwt}/240p/segment_0000.ts`;
    expect((await fetchPath(path, { headers: { Origin: 'https://app.example' } })).status).toBe(200);
    expect((await fetchPath(path, { headers: { Referer: 'http://localhost:3000/watch?v=1' } })).status).toBe(200);
    expect((await fetchPath(path)).status).toBe(200);
    await expect403(path, 'origin_not_allowed', { headers: { Origin: 'https://evil.example' } });
    await expect403(path, 'origin_not_allowed', { headers: { Referer: 'https://evil.example/page' } });
    await expect403(path, 'origin_not_allowed', { headers: { Origin: 'null' } });

    // The video's own list applies to every token, the platform's HMAC ones included.
    const patched = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { allowedOrigins: ['https://app.example'] } });
    expect(patched.status).toBe(200);
    expect((await patched.json<{ allowedOrigins: string[] }>()).allowedOrigins).toEqual(['https://app.example']);
    const hmacBase = signedBase(await signedMasterPath(id, token));
    await expect403(`${hmacBase}240p/segment_0000.ts`, 'origin_not_allowed', { headers: { Origin: 'http://localhost:3000' } });
    expect((await fetchPath(`${hmacBase}240p/segment_0000.ts`, { headers: { Origin: 'https://app.example' } })).status).toBe(200);
    // Both lists: only origins in both play.
    await expect403(path, 'origin_not_allowed', { headers: { Origin: 'http://localhost:3000' } });
    // Bad lists are refused with a clear error; null lifts the restriction.
    for (const bad of [['app.example'], ['https://app.example/path'], 'https://app.example', [1]]) {
      const res = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { allowedOrigins: bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { allowedOrigins: null } })).status).toBe(200);
    expect((await fetchPath(`${hmacBase}240p/segment_0000.ts`, { headers: { Origin: 'http://localhost:3000' } })).status).toBe(200);
  });
});

describe('unsigned playback and downloads', () => {
  it('an unsigned URL plays a public video only when requireSignedURLs is off', async () => {
    const { id, token } = await playableVideo();
    await expect403(`/v/${id}/master.m3u8`, 'signature_required');
    const res = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { requireSignedURLs: false } });
    expect((await res.json<{ requireSignedURLs: boolean }>()).requireSignedURLs).toBe(false);
    const master = await fetchPath(`/v/${id}/master.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('Playback-Session')).toBeTruthy();
    expect((await fetchPath(`/v/${id}/240p/segment_0001.ts`)).status).toBe(200);
    // Unlisted or private: signed only, whatever the setting.
    await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { visibility: 'unlisted' } });
    await expect403(`/v/${id}/master.m3u8`, 'signature_required');
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { requireSignedURLs: 'no' } })).status).toBe(400);
    // A video that does not exist is refused the same way, never confirmed.
    await expect403('/v/vid_0000000000000000/master.m3u8', 'signature_required');
  });

  it('MP4 downloads need a token signed with downloadable: true', async () => {
    const { id, token } = await playableVideo();
    const key = await newKey(token);
    await expect403(`/v/${id}/t/${await sign(key, { sub: id })}/downloads/240p.mp4`, 'download_not_allowed');
    // Allowed through: there is no such download yet, which is the download area's own answer.
    const allowed = await fetchPath(`/v/${id}/t/${await sign(key, { sub: id, downloadable: true })}/downloads/240p.mp4`);
    expect(allowed.status).toBe(404);
  });
});

describe('playback sessions issued to the viewer', () => {
  it("the master's Playback-Session counts one view for the viewer's address; past the address's allowance the playlist still plays, without one", async () => {
    const { id, token } = await playableVideo();
    await env.DB.prepare('UPDATE videos SET duration = 120 WHERE id = ?').bind(id).run();
    const key = await newKey(token);
    const jwt = await sign(key, { sub: id });
    const t0 = Date.now();
    restoreClock = setRuntime({ now: () => t0 });
    const viewer = '198.51.100.23';
    const master = await fetchPath(`/v/${id}/t/${jwt}/master.m3u8`, { headers: { 'CF-Connecting-IP': viewer } });
    const session = master.headers.get('Playback-Session')!;
    restoreClock();
    restoreClock = setRuntime({ now: () => t0 + 31_000 });
    const beacon = (s: string) =>
      api(`/v1/videos/${id}/views`, { method: 'POST', headers: { 'CF-Connecting-IP': viewer }, json: { viewerId: 'v1', watchDuration: 30, videoDuration: 120, session: s } });
    expect(await (await beacon(session)).json()).toEqual({ counted: true });
    expect(await (await beacon(session)).json()).toMatchObject({ counted: false });

    // Spend the rest of this address's allowance; the next master still plays, without a session.
    const config = loadConfig(env);
    const client = clientKey(new Request(BASE, { headers: { 'CF-Connecting-IP': viewer } }));
    await Promise.all(Array.from({ length: config.views.allowances.sessionsPerWindow - 1 }, () => takeSessionAllowance(env, config, client)));
    const refused = await fetchPath(`/v/${id}/t/${jwt}/master.m3u8`, { headers: { 'CF-Connecting-IP': viewer } });
    expect(refused.status).toBe(200);
    expect(refused.headers.get('Playback-Session')).toBeNull();
    expect(refused.headers.get('Playback-Session-Refused')).toBe('rate_limited');
    // Another viewer's address is not affected.
    const other = await fetchPath(`/v/${id}/t/${jwt}/master.m3u8`, { headers: { 'CF-Connecting-IP': '198.51.100.24' } });
    expect(other.headers.get('Playback-Session')).toBeTruthy();
  });
});

/**
 * Security headers on every kind of answer the Worker gives, inside workerd (workers/shared/security-headers.ts):
 * `X-Content-Type-Options: nosniff` and `X-Frame-Options: DENY` on API JSON, errors, playback objects (playlists,
 * segments, Range answers, caption WebVTT, storyboard), tus answers and pages; every HTML page has a
 * Content-Security-Policy with `frame-ancestors 'none'`, `/reference` one that allows only its own stylesheet.
 * (Static assets, served before the Worker, are checked through wrangler dev in test/node/hardening-e2e.test.ts.)
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { api } from './helpers';
import { playableVideo, signedBase, signedMasterPath } from './playback-fixtures';
import { TUS } from './upload-helpers';
import { openDb, schema } from '../../workers/shared/db';
import { keys } from '../../workers/shared/storage-keys';

function expectGuarded(res: Response, what: string): void {
  expect(res.headers.get('x-content-type-options'), `${what}: nosniff`).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), `${what}: X-Frame-Options`).toBe('DENY');
}

let video: { id: string; token: string };
let base: string;

beforeAll(async () => {
  video = await playableVideo();
  await openDb(env.DB).update(schema.videos).set({ duration: 5.5, width: 640, height: 360, frameRate: 30 }).where(eq(schema.videos.id, video.id));
  await env.MEDIA.put(keys.thumbnail(video.id, 'storyboard.vtt'), 'WEBVTT\n');
  const caption = await api(`/v1/videos/${video.id}/captions/en?label=English`, { method: 'PUT', token: video.token, body: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b>hi</b>\n' });
  expect(caption.status).toBe(201);
  base = signedBase(await signedMasterPath(video.id));
});

describe('every answer: nosniff and no framing', () => {
  it('API JSON, its errors and unknown routes', async () => {
    expectGuarded(await api('/v1/videos', { token: video.token }), 'list');
    expectGuarded(await api(`/v1/videos/${video.id}`), 'read');
    expectGuarded(await api('/v1/videos', { method: 'POST', token: video.token, json: { title: '' } }), '400');
    expectGuarded(await api('/v1/videos', { method: 'POST', json: { title: 'x' } }), '401');
    expectGuarded(await api('/v1/nothing-here'), 'unknown route');
    expectGuarded(await api('/healthz'), 'health');
    expectGuarded(await api('/openapi.json'), 'OpenAPI');
    expectGuarded(await api(`/v1/videos/${video.id}/playback`), 'playback URL');
  });

  it('playback objects: playlists, segments, a Range answer, captions, the storyboard and errors', async () => {
    const answers: [string, Response][] = [
      ['master', await api(`${base}master.m3u8`)],
      ['media playlist', await api(`${base}240p/playlist.m3u8`)],
      ['segment', await api(`${base}240p/segment_0000.ts`)],
      ['segment, cached', await api(`${base}240p/segment_0000.ts`)],
      ['segment range', await api(`${base}240p/segment_0001.ts`, { headers: { Range: 'bytes=0-99' } })],
      ['caption WebVTT', await api(`${base}captions/en.vtt`)],
      ['caption playlist', await api(`${base}captions/en.m3u8`)],
      ['storyboard', await api(`${base}thumbnails/storyboard.vtt`)],
      ['unsigned', await api(`/v/${video.id}/master.m3u8`)],
      ['bad signature', await api(`/v/${video.id}/t/k1.bad.sig/master.m3u8`)],
      ['preflight', await api(`${base}master.m3u8`, { method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'GET' } })],
    ];
    for (const [what, res] of answers) expectGuarded(res, what);
    expect(answers.find(([w]) => w === 'caption WebVTT')![1].headers.get('content-type')).toContain('text/vtt');
    expect(answers.find(([w]) => w === 'segment range')![1].status).toBe(206);
    // CORS for players on other origins stays: no Cross-Origin-Resource-Policy that would block them.
    expect(answers.find(([w]) => w === 'segment')![1].headers.get('cross-origin-resource-policy')).toBeNull();
  });

  it('tus answers', async () => {
    expectGuarded(await api('/v1/uploads', { method: 'OPTIONS' }), 'tus OPTIONS');
    expectGuarded(await api('/v1/uploads', { method: 'POST', token: video.token, headers: { ...TUS, 'Upload-Length': 'x' } }), 'tus 400');
  });
});

describe('HTML pages', () => {
  it('the embed page, made for other sites\' frames, says who may frame it in its CSP and sends no X-Frame-Options', async () => {
    const token = base.split('/')[4]!;
    const res = await api(`/embed/${video.id}?token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors \*(;|$)/);
  });

  it.each(['/signin', '/upload', '/library', `/watch/vid_abcdefghij012345`, `/stats/vid_abcdefghij012345`, '/watch/..bad'])('%s may not be framed', async (path) => {
    const res = await api(path);
    expect(res.headers.get('content-type')).toContain('text/html');
    expectGuarded(res, path);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('/reference allows its own stylesheet and nothing else', async () => {
    const res = await api('/reference');
    expectGuarded(res, '/reference');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const style = /<style>([^<]*)<\/style>/.exec(await res.text())![1]!;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(style)));
    expect(csp).toContain(`style-src 'sha256-${btoa(String.fromCharCode(...digest))}'`);
  });
});

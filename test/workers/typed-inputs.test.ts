/**
 * The routes converted to schema validation (@hono/zod-openapi): views, stats, playback URLs, captions, clips and
 * downloads. A wrong type, a missing field, an out-of-range number or an unknown value is a 400 in the one error
 * shape with a clear message, and nothing is written; the OpenAPI document describes each of them with its errors.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { api } from './helpers';
import { playableVideo } from './playback-fixtures';
import { ownerStats, playableVideo as viewableVideo, sessionFor, view } from './views-helpers';
import { openDb, schema } from '../../workers/shared/db';
import { keys } from '../../workers/shared/storage-keys';

interface ErrorBody {
  error: { code: string; message: string; details?: { problems: string[] } };
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = await res.json<ErrorBody>();
  return { status: res.status, code: body.error.code, message: body.error.message };
}

async function readyVideo() {
  const durations = [2, 2, 1.5];
  const video = await playableVideo({ rungs: [{ name: '240p', height: 240, durations }, { name: '360p', height: 360, durations }] });
  await openDb(env.DB).update(schema.videos).set({ duration: 5.5, width: 640, height: 360 }).where(eq(schema.videos.id, video.id));
  return video;
}

const liveViews = async (id: string) => (await (await ownerStats(id)).json<{ views: number }>()).views;

describe('POST /v1/videos/:id/views: typed body', () => {
  it.each([
    ['a wrong type', { viewerId: 'v1', watchDuration: '40' }, 'watchDuration must be a finite number of seconds ≥ 0'],
    ['a missing field', { viewerId: 'v1' }, 'watchDuration must be a finite number of seconds ≥ 0'],
    ['an out-of-range number', { viewerId: 'v1', watchDuration: -3 }, 'watchDuration must be a finite number of seconds ≥ 0'],
    ['an unknown field', { viewerId: 'v1', watchDuration: 40, counted: true }, 'unknown field(s): counted'],
    ['a session of the wrong type', { viewerId: 'v1', watchDuration: 40, session: 42 }, 'session must be the session token from GET /v1/videos/{id}/playback'],
  ])('refuses %s with 400 and counts nothing', async (_what, body, message) => {
    const { id } = await viewableVideo(120);
    expect(await errorOf(await view(id, body))).toEqual({ status: 400, code: 'bad_request', message });
    expect(await liveViews(id)).toBe(0);
  });

  it('reads a navigator.sendBeacon body (text/plain) as JSON, so the beacon still counts', async () => {
    const { id } = await viewableVideo(120);
    const body = JSON.stringify({ viewerId: 'beacon-1', watchDuration: 45, session: await sessionFor(id) });
    const res = await api(`/v1/videos/${id}/views`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'CF-Connecting-IP': '10.9.9.9' } });
    expect(await res.json()).toEqual({ counted: true });
    expect(await liveViews(id)).toBe(1);
  });
});

describe('GET /v1/videos/:id/stats and /playback: typed query', () => {
  it('refuses a malformed or repeated from/to', async () => {
    const { id } = await viewableVideo(120);
    expect(await errorOf(await ownerStats(id, '?from=yesterday'))).toEqual({
      status: 400,
      code: 'bad_request',
      message: 'from must be an ISO 8601 time or epoch milliseconds',
    });
    expect((await ownerStats(id, '?to=1&to=2')).status).toBe(400);
    expect((await ownerStats(id, '?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z')).status).toBe(200);
  });

  it('explains a bad or repeated ttl', async () => {
    const { id } = await readyVideo();
    expect(await errorOf(await api(`/v1/videos/${id}/playback?ttl=1e3`))).toMatchObject({ status: 400, message: expect.stringContaining('ttl must be a positive integer') });
    expect(await errorOf(await api(`/v1/videos/${id}/playback?ttl=5&ttl=6`))).toMatchObject({ status: 400, message: expect.stringContaining('ttl given more than once') });
  });
});

describe('PUT /v1/videos/:id/captions/:lang: typed path and query', () => {
  it.each([
    ['an unknown default value', 'en?default=maybe', 'default must be true or false'],
    ['a label with a double quote', 'en?label=%22x%22', 'label must be 1 to 100 characters, without control characters or double quotes'],
    ['an empty label', 'en?label=%20', 'label must be 1 to 100 characters, without control characters or double quotes'],
    ['a label too long', `en?label=${'a'.repeat(101)}`, 'label must be 1 to 100 characters, without control characters or double quotes'],
    ['a language that is not BCP 47', 'english!', '"english!" is not a BCP 47 language tag'],
  ])('refuses %s with 400 and stores nothing', async (_what, tail, message) => {
    const { id, token } = await readyVideo();
    const res = await api(`/v1/videos/${id}/captions/${tail}`, { method: 'PUT', token, body: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n' });
    expect(await errorOf(res)).toMatchObject({ status: 400, code: 'bad_request', message: expect.stringContaining(message) });
    expect(await openDb(env.DB).select().from(schema.captions).where(eq(schema.captions.videoId, id))).toEqual([]);
    expect((await env.MEDIA.list({ prefix: keys.caption(id, 'en').replace(/en\.vtt$/, '') })).objects).toEqual([]);
  });
});

describe('POST /v1/videos/:id/clips: typed body', () => {
  it.each([
    ['a wrong type', { start: '0', end: 2 }, 'start must be a number of seconds ≥ 0'],
    ['a missing field', { start: 0 }, 'end must be a number of seconds after start'],
    ['an out-of-range number', { start: -1, end: 2 }, 'start must be a number of seconds ≥ 0'],
    ['end before start', { start: 3, end: 1 }, 'end must be a number of seconds after start'],
    ['a title too long', { start: 0, end: 2, title: 'x'.repeat(201) }, 'title must be a non-empty string of at most 200 characters'],
    ['an unknown field', { start: 0, end: 2, speed: 2 }, 'unknown field(s): speed'],
  ])('refuses %s with 400 and creates no video', async (_what, body, message) => {
    const { id, token } = await readyVideo();
    expect(await errorOf(await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: body }))).toEqual({ status: 400, code: 'bad_request', message });
    expect(await openDb(env.DB).select().from(schema.videos).where(eq(schema.videos.clipOf, id))).toEqual([]);
  });
});

describe('POST /v1/videos/:id/downloads: typed (optional) body', () => {
  it.each([
    ['a wrong type', { rendition: 360 }, 'rendition must be a rendition name, e.g. "720p"'],
    ['an unknown field', { quality: 'hd' }, 'unknown field(s): quality'],
    ['an unknown rendition', { rendition: '8k' }, 'rendition "8k" does not exist for this video (available: 360p, 240p)'],
  ])('refuses %s with 400 and queues nothing', async (_what, body, message) => {
    const { id, token } = await readyVideo();
    expect(await errorOf(await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: body }))).toEqual({ status: 400, code: 'bad_request', message });
    expect(await openDb(env.DB).select().from(schema.mediaDownloads).where(eq(schema.mediaDownloads.videoId, id))).toEqual([]);
  });

  it('refuses malformed JSON, and takes no body (or curl -d without a JSON type) as a request for the top rung', async () => {
    const { id, token } = await readyVideo();
    expect(await errorOf(await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, body: '{"rendition":', headers: { 'Content-Type': 'application/json' } }))).toMatchObject({
      status: 400,
      message: 'request body must be valid JSON',
    });
    const none = await api(`/v1/videos/${id}/downloads`, { method: 'POST', token });
    expect(none.status).toBe(202);
    expect(await none.json()).toMatchObject({ rendition: '360p', status: 'PENDING' });
    const plain = await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, body: '{"rendition":"240p"}', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(await plain.json()).toMatchObject({ rendition: '240p' });
  });
});

describe('the OpenAPI document describes the converted routes', () => {
  it('with their parameters, bodies and error responses', async () => {
    type Op = { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> };
    const doc = await (await api('/openapi.json')).json<{ paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> } }>();
    const op = (path: string, method: string) => doc.paths[path]?.[method];
    const cases: [string, string, string[]][] = [
      ['/v1/videos/{id}/views', 'post', ['400', '404', '413', '429']],
      ['/v1/videos/{id}/stats', 'get', ['400', '404']],
      ['/v1/videos/{id}/playback', 'get', ['400', '404', '429']],
      ['/v1/videos/{id}/captions/{lang}', 'put', ['400', '401', '404', '413']],
      ['/v1/videos/{id}/captions/{lang}', 'delete', ['400', '401', '404']],
      ['/v1/videos/{id}/clips', 'post', ['400', '401', '404', '409']],
      ['/v1/videos/{id}/downloads', 'post', ['400', '401', '404', '409']],
    ];
    for (const [path, method, statuses] of cases) {
      const found = op(path, method);
      expect(found, `${method} ${path}`).toBeDefined();
      for (const s of statuses) expect(found!.responses[s]?.content?.['application/json']?.schema.$ref, `${method} ${path} ${s}`).toBe('#/components/schemas/Error');
    }
    expect(op('/v1/videos/{id}/playback', 'get')!.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ttl', in: 'query' })]));
    expect(op('/v1/videos/{id}/captions/{lang}', 'put')!.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['id', 'lang', 'label', 'default']));
    expect(Object.keys(op('/v1/videos/{id}/captions/{lang}', 'put')!.requestBody!.content)).toEqual(['text/vtt', 'application/x-subrip']);
    expect(doc.paths['/v1/videos/{id}/views']).toHaveProperty('options');
    expect(doc.components.schemas).toHaveProperty('ViewEvent');
    expect(doc.components.schemas).toHaveProperty('CreateClip');
    expect(doc.components.schemas).toHaveProperty('RequestDownload');
  });
});

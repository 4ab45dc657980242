/** The served description (/openapi.json, /reference) and the view beacon's CORS preflight for players elsewhere. */
import { describe, expect, it } from 'vitest';
import { api, newCreator, newVideo } from './helpers';

describe('GET /openapi.json and /reference', () => {
  it('serves the OpenAPI 3.1 document with the new routes and the error schema', async () => {
    const res = await api('/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json<{ openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/videos', '/v1/videos/{id}', '/v1/direct_uploads', '/v1/direct_uploads/{token}/tus', '/v1/webhooks', '/v1/webhooks/{id}/deliveries']));
    expect(doc.components.schemas).toHaveProperty('Error');
    expect(doc.components.schemas).toHaveProperty('CreateDirectUpload');
  });

  it('serves a readable HTML reference of every operation', async () => {
    const res = await api('/reference');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/text\/html/);
    const page = await res.text();
    expect(page).toContain('POST /v1/direct_uploads');
    expect(page).toContain('GET /v1/webhooks/{id}/deliveries');
    expect(page).not.toContain('<script');
  });
});

describe('validation keeps the error shape', () => {
  it('explains the first problem of a typed body, with all problems in details', async () => {
    const { token } = await newCreator();
    const res = await api('/v1/videos', { method: 'POST', token, json: { title: 5, visibility: 'secret' } });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; message: string; details: { problems: string[] } } }>();
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toBe('title is required and must be a non-empty string');
    expect(body.error.details.problems).toContain('visibility must be one of public, unlisted, private');
  });

  it('still reads a JSON body sent without Content-Type (curl -d), and refuses malformed JSON with the old message', async () => {
    const { token } = await newCreator();
    const plain = await api('/v1/videos', { method: 'POST', token, body: '{"title":"no header"}', headers: { 'Content-Type': 'text/plain' } });
    expect(plain.status).toBe(201);
    const broken = await api('/v1/videos', { method: 'POST', token, body: '{"title": ', headers: { 'Content-Type': 'application/json' } });
    expect((await broken.json<{ error: { message: string } }>()).error.message).toBe('request body must be valid JSON');
  });

  it('refuses an empty PATCH and a bad list limit', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const res = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: {} });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toBe('nothing to update: send title, description, visibility, posterTime, requireSignedURLs, allowedOrigins, scheduledDeletion or originalLanguage');
    const list = await api('/v1/videos?limit=500', { token });
    expect(list.status).toBe(400);
    expect((await list.json<{ error: { message: string } }>()).error.message).toBe('limit must be an integer from 1 to 100');
  });
});

describe('OPTIONS /v1/videos/:id/views (view beacon preflight)', () => {
  it('lets players on other origins POST views', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const res = await api(`/v1/videos/${id}/views`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://blog.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('POST');
    expect(res.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('content-type');
    const beacon = await api(`/v1/videos/${id}/views`, { method: 'POST', headers: { Origin: 'https://blog.example' }, json: { viewerId: 'viewer-1', watchDuration: 1 } });
    expect(beacon.headers.get('Access-Control-Allow-Origin')).toBe('*');
  });
});

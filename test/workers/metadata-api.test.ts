import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, newCreator, newVideo } from './helpers';
import { getVideoRecord, invalidateVideo, jitteredTtl } from '../../workers/metadata/cache';
import { loadVideoRecord } from '../../workers/metadata/repo';
import { openDb } from '../../workers/shared/db';
import { loadConfig, VIDEO_TEXT } from '../../workers/shared/config';

const config = loadConfig({});

describe('auth', () => {
  it('rejects a missing token with 401 and the error shape', async () => {
    const res = await api('/v1/videos', { method: 'POST', json: { title: 'x' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('rejects a bad token with 401', async () => {
    const res = await api('/v1/videos', { method: 'POST', token: 'evt_nope', json: { title: 'x' } });
    expect(res.status).toBe(401);
  });

  it('rejects admin bootstrap without the admin token', async () => {
    const res = await api('/v1/admin/creators', { method: 'POST', token: 'wrong', json: { name: 'x' } });
    expect(res.status).toBe(401);
  });
});

describe('POST /v1/videos', () => {
  it('creates an UPLOADING video with upload URLs', async () => {
    const { token, creatorId } = await newCreator();
    const res = await api('/v1/videos', { method: 'POST', token, json: { title: ' My clip ', description: 'desc' } });
    expect(res.status).toBe(201);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ status: 'UPLOADING', title: 'My clip', description: 'desc', creatorId, visibility: 'public' });
    expect(body.id).toMatch(/^vid_[0-9a-z]{16}$/);
    expect(body.upload).toEqual({ chunked: `/v1/videos/${body.id}/upload`, tus: '/v1/uploads' });
    expect(res.headers.get('Location')).toBe(`/v1/videos/${body.id}`);
  });

  it.each([
    ['malformed JSON', '{"title": '],
    ['a JSON array', '[1,2]'],
    ['a missing title', '{"description":"x"}'],
    ['an empty title', '{"title":"   "}'],
    ['a non-string description', '{"title":"t","description":5}'],
    ['an unknown field', '{"title":"t","status":"READY"}'],
    ['a bad visibility', '{"title":"t","visibility":"secret"}'],
  ])('rejects %s with 400', async (_what, raw) => {
    const { token } = await newCreator();
    const res = await api('/v1/videos', { method: 'POST', token, body: raw, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string } }>();
    expect(body.error.code).toBe('bad_request');
  });
});

describe('GET/PATCH/DELETE /v1/videos/:id', () => {
  it('reads, edits (visible on the next read) and deletes', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'before');
    expect((await (await api(`/v1/videos/${id}`)).json<{ title: string }>()).title).toBe('before');

    const patched = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { title: 'after' } });
    expect(patched.status).toBe(200);
    expect((await (await api(`/v1/videos/${id}`)).json<{ title: string }>()).title).toBe('after');

    await env.MEDIA.put(`originals/${id}/original`, 'bytes');
    await env.MEDIA.put(`videos/${id}/720p/segment_0000.ts`, 'bytes');
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await api(`/v1/videos/${id}`)).status).toBe(404);
    expect((await env.MEDIA.list({ prefix: `originals/${id}/` })).objects).toHaveLength(0);
    expect((await env.MEDIA.list({ prefix: `videos/${id}/` })).objects).toHaveLength(0);
    // Deleting again is a 404, not a crash.
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(404);
  });

  it("forbids touching another creator's video (403)", async () => {
    const owner = await newCreator('owner');
    const other = await newCreator('other');
    const { id } = await newVideo(owner.token);
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token: other.token, json: { title: 'x' } })).status).toBe(403);
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token: other.token })).status).toBe(403);
  });

  it("answers 404, like GET, to another creator's PATCH or DELETE of a private video (never confirms it exists)", async () => {
    const owner = await newCreator('owner');
    const other = await newCreator('other');
    const res = await api('/v1/videos', { method: 'POST', token: owner.token, json: { title: 'secret', visibility: 'private' } });
    const { id } = await res.json<{ id: string }>();
    const unknown = 'vid_doesnotexist0000';
    for (const target of [id, unknown]) {
      const get = await api(`/v1/videos/${target}`, { token: other.token });
      const patch = await api(`/v1/videos/${target}`, { method: 'PATCH', token: other.token, json: { title: 'x' } });
      const del = await api(`/v1/videos/${target}`, { method: 'DELETE', token: other.token });
      const upload = await api(`/v1/videos/${target}/upload`, { method: 'POST', token: other.token, json: { fileSize: 10 } });
      for (const r of [get, patch, del, upload]) {
        expect(r.status, target).toBe(404);
        expect(await r.json()).toEqual({ error: { code: 'not_found', message: 'video not found' } });
      }
    }
    // Untouched, and still the owner's.
    expect(await (await api(`/v1/videos/${id}`, { token: owner.token })).json()).toMatchObject({ title: 'secret', status: 'UPLOADING' });
  });

  it('hides private videos from everyone but their creator', async () => {
    const owner = await newCreator('owner');
    const res = await api('/v1/videos', { method: 'POST', token: owner.token, json: { title: 'p', visibility: 'private' } });
    const { id } = await res.json<{ id: string }>();
    expect((await api(`/v1/videos/${id}`)).status).toBe(404);
    expect((await api(`/v1/videos/${id}`, { token: owner.token })).status).toBe(200);
  });

  it('404s unknown and malformed ids', async () => {
    expect((await api('/v1/videos/vid_doesnotexist0000')).status).toBe(404);
    expect((await api('/v1/videos/..%2F..%2Fetc')).status).toBe(404);
  });

  it('rejects an empty PATCH with 400', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: {} })).status).toBe(400);
  });
});

describe('GET /v1/videos', () => {
  it("lists only the creator's videos, newest first, with cursor pagination", async () => {
    const a = await newCreator('a');
    const b = await newCreator('b');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await newVideo(a.token, `a${i}`)).id);
    await newVideo(b.token, 'b0');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page: { videos: { id: string }[]; nextCursor: string | null } = await (await api(`/v1/videos?limit=2${q}`, { token: a.token })).json();
      expect(page.videos.length).toBeLessThanOrEqual(2);
      seen.push(...page.videos.map((v) => v.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it('rejects a bad limit or cursor with 400', async () => {
    const { token } = await newCreator();
    expect((await api('/v1/videos?limit=0', { token })).status).toBe(400);
    expect((await api('/v1/videos?limit=abc', { token })).status).toBe(400);
    expect((await api('/v1/videos?cursor=%%%', { token })).status).toBe(400);
  });
});

describe('metadata cache', () => {
  it('N concurrent misses cause exactly one D1 read; an update is visible on the next read', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'cached');
    await invalidateVideo(id);
    const db = openDb(env.DB);
    let loads = 0;
    const countingLoader = async (videoId: string) => {
      loads++;
      return loadVideoRecord(db, videoId);
    };
    const results = await Promise.all(Array.from({ length: 50 }, () => getVideoRecord(id, countingLoader, config)));
    expect(loads).toBe(1);
    expect(results.every((r) => r?.video.title === 'cached')).toBe(true);

    // Served from cache afterwards: no further D1 read.
    await getVideoRecord(id, countingLoader, config);
    expect(loads).toBe(1);

    await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { title: 'edited' } });
    // The PATCH invalidated the entry (and its response re-read D1), so the next read sees the edit.
    const after = await getVideoRecord(id, countingLoader, config);
    expect(after?.video.title).toBe('edited');
  });

  it('counts D1 queries for concurrent API misses at the D1 binding', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'x');
    await invalidateVideo(id);
    let batches = 0;
    const realBatch = env.DB.batch.bind(env.DB);
    env.DB.batch = (async (stmts: D1PreparedStatement[]) => {
      batches++;
      return realBatch(stmts);
    }) as typeof env.DB.batch;
    try {
      const db = openDb(env.DB);
      await Promise.all(Array.from({ length: 20 }, () => getVideoRecord(id, (v) => loadVideoRecord(db, v), config)));
    } finally {
      env.DB.batch = realBatch;
    }
    expect(batches).toBe(1);
  });

  it('falls back to D1 when the cache fails', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'fallback');
    const realOpen = caches.open.bind(caches);
    caches.open = (() => Promise.reject(new Error('cache down'))) as typeof caches.open;
    try {
      const db = openDb(env.DB);
      const record = await getVideoRecord(id, (v) => loadVideoRecord(db, v), config);
      expect(record?.video.title).toBe('fallback');
    } finally {
      caches.open = realOpen;
    }
  });

  it('jitters the TTL within ±10%', () => {
    expect(jitteredTtl(3600, 0.1, () => 0)).toBe(3240);
    expect(jitteredTtl(3600, 0.1, () => 0.5)).toBe(3600);
    expect(jitteredTtl(3600, 0.1, () => 0.999999)).toBe(3960);
  });
});

describe('title and description limits (VIDEO_TEXT, one constant for every door)', () => {
  const { maxTitle, maxDescription } = VIDEO_TEXT;
  const tusTitle = (title: string) => ({ 'Tus-Resumable': '1.0.0', 'Upload-Length': '10', 'Upload-Metadata': `title ${btoa(title)}` });

  it('accepts a title of exactly the limit and refuses one character more with 400, at every door', async () => {
    const { token } = await newCreator();
    const longest = 't'.repeat(maxTitle);
    const tooLong = 't'.repeat(maxTitle + 1);
    const message = `title must be at most ${maxTitle} characters`;

    expect((await api('/v1/videos', { method: 'POST', token, json: { title: longest } })).status).toBe(201);
    const created = await api('/v1/videos', { method: 'POST', token, json: { title: tooLong } });
    expect(created.status).toBe(400);
    expect((await created.json<{ error: { message: string } }>()).error.message).toContain(message);

    const { id } = await newVideo(token, 'short');
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { title: longest } })).status).toBe(200);
    const patched = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { title: tooLong } });
    expect(patched.status).toBe(400);
    expect((await patched.json<{ error: { message: string } }>()).error.message).toContain(message);
    expect((await (await api(`/v1/videos/${id}`, { token })).json<{ title: string }>()).title).toBe(longest);

    expect((await api('/v1/direct_uploads', { method: 'POST', token, json: { title: longest } })).status).toBe(201);
    const direct = await api('/v1/direct_uploads', { method: 'POST', token, json: { title: tooLong } });
    expect(direct.status).toBe(400);
    expect((await direct.json<{ error: { message: string } }>()).error.message).toContain(message);

    expect((await api('/v1/uploads', { method: 'POST', token, headers: tusTitle(longest) })).status).toBe(201);
    const tus = await api('/v1/uploads', { method: 'POST', token, headers: tusTitle(tooLong) });
    expect(tus.status).toBe(400);
    expect(await tus.text()).toContain(message);

    // Nothing was created by a refused request: the three 201s above, plus newVideo's.
    const list = await (await api('/v1/videos', { token })).json<{ videos: { title: string }[] }>();
    expect(list.videos.map((v) => v.title).filter((t) => t.length > maxTitle)).toEqual([]);
    expect(list.videos).toHaveLength(4);
  });

  it('accepts a description of exactly the limit and refuses one character more with 400', async () => {
    const { token } = await newCreator();
    expect((await api('/v1/videos', { method: 'POST', token, json: { title: 't', description: 'd'.repeat(maxDescription) } })).status).toBe(201);
    const res = await api('/v1/videos', { method: 'POST', token, json: { title: 't', description: 'd'.repeat(maxDescription + 1) } });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toContain(`description must be at most ${maxDescription} characters`);
  });
});

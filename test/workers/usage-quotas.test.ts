/**
 * Usage and quotas: what a creator stores (minutes, bytes counted from R2) and delivers (segment seconds metered at
 * the edge), per day; operator quotas refused up front with 403 `quota_exceeded` and the figures, nothing stored;
 * the operator's token management (list, issue, rotate, revoke).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../workers/shared/db';
import { recountStoredBytes } from '../../workers/usage/stored';
import { api, newCreator, newVideo } from './helpers';
import { playableVideo, signedBase, signedMasterPath } from './playback-fixtures';
import { bytes, TUS, tusCreate, tusPatch } from './upload-helpers';

const admin = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Usage = { current: { minutesStored: number; bytesStored: number }; minutesDelivered: number; days: { day: string; minutesDelivered: number }[]; quota: { minutesStored: number | null; bytesStored: number | null } };

async function setQuota(creatorId: string, quota: Record<string, number | null>): Promise<Response> {
  return api(`/v1/admin/creators/${creatorId}`, { method: 'PATCH', headers: admin, json: { quota } });
}

async function usage(token: string, query = ''): Promise<Usage> {
  const res = await api(`/v1/usage${query}`, { token });
  expect(res.status).toBe(200);
  return res.json<Usage>();
}

async function expectQuotaExceeded(res: Response): Promise<ErrorBody> {
  expect(res.status).toBe(403);
  const body = await res.json<ErrorBody>();
  expect(body.error.code).toBe('quota_exceeded');
  expect(body.error.details).toMatchObject({ quota: expect.any(Object), stored: expect.any(Object), adding: expect.any(Object) });
  return body;
}

describe('usage', () => {
  it('counts minutes and bytes stored from the videos and R2, and delivered segment seconds at the edge', async () => {
    const { id, token } = await playableVideo();
    await env.DB.prepare('UPDATE videos SET duration = 5.5 WHERE id = ?').bind(id).run();
    const stored = await recountStoredBytes(env, openDb(env.DB), id);
    // The fixture's two rungs of three 4,096-byte segments.
    expect(stored).toBe(6 * 4096);
    const before = await usage(token);
    expect(before.current).toEqual({ minutesStored: 5.5 / 60, bytesStored: 6 * 4096 });

    const base = signedBase(await signedMasterPath(id, token));
    // Delivered: every full segment and a range from byte 0; not a later range, not a HEAD.
    expect((await api(`${base}240p/segment_0000.ts`)).status).toBe(200);
    expect((await api(`${base}240p/segment_0001.ts`)).status).toBe(200);
    expect((await api(`${base}360p/segment_0002.ts`, { headers: { Range: 'bytes=0-99' } })).status).toBe(206);
    expect((await api(`${base}360p/segment_0002.ts`, { headers: { Range: 'bytes=100-' } })).status).toBe(206);
    expect((await api(`${base}240p/segment_0000.ts`, { method: 'HEAD' })).status).toBe(200);
    // A cache hit counts like a miss.
    expect((await api(`${base}240p/segment_0000.ts`)).headers.get('X-Cache')).toBe('HIT');
    const after = await usage(token);
    const seconds = 2 + 2 + 1.5 + 2;
    expect(after.minutesDelivered).toBeCloseTo(seconds / 60, 9);
    expect(after.days.at(-1)!.minutesDelivered).toBeCloseTo(seconds / 60, 9);
  });

  it('refuses a bad range', async () => {
    const { token } = await newCreator();
    for (const q of ['?from=2026-13-01', '?from=yesterday', '?from=2026-12-05&to=2026-12-01', '?from=2024-01-01&to=2026-01-01']) {
      expect((await api(`/v1/usage${q}`, { token })).status, q).toBe(400);
    }
    expect((await api('/v1/usage')).status).toBe(401);
  });
});

describe('quotas', () => {
  it('refuse an upload that would pass the bytes quota up front, through every door, keeping nothing', async () => {
    const { token, creatorId } = await newCreator();
    expect((await setQuota(creatorId, { bytesStored: 1000 })).status).toBe(200);
    const { id } = await newVideo(token);
    await expectQuotaExceeded(await api(`/v1/videos/${id}/upload`, { method: 'POST', token, json: { fileSize: 2000 } }));
    const videosBefore = (await (await api('/v1/videos', { token })).json<{ videos: unknown[] }>()).videos.length;
    await expectQuotaExceeded(await tusCreate(token, 5000, { title: 'too big' }));
    expect((await (await api('/v1/videos', { token })).json<{ videos: unknown[] }>()).videos.length).toBe(videosBefore);
    await expectQuotaExceeded(await api('/v1/direct_uploads', { method: 'POST', token, json: { maxSizeBytes: 5000 } }));
    // Within the quota it works.
    expect((await tusCreate(token, 800, { title: 'fits' })).status).toBe(201);
  });

  it('a deferred-length tus upload is stopped when it reaches the quota mid-way: 403, nothing past it kept', async () => {
    const { token, creatorId } = await newCreator();
    await setQuota(creatorId, { bytesStored: 1000 });
    const created = await api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, 'Upload-Defer-Length': '1', 'Upload-Metadata': `title ${btoa('deferred')}` } });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('Location')!).pathname;
    expect((await tusPatch(location, token, 0, bytes(600))).status).toBe(204);
    await expectQuotaExceeded(await tusPatch(location, token, 600, bytes(600)));
    const head = await api(location, { method: 'HEAD', token, headers: TUS });
    expect(head.headers.get('Upload-Offset')).toBe('600');
    // Declaring a length past the quota is refused too; one within it completes.
    await expectQuotaExceeded(await tusPatch(location, token, 600, bytes(0), { 'Upload-Length': '1500' }));
    expect((await tusPatch(location, token, 600, bytes(300), { 'Upload-Length': '900' })).status).toBe(204);
  });

  it('a creator at its minutes cap cannot start another upload; the quota is shown in usage and lifted with null', async () => {
    const { token, creatorId } = await newCreator();
    const patched = await setQuota(creatorId, { minutesStored: 0 });
    expect(await patched.json()).toMatchObject({ creatorId, quota: { minutesStored: 0, bytesStored: null } });
    await expectQuotaExceeded(await tusCreate(token, 100, { title: 'no minutes left' }));
    await expectQuotaExceeded(await api('/v1/videos/copy', { method: 'POST', token, json: { url: 'https://media.example/talk.mp4', title: 'import' } }));
    expect((await usage(token)).quota).toEqual({ minutesStored: 0, bytesStored: null });
    await setQuota(creatorId, { minutesStored: null });
    expect((await tusCreate(token, 100, { title: 'allowed' })).status).toBe(201);
  });

  it('refuses bad quota input and strangers', async () => {
    const { creatorId, token } = await newCreator();
    for (const quota of [{ bytesStored: -1 }, { bytesStored: 1.5 }, { minutesStored: 'lots' }, {}]) {
      expect((await api(`/v1/admin/creators/${creatorId}`, { method: 'PATCH', headers: admin, json: { quota } })).status, JSON.stringify(quota)).toBe(400);
    }
    expect((await api(`/v1/admin/creators/${creatorId}`, { method: 'PATCH', token, json: { quota: { bytesStored: 1 } } })).status).toBe(401);
    expect((await setQuota('cr_0000000000000000', { bytesStored: 1 })).status).toBe(404);
  });
});

describe("the operator's token management", () => {
  it('lists, issues, rotates and revokes a creator’s API tokens', async () => {
    const { creatorId, token } = await newCreator();
    const list = await (await api(`/v1/admin/creators/${creatorId}/tokens`, { headers: admin })).json<{ tokens: { id: string; revokedAt: string | null }[] }>();
    expect(list.tokens).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(token);
    const extra = await (await api(`/v1/admin/creators/${creatorId}/tokens`, { method: 'POST', headers: admin, json: { name: 'ci' } })).json<{ id: string; token: string }>();
    expect((await api('/v1/videos', { token: extra.token })).status).toBe(200);
    expect((await api('/v1/videos', { token })).status).toBe(200);
    // Rotation: a new token, every other one revoked.
    const rotated = await api(`/v1/admin/creators/${creatorId}/tokens`, { method: 'POST', headers: admin, json: { revokeOthers: true } });
    expect(rotated.status).toBe(201);
    const fresh = await rotated.json<{ id: string; token: string }>();
    expect((await api('/v1/videos', { token })).status).toBe(401);
    expect((await api('/v1/videos', { token: extra.token })).status).toBe(401);
    expect((await api('/v1/videos', { token: fresh.token })).status).toBe(200);
    // Revoke the last one.
    expect((await api(`/v1/admin/creators/${creatorId}/tokens/${fresh.id}`, { method: 'DELETE', headers: admin })).status).toBe(204);
    expect((await api('/v1/videos', { token: fresh.token })).status).toBe(401);
    expect((await api(`/v1/admin/creators/${creatorId}/tokens/${fresh.id}`, { method: 'DELETE', headers: admin })).status).toBe(404);
    const all = await (await api(`/v1/admin/creators/${creatorId}/tokens`, { headers: admin })).json<{ tokens: { revokedAt: string | null }[] }>();
    expect(all.tokens.every((t) => t.revokedAt !== null)).toBe(true);
    // Strangers and bad ids.
    expect((await api(`/v1/admin/creators/${creatorId}/tokens`, { token: fresh.token })).status).toBe(401);
    expect((await api('/v1/admin/creators/nope/tokens', { headers: admin })).status).toBe(400);
    expect((await api('/v1/admin/creators/cr_0000000000000000/tokens', { headers: admin })).status).toBe(404);
  });

  it("the operator's usage lists every creator", async () => {
    const { token, creatorId } = await newCreator();
    await newVideo(token);
    const res = await api('/v1/admin/usage', { headers: admin });
    expect(res.status).toBe(200);
    const body = await res.json<{ creators: { creatorId: string }[] }>();
    expect(body.creators.some((c) => c.creatorId === creatorId)).toBe(true);
  });
});

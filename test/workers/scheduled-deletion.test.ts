/**
 * Scheduled deletion: `scheduledDeletion` on create, direct upload and PATCH (at least 1 h, at most 365 days
 * ahead; null cancels), and the cron's pass that deletes due videos through the normal delete path (the video
 * turns DELETED, its objects go, the `video.deleted` webhook is queued).
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/shared/config';
import { openDb, schema } from '../../workers/shared/db';
import { setRuntime } from '../../workers/shared/runtime';
import { deleteDueVideos } from '../../workers/metadata/scheduled-deletion';
import { api, newCreator, newVideo } from './helpers';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

type ErrorBody = { error: { code: string; message: string } };

describe('scheduledDeletion', () => {
  it('is set on create, direct upload and PATCH, shown on the video, and cancelled with null', async () => {
    const { token } = await newCreator();
    const at = iso(Date.now() + 2 * HOUR);
    const created = await api('/v1/videos', { method: 'POST', token, json: { title: 'ephemeral', scheduledDeletion: at } });
    expect(created.status).toBe(201);
    const video = await created.json<{ id: string; scheduledDeletion: string }>();
    expect(video.scheduledDeletion).toBe(at);
    const direct = await api('/v1/direct_uploads', { method: 'POST', token, json: { scheduledDeletion: at } });
    expect(direct.status).toBe(201);
    const { videoId } = await direct.json<{ videoId: string }>();
    expect((await (await api(`/v1/videos/${videoId}`, { token })).json<{ scheduledDeletion: string }>()).scheduledDeletion).toBe(at);
    const later = iso(Date.now() + 48 * HOUR);
    expect((await (await api(`/v1/videos/${video.id}`, { method: 'PATCH', token, json: { scheduledDeletion: later } })).json<{ scheduledDeletion: string }>()).scheduledDeletion).toBe(later);
    expect((await (await api(`/v1/videos/${video.id}`, { method: 'PATCH', token, json: { scheduledDeletion: null } })).json<{ scheduledDeletion: string | null }>()).scheduledDeletion).toBeNull();
  });

  it('refuses a time in the past, less than an hour ahead, more than the maximum ahead, and junk', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    for (const [value, pattern] of [
      [iso(Date.now() - HOUR), /at least 60 minutes/],
      [iso(Date.now() + 30 * 60_000), /at least 60 minutes/],
      [iso(Date.now() + 400 * 24 * HOUR), /at most 365 days/],
      ['next tuesday', /ISO 8601/],
      [12345, /ISO 8601/],
    ] as const) {
      const res = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { scheduledDeletion: value } });
      expect(res.status, String(value)).toBe(400);
      expect((await res.json<ErrorBody>()).error.message).toMatch(pattern);
      const create = await api('/v1/videos', { method: 'POST', token, json: { title: 'x', scheduledDeletion: value } });
      expect(create.status).toBe(400);
    }
    // Nothing was created or changed by the refused requests.
    expect((await (await api(`/v1/videos/${id}`, { token })).json<{ scheduledDeletion: null }>()).scheduledDeletion).toBeNull();
    expect((await (await api('/v1/videos', { token })).json<{ videos: unknown[] }>()).videos).toHaveLength(1);
  });

  it('the cron deletes due videos through the delete path (objects, webhook) and leaves the others', async () => {
    const { token, creatorId } = await newCreator();
    const t0 = Date.now();
    const due = await (await api('/v1/videos', { method: 'POST', token, json: { title: 'due', scheduledDeletion: iso(t0 + 2 * HOUR) } })).json<{ id: string }>();
    const notYet = await (await api('/v1/videos', { method: 'POST', token, json: { title: 'later', scheduledDeletion: iso(t0 + 5 * HOUR) } })).json<{ id: string }>();
    await env.MEDIA.put(`videos/${due.id}/240p/segment_0000.ts`, 'x');
    const db = openDb(env.DB);
    await db.insert(schema.webhookEndpoints).values({ id: `wh_${due.id.slice(4)}`, creatorId, url: 'https://hooks.example.com/x', events: '["video.deleted"]', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: t0 });
    restore = setRuntime({ now: () => t0 + 3 * HOUR });
    // (Other tests of this file left videos due by then too: every one of them goes.)
    const dueNow = await env.DB.prepare("SELECT COUNT(*) AS n FROM videos WHERE scheduled_deletion <= ? AND status != 'DELETED'").bind(t0 + 3 * HOUR).first<{ n: number }>();
    expect(dueNow!.n).toBeGreaterThanOrEqual(1);
    expect(await deleteDueVideos(env, db, loadConfig(env), t0 + 3 * HOUR)).toBe(dueNow!.n);
    expect((await api(`/v1/videos/${due.id}`, { token })).status).toBe(404);
    expect((await api(`/v1/videos/${notYet.id}`, { token })).status).toBe(200);
    expect((await env.MEDIA.list({ prefix: `videos/${due.id}/` })).objects).toHaveLength(0);
    const delivery = await env.DB.prepare("SELECT event_type FROM webhook_deliveries WHERE video_id = ?").bind(due.id).first<{ event_type: string }>();
    expect(delivery?.event_type).toBe('video.deleted');
    // Run again: nothing more is due.
    expect(await deleteDueVideos(env, db, loadConfig(env), t0 + 3 * HOUR)).toBe(0);
  });
});

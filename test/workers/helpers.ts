/** Shared helpers for workerd tests: creators with tokens, JSON requests through the Worker. */
import { exports } from 'cloudflare:workers';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import type { VideoStatus } from '../../schema/schema';
import { failVideo, markDeleted, markReady, markUploadCompleted, reprocessVideo } from '../../workers/metadata/video-state';
import { openDb, schema } from '../../workers/shared/db';

export const BASE = 'http://example.com';

export async function api(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers, body }));
}

export async function newCreator(name = 'creator'): Promise<{ creatorId: string; token: string }> {
  const res = await api('/v1/admin/creators', { method: 'POST', token: env.ADMIN_TOKEN, json: { name } });
  if (res.status !== 201) throw new Error(`creating creator failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function newVideo(token: string, title = 'a video'): Promise<{ id: string; status: string }> {
  const res = await api('/v1/videos', { method: 'POST', token, json: { title, description: 'd' } });
  if (res.status !== 201) throw new Error(`creating video failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Moves a video to `status` through the state machine (workers/metadata/video-state.ts), the way the platform gets
 * there: UPLOADING → PROCESSING (upload completed) → READY or FAILED; any live state → DELETED. `facts` are the
 * analysis facts, recorded as analysis records them, before the move to READY. Throws on a move the table refuses.
 */
export async function moveVideoTo(videoId: string, status: VideoStatus, facts: { duration?: number | null } = {}): Promise<void> {
  const db = openDb(env.DB);
  const current = async () => (await db.select({ status: schema.videos.status }).from(schema.videos).where(eq(schema.videos.id, videoId)).get())?.status;
  const step = async (moved: Promise<boolean>, what: string) => {
    if (!(await moved)) throw new Error(`${videoId}: ${what} refused from ${await current()}`);
  };
  if (status === 'DELETED') return step(markDeleted(env, db, videoId), 'delete');
  if ((await current()) === 'UPLOADING' && status !== 'UPLOADING') {
    await step(markUploadCompleted(env, db, videoId, { sourceSize: 1, sourceSha256: null }, async () => undefined), 'upload completed');
  }
  if ('duration' in facts) await db.update(schema.videos).set({ duration: facts.duration }).where(eq(schema.videos.id, videoId));
  if (status === 'READY' && (await current()) !== 'READY') await step(markReady(env, db, videoId), 'ready');
  if (status === 'FAILED') await step(failVideo(env, db, videoId, 'failed in a test'), 'fail');
  if (status === 'PROCESSING' && (await current()) !== 'PROCESSING') await step(reprocessVideo(env, db, videoId), 'reprocess');
  if (status === 'UPLOADING' && (await current()) !== 'UPLOADING') throw new Error(`${videoId}: nothing moves a video back to UPLOADING`);
}

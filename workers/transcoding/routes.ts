/**
 * Transcoding HTTP surface:
 * - `POST /v1/videos/:id/renditions/:name/retry` (creator only): re-runs one failed or missing rendition — or
 *   `thumbnails` — of an analysed video. A FAILED video goes back to PROCESSING; rungs already produced are kept.
 *   409 when the rendition exists or a job covering it is still queued or running.
 * - `/internal/storage/{key}`: the local transcoder's storage (see storage-gateway.ts), plus a prefix listing, and
 *   `/internal/transcoding/videos/:id/start` for operators and tests. The internal guards (shared/internal.ts) put
 *   them behind INTERNAL_TOKEN, and the storage routes exist only with a local transcoder process.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { Hono } from 'hono';
import { requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest, conflict, notFound } from '../shared/errors';
import { isSafeId, keys } from '../shared/storage-keys';
import { startProcessing } from './start';
import type { AppEnv } from '../shared/hono-env';
import { runtime } from '../shared/runtime';
import { invalidateVideo } from '../metadata/cache';
import { requireOwnedVideo } from '../metadata/videos';
import { ensureJob } from './jobs';
import { messageForUnit, unitOf } from './messages';
import { plannedRungNames } from './outputs';
import { serveStorage, storageKeyFromPath } from './storage-gateway';

const STORAGE_PREFIX = '/internal/storage/';

export const transcodingRoutes = new Hono<AppEnv>()
  .post('/v1/videos/:id/renditions/:name/retry', requireCreator, async (c) => {
    const { id, name } = c.req.param();
    await requireOwnedVideo(c, id);
    const db = c.var.db;
    const video = (await db.select().from(schema.videos).where(eq(schema.videos.id, id)).get())!;
    if (video.status === 'UPLOADING' || video.status === 'DELETED') throw conflict(`the video is ${video.status}; nothing to retry`);
    const planned = plannedRungNames(c.var.config, video.width, video.height);
    if (planned.length === 0) throw conflict('the video was never analysed successfully; upload a new file');
    if (name !== 'thumbnails' && !planned.includes(name)) {
      throw notFound(`no rendition ${name} for this video; its ladder is ${planned.join(', ')}`);
    }
    const jobs = await db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, id)).all();
    const covers = (unit: string) => (name === 'thumbnails' ? unit === 'thumbnails' : unit.startsWith('encode:') && unit.slice(7).split('+').includes(name));
    const active = jobs.find((j) => covers(j.unit) && (j.status === 'PENDING' || j.status === 'PROCESSING'));
    if (active) throw conflict(`${name} is already being processed (${active.unit} is ${active.status})`);
    if (name === 'thumbnails') {
      if (jobs.some((j) => j.unit === 'thumbnails' && j.status === 'COMPLETED')) throw conflict('thumbnails are already complete');
    } else {
      const existing = await db
        .select({ name: schema.renditions.name })
        .from(schema.renditions)
        .where(and(eq(schema.renditions.videoId, id), eq(schema.renditions.name, name)))
        .get();
      if (existing) throw conflict(`rendition ${name} is already complete`);
    }

    const message = name === 'thumbnails' ? messageForUnit(id, 'thumbnails')! : messageForUnit(id, `encode:${name}`)!;
    const unit = unitOf(message);
    const now = runtime().now();
    await ensureJob(db, id, unit);
    // A fresh start: attempts and error reset, so the retry gets the full retry budget.
    await db
      .update(schema.transcodeJobs)
      .set({ status: 'PENDING', attempts: 0, error: null, progress: 0, leaseUntil: null, updatedAt: now })
      .where(and(eq(schema.transcodeJobs.videoId, id), eq(schema.transcodeJobs.unit, unit)));
    await db
      .update(schema.videos)
      .set({ status: 'PROCESSING', error: null, updatedAt: now })
      .where(and(eq(schema.videos.id, id), inArray(schema.videos.status, ['FAILED', 'PROCESSING', 'READY'])));
    await invalidateVideo(id);
    await c.env.TRANSCODE_QUEUE.send(message, { contentType: 'json' });
    return c.json({ videoId: id, rendition: name, unit, status: 'PENDING' }, 202);
  })
  /**
   * Operator/test hook: hand an original that is already in R2 (`originals/{id}/original`) to the pipeline, exactly
   * as upload completion does. INTERNAL_TOKEN only.
   */
  .post('/internal/transcoding/videos/:id/start', async (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) throw notFound('video not found');
    const head = await c.env.MEDIA.head(keys.original(id));
    if (!head) throw conflict('no original in storage for this video');
    const started = await startProcessing(c.env, c.var.db, id, { sourceSize: head.size });
    return c.json({ videoId: id, started }, started ? 202 : 200);
  })
  /** `GET /internal/storage?prefix=videos/{id}/`: object keys and sizes (tests, debugging). */
  .get('/internal/storage', async (c) => {
    const prefix = c.req.query('prefix') ?? '';
    if (!/^(videos|originals)\/[A-Za-z0-9_-]{1,64}\//.test(prefix)) throw badRequest('prefix must be videos/{id}/ or originals/{id}/');
    const objects: { key: string; size: number }[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.env.MEDIA.list({ prefix, cursor, limit: 1000 });
      for (const o of page.objects) objects.push({ key: o.key, size: o.size });
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return c.json({ objects });
  })
  .all('/internal/storage/*', async (c) => {
    const key = storageKeyFromPath(new URL(c.req.url).pathname, STORAGE_PREFIX);
    if (!key) throw notFound('no such storage key');
    return serveStorage(c.env.MEDIA, c.req.raw, key);
  });

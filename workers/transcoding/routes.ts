/**
 * Transcoding HTTP surface:
 * - `POST /v1/videos/:id/renditions/:name/retry` (creator only): re-runs one failed or missing rendition — or
 *   `thumbnails` — of an analysed video. A FAILED video goes back to PROCESSING; rungs already produced are kept.
 *   409 when the rendition exists or a job covering it is still queued or running.
 * - `/internal/storage/{key}`: the local transcoder's storage (see storage-gateway.ts), plus a prefix listing, and
 *   `/internal/transcoding/videos/:id/start` and `…/jobs` (its units of work) for operators and tests. The internal guards (shared/internal.ts) put
 *   them behind INTERNAL_TOKEN, and the storage routes exist only with a local transcoder process.
 * - `POST /internal/transcoding/callback`: progress and completion of dispatched units (callback.ts), behind the
 *   same INTERNAL_TOKEN guard.
 */
import { and, eq } from 'drizzle-orm';
import { createRoute } from '@hono/zod-openapi';
import { requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { apiError, badRequest, conflict, notFound } from '../shared/errors';
import { isSafeId } from '../shared/storage-keys';
import { headOriginal } from '../shared/original';
import { startProcessing } from './start';
import { reprocessVideo } from '../metadata/video-state';
import { requireOwnedVideo } from '../metadata/videos';
import { handleTranscodeCallback } from './callback';
import { jobsOfVideo, resetJobForRetry } from './jobs';
import { enqueueTranscode, messageForUnit, parseEncodeUnit, unitOf, type WorkMessage } from './messages';
import { CALLBACK_PATH } from './transcoder-client';
import { plannedRungNames } from './outputs';
import { apiRoutes, bearerAuth, errors, jsonContent, z } from '../shared/openapi';
import { VideoIdParams } from '../metadata/schemas';
import { serveStorage, storageKeyFromPath } from './storage-gateway';

const STORAGE_PREFIX = '/internal/storage/';

const retryRoute = createRoute({
  method: 'post',
  path: '/v1/videos/{id}/renditions/{name}/retry',
  tags: ['videos'],
  security: bearerAuth,
  summary: 'Encode one rendition (or the thumbnails) again; finished chunks are kept',
  middleware: [requireCreator],
  request: {
    params: VideoIdParams.extend({ name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: '720p', description: 'A rung of the ladder, or thumbnails' }) }),
  },
  responses: { 202: jsonContent(z.object({}).loose(), 'Queued'), ...errors(401, 403, 404, 409) },
});

/** A retry of a video whose original retention deleted: nothing to re-encode from. */
const originalDeleted = (at: number) =>
  apiError('original_deleted', `the original was deleted on ${new Date(at).toISOString()} under the platform's retention of originals; upload the file again as a new video to re-encode it`);

export const transcodingRoutes = apiRoutes()
  .openapi(retryRoute, async (c) => {
    const { id, name } = c.req.valid('param');
    await requireOwnedVideo(c, id);
    const db = c.var.db;
    const video = (await db.select().from(schema.videos).where(eq(schema.videos.id, id)).get())!;
    if (video.status === 'UPLOADING' || video.status === 'DELETED') throw conflict(`the video is ${video.status}; nothing to retry`);
    const planned = plannedRungNames(c.var.config, video);
    if (planned.length === 0) throw conflict('the video was never analysed successfully; upload a new file');
    if (video.originalDeletedAt !== null) throw originalDeleted(video.originalDeletedAt);
    if (name !== 'thumbnails' && !planned.includes(name)) {
      throw notFound(`no rendition ${name} for this video; its ladder is ${planned.join(', ')}`);
    }
    const jobs = await db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, id)).all();
    const covers = (unit: string) => (name === 'thumbnails' ? unit === 'thumbnails' : (parseEncodeUnit(unit)?.rungs.includes(name) ?? false));
    const active = jobs.find((j) => covers(j.unit) && (j.status === 'PENDING' || j.status === 'PROCESSING'));
    if (active) throw conflict(`${name} is already being processed (${active.unit} is ${active.status})`);
    if (name === 'thumbnails') {
      if (jobs.some((j) => j.unit === 'thumbnails' && j.status === 'COMPLETED')) throw conflict('thumbnails are already complete');
    } else {
      const existing = await db
        .select({ name: schema.renditions.name, complete: schema.renditions.complete })
        .from(schema.renditions)
        .where(and(eq(schema.renditions.videoId, id), eq(schema.renditions.name, name)))
        .get();
      if (existing?.complete) throw conflict(`rendition ${name} is already complete`);
    }

    // Thumbnails: one unit. A rung: one unit per chunk of the video's plan (the ranges its encode rows carry)
    // that has no completed job covering the rung yet — finished chunks are kept.
    const retries: { message: WorkMessage; range?: { start: number; end: number | null } }[] = [];
    if (name === 'thumbnails') retries.push({ message: messageForUnit(id, 'thumbnails')! });
    else {
      const chunks = new Map<number, { start: number; end: number | null; done: boolean }>();
      for (const j of jobs) {
        const e = parseEncodeUnit(j.unit);
        if (!e) continue;
        const c = chunks.get(e.chunk) ?? { start: j.rangeStart ?? 0, end: j.rangeStart === null ? null : j.rangeEnd, done: false };
        if (e.rungs.includes(name) && j.status === 'COMPLETED') c.done = true;
        chunks.set(e.chunk, c);
      }
      if (chunks.size === 0) chunks.set(0, { start: 0, end: null, done: false });
      for (const [chunk, c] of [...chunks].sort((a, b) => a[0] - b[0])) {
        if (!c.done) retries.push({ message: { type: 'encode', videoId: id, rungs: [name], chunk }, range: { start: c.start, end: c.end } });
      }
    }
    for (const r of retries) await resetJobForRetry(db, id, unitOf(r.message), r.range);
    if (!(await reprocessVideo(c.env, db, id))) {
      // Changed since it was read: deleted, or its original deleted by a retention run in between.
      const now = await db.select({ status: schema.videos.status, originalDeletedAt: schema.videos.originalDeletedAt }).from(schema.videos).where(eq(schema.videos.id, id)).get();
      if (now?.originalDeletedAt != null) throw originalDeleted(now.originalDeletedAt);
      throw conflict(`the video is ${now?.status ?? 'DELETED'}; nothing to retry`);
    }
    await enqueueTranscode(c.env, retries.map((r) => r.message));
    const units = retries.map((r) => unitOf(r.message));
    return c.json({ videoId: id, rendition: name, unit: units[0] ?? null, units, status: 'PENDING' }, 202);
  })
  /**
   * Operator/test hook: hand an original that is already in R2 (`originals/{id}/original`) to the pipeline, exactly
   * as upload completion does. INTERNAL_TOKEN only.
   */
  .post('/internal/transcoding/videos/:id/start', async (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) throw notFound('video not found');
    const head = await headOriginal(c.env.MEDIA, id);
    if (!head) throw conflict('no original in storage for this video');
    const started = await startProcessing(c.env, c.var.db, id, { sourceSize: head.size });
    return c.json({ videoId: id, started }, started ? 202 : 200);
  })
  /**
   * Operator/test view of a video's units of work, also after the video was deleted (the creator's API then
   * answers 404): what dashboards and sweeps see. INTERNAL_TOKEN only.
   */
  .get('/internal/transcoding/videos/:id/jobs', async (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) throw notFound('video not found');
    const rows = await jobsOfVideo(c.var.db, id);
    return c.json({ videoId: id, jobs: rows.map((j) => ({ unit: j.unit, status: j.status, attempts: j.attempts, progress: j.progress, error: j.error })) });
  })
  /** Behind the internal guard (shared/internal.ts): hono's bearer-auth with INTERNAL_TOKEN, as every /internal route. */
  .post(CALLBACK_PATH, async (c) => {
    const answer = await handleTranscodeCallback(c.env, await c.req.json().catch(() => null));
    return c.json(answer.body, answer.status);
  })
  /** `GET /internal/storage?prefix=videos/{id}/`: object keys and sizes (tests, debugging); also staged upload bytes. */
  .get('/internal/storage', async (c) => {
    const prefix = c.req.query('prefix') ?? '';
    if (!/^(videos|originals|uploads)\/[A-Za-z0-9_-]{1,64}\//.test(prefix)) throw badRequest('prefix must be videos/{id}/, originals/{id}/ or uploads/{id}/');
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
    return serveStorage(c.env.MEDIA, c.req.raw, key, c.env.DB);
  });

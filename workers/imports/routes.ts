/**
 * `POST /v1/videos/copy {url, title, …}`: a video whose original the platform fetches itself from `url` (the way
 * apps migrate a library). Answers 202 with the video, UPLOADING; the import runs from the `video-imports` queue
 * (consumer.ts) and the video then goes on as any upload (PROCESSING, READY) or fails with the reason.
 */
import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { videoView } from '../metadata/serialize';
import { scheduledDeletionAt } from '../metadata/scheduled-deletion';
import { insertUploadingVideo } from '../metadata/video-state';
import { VideoSchema } from '../metadata/schemas';
import { requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { assertWithinQuota } from '../usage/quota';
import { enqueueImport } from './messages';
import { createImport, getImport } from './repo';
import { CopyVideoSchema } from './schemas';
import { checkSourceUrl } from './source';

export const importRoutes = apiRoutes().openapi(
  createRoute({
    method: 'post',
    path: '/v1/videos/copy',
    tags: ['videos'],
    security: bearerAuth,
    summary: 'Import a video from a URL (the platform fetches the file; 202, then as any upload)',
    middleware: [requireCreator, jsonObjectBody],
    request: { body: jsonBody(CopyVideoSchema) },
    responses: { 202: jsonContent(VideoSchema, 'The new video, UPLOADING while the file is fetched'), ...errors(400, 401, 403) },
  }),
  async (c) => {
    const input = c.req.valid('json');
    const config = c.var.config;
    const verdict = checkSourceUrl(input.url, config);
    if (verdict.status === 'refused') throw badRequest(verdict.reason);
    const creatorId = c.var.creatorId!;
    await assertWithinQuota(c.var.db, creatorId, { bytes: 0 });
    const now = runtime().now();
    const id = newId('vid');
    const scheduledDeletion = scheduledDeletionAt(input.scheduledDeletion, config, now) ?? null;
    await insertUploadingVideo(c.var.db, {
      id,
      creatorId,
      title: input.title,
      description: input.description ?? '',
      visibility: input.visibility ?? 'public',
      scheduledDeletion,
      ...(input.originalLanguage ? { originalLanguage: input.originalLanguage } : {}),
      createdAt: now,
    });
    await createImport(c.var.db, { videoId: id, creatorId, url: verdict.url, deadline: now + config.imports.timeLimitMs });
    await enqueueImport(c.env, { type: 'import', videoId: id });
    const video = (await c.var.db.select().from(schema.videos).where(eq(schema.videos.id, id)).get())!;
    return c.json(videoView({ video, renditions: [], jobs: [], importJob: await getImport(c.var.db, id) }), 202, { Location: `/v1/videos/${id}` });
  },
);

/** Video metadata API: create, read, edit, delete, list. */
import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { optionalCreator, requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest, notFound } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody, z } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { CreateVideoSchema, ListVideosQuery, UpdateVideoSchema, VideoIdParams, VideoSchema } from './schemas';
import { invalidateVideo } from './cache';
import { CursorError, editVideo, listCreatorVideos } from './repo';
import { videoView, type VideoRow } from './serialize';
import { canRead, requireOwnedVideo, requireVideo } from './videos';
import { deleteVideoEverywhere } from './delete';
import { insertUploadingVideo } from './video-state';
import { encodingSettings } from './encoding-settings';
import { emitLifecycleEvent } from '../lifecycle';
import { scheduledDeletionAt } from './scheduled-deletion';

const tags = ['videos'];

/** A poster time must fall inside the video (a clip: inside the clip), which needs its length from analysis. */
function assertPosterTime(video: VideoRow, time: number): void {
  const length = video.clipOf && video.clipStart !== null && video.clipEnd !== null ? video.clipEnd - video.clipStart : video.duration;
  if (length === null) throw badRequest('posterTime can be set once the video has been analysed (its duration is known)');
  if (time > length) throw badRequest(`posterTime ${time} is past the end of the video (${Math.round(length * 1000) / 1000} s)`);
}

export const metadataRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/videos',
      tags,
      summary: 'Create a video (then upload its file with the chunk API or tus)',
      security: bearerAuth,
      middleware: [requireCreator, jsonObjectBody],
      request: { body: jsonBody(CreateVideoSchema) },
      responses: {
        201: jsonContent(VideoSchema.extend({ upload: z.object({ chunked: z.string(), tus: z.string() }) }), 'The new video, UPLOADING'),
        ...errors(400, 401),
      },
    }),
    async (c) => {
      const fields = c.req.valid('json');
      const encoding = encodingSettings(fields, c.var.config);
      const now = runtime().now();
      const id = newId('vid');
      await insertUploadingVideo(c.var.db, {
        id,
        creatorId: c.var.creatorId!,
        title: fields.title,
        description: fields.description ?? '',
        visibility: fields.visibility ?? 'public',
        scheduledDeletion: scheduledDeletionAt(fields.scheduledDeletion, c.var.config, now) ?? null,
        ...(fields.originalLanguage ? { originalLanguage: fields.originalLanguage } : {}),
        ...encoding,
        createdAt: now,
      });
      const record = { video: (await c.var.db.select().from(schema.videos).where(eq(schema.videos.id, id)).get())!, renditions: [], jobs: [] };
      return c.json(
        {
          ...videoView(record),
          upload: { chunked: `/v1/videos/${id}/upload`, tus: '/v1/uploads' },
        },
        201,
        { Location: `/v1/videos/${id}` },
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/videos',
      tags,
      summary: "List the creator's videos, newest first",
      security: bearerAuth,
      middleware: [requireCreator],
      request: { query: ListVideosQuery },
      responses: {
        200: jsonContent(z.object({ videos: z.array(VideoSchema), nextCursor: z.string().nullable() }), 'A page of videos'),
        ...errors(400, 401),
      },
    }),
    async (c) => {
      const limit = c.req.valid('query').limit ?? 20;
      let page;
      try {
        page = await listCreatorVideos(c.var.db, c.var.creatorId!, limit, c.req.query('cursor') ?? null);
      } catch (err) {
        if (err instanceof CursorError) throw badRequest('invalid cursor');
        throw err;
      }
      return c.json(
        {
          videos: page.videos.map((video) => videoView({ video, renditions: [], jobs: [] })),
          nextCursor: page.nextCursor,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/videos/{id}',
      tags,
      summary: 'Read a video (status, source facts, renditions, processing progress)',
      description: 'Public and unlisted videos need no token; a private one only for its creator.',
      middleware: [optionalCreator],
      request: { params: VideoIdParams },
      responses: { 200: jsonContent(VideoSchema, 'The video'), ...errors(401, 404) },
    }),
    async (c) => {
      const record = await requireVideo(c, c.req.valid('param').id);
      if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
      return c.json(videoView(record), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/v1/videos/{id}',
      tags,
      summary: 'Edit title, description, visibility or the poster frame (posterTime)',
      security: bearerAuth,
      middleware: [requireCreator, jsonObjectBody],
      request: { params: VideoIdParams, body: jsonBody(UpdateVideoSchema) },
      responses: { 200: jsonContent(VideoSchema, 'The edited video'), ...errors(400, 401, 403, 404) },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const before = await requireOwnedVideo(c, id);
      const fields = c.req.valid('json');
      if (typeof fields.posterTime === 'number') assertPosterTime(before.video, fields.posterTime);
      await editVideo(c.var.db, id, { ...fields, scheduledDeletion: scheduledDeletionAt(fields.scheduledDeletion, c.var.config, runtime().now()) });
      await invalidateVideo(id);
      await emitLifecycleEvent(c.env, 'video.updated', id);
      return c.json(videoView((await requireVideo(c, id))), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/videos/{id}',
      tags,
      summary: 'Delete a video and everything stored for it',
      security: bearerAuth,
      middleware: [requireCreator],
      request: { params: VideoIdParams },
      responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404) },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      await requireOwnedVideo(c, id);
      await deleteVideoEverywhere(c.env, c.var.db, id);
      return c.body(null, 204);
    },
  );

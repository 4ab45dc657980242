/** Video metadata API: create, read, edit, delete, list. */
import { Hono } from 'hono';
import { eq } from 'drizzle-orm';
import { optionalCreator, requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest, notFound, readJsonObject } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { newId, runtime } from '../shared/runtime';
import { VISIBILITIES, type Visibility } from '../../schema/schema';
import { invalidateVideo } from './cache';
import { CursorError, listCreatorVideos } from './repo';
import { videoView } from './serialize';
import { canRead, requireOwnedVideo, requireVideo } from './videos';
import { deleteVideoEverywhere } from './delete';
import { assertPosterTime, purgePoster } from '../frames/poster';

const MAX_TITLE = 200;
const MAX_DESCRIPTION = 5000;

interface VideoFields {
  title?: string;
  description?: string;
  visibility?: Visibility;
  /** Poster frame time in seconds (workers/frames); null restores the transcoder's poster. PATCH only. */
  posterTime?: number | null;
}

function parseFields(body: Record<string, unknown>, requireTitle: boolean): VideoFields {
  const fields: VideoFields = {};
  const allowed = new Set(requireTitle ? ['title', 'description', 'visibility'] : ['title', 'description', 'visibility', 'posterTime']);
  const unknown = Object.keys(body).filter((k) => !allowed.has(k));
  if (unknown.length) throw badRequest(`unknown field(s): ${unknown.join(', ')}`);
  if ('title' in body || requireTitle) {
    const title = body.title;
    if (typeof title !== 'string' || title.trim() === '') throw badRequest('title is required and must be a non-empty string');
    if (title.length > MAX_TITLE) throw badRequest(`title must be at most ${MAX_TITLE} characters`);
    fields.title = title.trim();
  }
  if ('description' in body) {
    if (typeof body.description !== 'string') throw badRequest('description must be a string');
    if (body.description.length > MAX_DESCRIPTION) throw badRequest(`description must be at most ${MAX_DESCRIPTION} characters`);
    fields.description = body.description;
  }
  if ('visibility' in body) {
    if (typeof body.visibility !== 'string' || !VISIBILITIES.includes(body.visibility as Visibility)) {
      throw badRequest(`visibility must be one of ${VISIBILITIES.join(', ')}`);
    }
    fields.visibility = body.visibility as Visibility;
  }
  if ('posterTime' in body) {
    const t = body.posterTime;
    if (t !== null && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) throw badRequest('posterTime must be a number of seconds ≥ 0, or null');
    fields.posterTime = t;
  }
  return fields;
}

export const metadataRoutes = new Hono<AppEnv>()
  .post('/v1/videos', requireCreator, async (c) => {
    const fields = parseFields(await readJsonObject(c.req.raw), true);
    const now = runtime().now();
    const id = newId('vid');
    await c.var.db.insert(schema.videos).values({
      id,
      creatorId: c.var.creatorId!,
      title: fields.title!,
      description: fields.description ?? '',
      visibility: fields.visibility ?? 'public',
      status: 'UPLOADING',
      createdAt: now,
      updatedAt: now,
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
  })
  .get('/v1/videos', requireCreator, async (c) => {
    const limitRaw = c.req.query('limit') ?? '20';
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest('limit must be an integer from 1 to 100');
    let page;
    try {
      page = await listCreatorVideos(c.var.db, c.var.creatorId!, limit, c.req.query('cursor') ?? null);
    } catch (err) {
      if (err instanceof CursorError) throw badRequest('invalid cursor');
      throw err;
    }
    return c.json({
      videos: page.videos.map((video) => videoView({ video, renditions: [], jobs: [] })),
      nextCursor: page.nextCursor,
    });
  })
  .get('/v1/videos/:id', optionalCreator, async (c) => {
    const record = await requireVideo(c, c.req.param('id'));
    if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
    return c.json(videoView(record));
  })
  .patch('/v1/videos/:id', requireCreator, async (c) => {
    const id = c.req.param('id');
    const before = await requireOwnedVideo(c, id);
    const fields = parseFields(await readJsonObject(c.req.raw), false);
    if (Object.keys(fields).length === 0) throw badRequest('nothing to update: send title, description, visibility or posterTime');
    if (typeof fields.posterTime === 'number') assertPosterTime(before.video, fields.posterTime);
    await c.var.db
      .update(schema.videos)
      .set({ ...fields, updatedAt: runtime().now() })
      .where(eq(schema.videos.id, id));
    await invalidateVideo(id);
    if ('posterTime' in fields) await purgePoster(id);
    return c.json(videoView((await requireVideo(c, id))));
  })
  .delete('/v1/videos/:id', requireCreator, async (c) => {
    const id = c.req.param('id');
    await requireOwnedVideo(c, id);
    await deleteVideoEverywhere(c.env, c.var.db, id);
    return c.body(null, 204);
  });

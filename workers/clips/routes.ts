/**
 * Instant clips:
 *   POST /v1/videos/:id/clips {start, end, title?} → 201, a new READY video playing [start, end) of the source
 *
 * No encoding: the clip's playlists list the source's segments (workers/clips/resolve.ts). Boundaries are rounded
 * outward to the source's segment boundaries (its top rung's), so the clip covers at least the asked range and
 * starts on a keyframe; the answer reports both the asked and the rounded range. A clip of a clip is a clip of the
 * original source (offsets added). A clip is its own video: own id, title, views, stats, captions, downloads.
 * Deleting the source deletes its clips (hooks.ts).
 */
import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { requireCreator } from '../shared/auth';
import { VIDEO_TEXT } from '../shared/config';
import { schema } from '../shared/db';
import { badRequest, conflict } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { requireOwnedVideo } from '../metadata/videos';
import { videoView } from '../metadata/serialize';
import { insertReadyClip } from '../metadata/video-state';
import { toPlayable } from '../playback/manifest';
import { CLIP_ID_PREFIX, roundOutward } from '../playback/clip-window';
import { VideoIdParams } from '../metadata/schemas';
import { ClipSchema, CreateClipSchema } from './schemas';

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const createClip = createRoute({
  method: 'post',
  path: '/v1/videos/{id}/clips',
  tags: ['clips'],
  security: bearerAuth,
  summary: 'An instant clip: a new READY video over a range of the source (segment boundaries, rounded outward)',
  middleware: [requireCreator, jsonObjectBody],
  request: { params: VideoIdParams, body: jsonBody(CreateClipSchema) },
  responses: { 201: jsonContent(ClipSchema, 'The clip'), ...errors(400, 401, 403, 404, 409) },
});

export const clipRoutes = apiRoutes().openapi(createClip, async (c) => {
  const { db } = c.var;
  const { start, end, ...body } = c.req.valid('json');
  const source = (await requireOwnedVideo(c, c.req.valid('param').id)).video;
  const title = body.title ?? `${source.title} (clip)`.slice(0, VIDEO_TEXT.maxTitle);
  if (source.status !== 'READY') throw conflict(`only READY videos can be clipped (this one is ${source.status})`);
  const length = source.clipOf ? source.clipEnd! - source.clipStart! : (source.duration ?? 0);
  if (end > length + 0.001) throw badRequest(`end (${end}) is past the end of the video (${round3(length)} s)`);

  // Clips always point at the original: a clip of a clip is re-based onto its source's timeline.
  const rootId = source.clipOf ?? source.id;
  const offset = source.clipOf ? source.clipStart! : 0;
  const rows = await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, rootId));
  const rungs = rows.map(toPlayable).filter((r) => r !== null);
  const top = rungs.sort((a, b) => b.height - a.height)[0];
  if (!top) throw conflict('the source has no playable rendition');
  const window = roundOutward(top.segmentDurations, offset + start, offset + Math.min(end, length));
  if (!window) throw badRequest('the range covers no segment of the video');

  const now = runtime().now();
  const id = newId(CLIP_ID_PREFIX);
  await insertReadyClip(db, {
    id,
    creatorId: source.creatorId,
    title,
    description: '',
    visibility: source.visibility,
    duration: round3(window.end - window.start),
    width: source.width,
    height: source.height,
    frameRate: source.frameRate,
    rotation: source.rotation,
    videoCodec: source.videoCodec,
    audioCodec: source.audioCodec,
    hasAudio: source.hasAudio,
    // The clip plays its source's segments: same packaging and codecs.
    ladderMode: source.ladderMode,
    packaging: source.packaging,
    codecs: source.codecs,
    clipOf: rootId,
    clipStart: round3(window.start),
    clipEnd: round3(window.end),
    createdAt: now,
  });
  const video = (await db.select().from(schema.videos).where(eq(schema.videos.id, id)).get())!;
  return c.json(
    {
      ...videoView({ video, renditions: [], jobs: [] }),
      clip: {
        sourceId: rootId,
        requested: { start, end },
        // On the clipped video's timeline (the source's, for a clip of a clip: the asked video's).
        start: round3(window.start - offset),
        end: round3(window.end - offset),
        segments: window.count,
      },
    },
    201,
    { Location: `/v1/videos/${id}` },
  );
});

/**
 * Concurrent viewers of a live broadcast, per minute:
 *
 *   POST /v1/videos/:id/watching  {session}  a player playing the broadcast says so, at most once a minute
 *   GET  /v1/videos/:id/audience             (creator) viewers per minute: distinct playback sessions seen watching
 *
 * A ping counts only with a valid playback session for the video (views/playback-session.ts), and only while the
 * video is a broadcast on air; the figures live in the input's LiveInput object and stay after the broadcast (the
 * recording's audience). Viewers per minute = distinct sessions that pinged in that minute.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { requireCreator } from '../shared/auth';
import { keyring } from '../shared/keyring';
import { apiRoutes, bearerAuth, cappedJsonObjectBody, errors, jsonBody, jsonContent } from '../shared/openapi';
import { runtime } from '../shared/runtime';
import { requireOwnedVideo, requireVideo } from '../metadata/videos';
import { VideoIdParams } from '../metadata/schemas';
import { checkSession } from '../views/playback-session';
import { registerBeaconPreflight } from '../views/beacon-cors';
import { liveInputObject } from './ingest';

const tags = ['live inputs'];

const WatchingSchema = z.strictObject({ session: z.string().max(256).nullable() }).openapi('WatchingEvent');
const WatchingResultSchema = z
  .object({ counted: z.boolean(), reason: z.enum(['not_live', 'session_missing', 'session_invalid', 'session_expired']).optional() })
  .openapi('WatchingResult');
const AudienceSchema = z
  .object({
    videoId: z.string(),
    peak: z.number().int().openapi({ description: 'The most concurrent viewers in one minute' }),
    perMinute: z.array(z.object({ minute: z.string().openapi({ description: 'ISO time of the minute' }), viewers: z.number().int() })),
  })
  .openapi('Audience');

export const audienceRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'post', path: '/v1/videos/{id}/watching', tags,
      summary: 'A player playing a live broadcast says it is watching (CORS: any origin; once a minute per playback session)',
      middleware: [cappedJsonObjectBody(() => 1024, 'watching pings')],
      request: { params: VideoIdParams, body: jsonBody(WatchingSchema) },
      responses: { 200: jsonContent(WatchingResultSchema, 'Whether the ping counted'), ...errors(400, 404, 413) },
    }),
    async (c) => {
      // The playback session is the proof of access (a private video's viewers have one too).
      const { video } = await requireVideo(c, c.req.valid('param').id);
      if (video.liveInputId === null || video.status !== 'PROCESSING') return c.json({ counted: false, reason: 'not_live' as const }, 200);
      const config = c.var.config;
      const now = runtime().now();
      const check = await checkSession(keyring(config.secrets), c.req.valid('json').session, video.id, now, { ttlSec: config.views.sessionTtlSec, skewSec: config.views.sessionSkewSec });
      if (!check.ok) return c.json({ counted: false, reason: check.reason }, 200);
      await liveInputObject(c.env, video.liveInputId).watching(video.id, check.session.sessionId, now);
      return c.json({ counted: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get', path: '/v1/videos/{id}/audience', tags, security: bearerAuth,
      summary: 'Concurrent viewers per minute of a live broadcast (also after it ended: its recording)',
      middleware: [requireCreator], request: { params: VideoIdParams },
      responses: { 200: jsonContent(AudienceSchema, 'Viewers per minute, oldest first'), ...errors(401, 403, 404) },
    }),
    async (c) => {
      const { video } = await requireOwnedVideo(c, c.req.valid('param').id);
      const rows = video.liveInputId === null ? [] : await liveInputObject(c.env, video.liveInputId).audienceOf(video.id);
      const perMinute = rows.map((r) => ({ minute: new Date(r.minute * 60_000).toISOString(), viewers: r.viewers }));
      return c.json({ videoId: video.id, peak: Math.max(0, ...rows.map((r) => r.viewers)), perMinute }, 200);
    },
  );

registerBeaconPreflight(audienceRoutes, '/v1/videos/{id}/watching', 'live inputs');

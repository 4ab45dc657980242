/** Views API: `POST /v1/videos/:id/views` (one view beacon) and `GET /v1/videos/:id/stats`. */
import { createRoute } from '@hono/zod-openapi';
import { getCookie } from 'hono/cookie';
import { optionalCreator } from '../shared/auth';
import { apiError, badRequest, notFound } from '../shared/errors';
import { apiRoutes, bearerAuth, cappedJsonObjectBody, errors, jsonBody, jsonContent } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { canRead, requireVideo } from '../metadata/videos';
import { keyring } from '../shared/keyring';
import { clientKey, takeViewAllowance } from './allowances';
import { checkSession, type SessionFailure } from './playback-session';
import { isValidViewerId, judgeView, playableFacts, watchFitsSession } from './rules';
import { StatsQuery, StatsSchema, ViewEventSchema, ViewResultSchema, instantMs, toViewEvent } from './schemas';
import { VideoIdParams } from '../metadata/schemas';
import { sessionShardFor, shardIndexFor, shardPlan, shardStub } from './routing';
import { videoStats } from './stats';
import { registerBeaconPreflight } from './beacon-cors';

/** First-party viewer cookie: a random id the Worker hands out so anonymous players have a stable viewer id. */
export const VIEWER_COOKIE = 'evv';
const VIEWER_COOKIE_MAX_AGE = 365 * 24 * 3600;

export type ViewResponse =
  | { counted: true }
  | { counted: false; reason: 'too_short' | 'duplicate' | 'creator' | 'not_playable' | SessionFailure | 'session_used' | 'watch_exceeds_session' };

function viewerCookie(id: string, secure: boolean): string {
  return `${VIEWER_COOKIE}=${id}; Path=/; Max-Age=${VIEWER_COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly${secure ? '; Secure' : ''}`;
}

const tags = ['views'];
const beaconBody = cappedJsonObjectBody((config) => config.views.maxBodyBytes, 'view events');

const beacon = createRoute({
  method: 'post',
  path: '/v1/videos/{id}/views',
  tags,
  summary: 'View beacon from a player (CORS: any origin; text/plain bodies from navigator.sendBeacon are read as JSON)',
  description: 'Body at most 4096 bytes (413 above). Without `viewerId` the first-party `evv` cookie is used; with neither, 400 and a cookie to use.',
  middleware: [optionalCreator, beaconBody],
  request: { params: VideoIdParams, body: jsonBody(ViewEventSchema) },
  responses: { 200: jsonContent(ViewResultSchema, 'Whether the view counted'), ...errors(400, 404, 413, 429, 503) },
});

export const viewRoutes = apiRoutes()
  /**
   * Benchmark baseline (bench/views.bench.ts): the same body read and validation as a view beacon, then nothing.
   * Only with BENCH_ROUTES=1 and the internal token (shared/internal.ts): not an endpoint in production.
   */
  .openapi(
    createRoute({ method: 'post', path: '/internal/views/noop', hide: true, middleware: [beaconBody], request: { body: jsonBody(ViewEventSchema) }, responses: { 200: jsonContent(ViewResultSchema, 'Never counted') } }),
    (c) => {
      toViewEvent(c.req.valid('json'));
      return c.json({ counted: false, reason: 'noop' }, 200);
    },
  )
  .openapi(beacon, async (c) => {
    const config = c.var.config;
    const event = toViewEvent(c.req.valid('json'));
    const secure = new URL(c.req.url).protocol === 'https:';
    const cookieId = getCookie(c, VIEWER_COOKIE);
    const viewerId = event.viewerId ?? (cookieId && isValidViewerId(cookieId) ? cookieId : null);
    if (!viewerId) {
      // No id at all: refuse rather than invent one per request (that would let any cookieless client count
      // unlimited views), but hand out the cookie so the player's next beacon has a stable id.
      throw apiError('bad_request', 'viewerId is required (in the body or the evv cookie)', { headers: {
        'Set-Cookie': viewerCookie(newId('vw'), secure),
      } });
    }
    const record = await requireVideo(c, c.req.valid('param').id);
    if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
    const video = record.video;

    // Business rule: a creator watching their own video (authenticated as the owner) does not add views.
    if (c.var.creatorId === video.creatorId) return c.json({ counted: false, reason: 'creator' } satisfies ViewResponse, 200);
    // Only a video with something playable and an analysed duration (or a live broadcast on air) can have been
    // watched (see rules.ts).
    const facts = playableFacts({ status: video.status, duration: video.duration ?? null, liveInputId: video.liveInputId ?? null }, record.renditions.length, event, config);
    if (!facts.playable) return c.json({ counted: false, reason: 'not_playable' } satisfies ViewResponse, 200);
    const verdict = judgeView(event, facts.duration, config);

    const now = runtime().now();
    const check = await checkSession(keyring(config.secrets), event.session, video.id, now, { ttlSec: config.views.sessionTtlSec, skewSec: config.views.sessionSkewSec });
    if (!check.ok) return c.json({ counted: false, reason: check.reason } satisfies ViewResponse, 200);
    if (!verdict.valid) return c.json({ counted: false, reason: verdict.reason } satisfies ViewResponse, 200);
    if (!watchFitsSession(event.watchDuration, check.session.startMs, now, config.views.sessionSkewSec)) {
      return c.json({ counted: false, reason: 'watch_exceeds_session' } satisfies ViewResponse, 200);
    }

    // Only an event that would count spends the address's allowance; one that then does not count gives it back.
    const slot = await takeViewAllowance(c.env, config, clientKey(c.req.raw), video.id);
    const plan = await shardPlan(c.var.db, config, video.id);
    const shardIndex = shardIndexFor(viewerId, plan.shardCount);
    const { sessionId } = check.session;
    const sessionExpiresAt = check.session.startMs + (config.views.sessionTtlSec + config.views.sessionSkewSec) * 1000;
    // A promoted video: the session's own shard decides the session when it is not the viewer's (counter/dedup.ts).
    const sessionShard = sessionShardFor(sessionId, plan.shardCount);
    const claimedElsewhere = sessionShard !== shardIndex;
    if (claimedElsewhere) {
      const claim = await shardStub(c.env, video.id, sessionShard).claimSession({ videoId: video.id, shardIndex: sessionShard, ...plan, sessionId, sessionExpiresAt });
      if (claim.status !== 'fresh') {
        await slot.refund().catch((err: unknown) => console.error('allowance refund failed', err));
        if (claim.status === 'session_used') return c.json({ counted: false, reason: 'session_used' } satisfies ViewResponse, 200);
        throw apiError('unavailable', 'view counter unavailable; retry the event', { headers: { 'Retry-After': '1' } });
      }
    }
    const result = await shardStub(c.env, video.id, shardIndex).record({
      videoId: video.id,
      shardIndex,
      ...plan,
      viewerId,
      watchDuration: event.watchDuration,
      sessionId: claimedElsewhere ? null : sessionId,
      sessionExpiresAt,
    });
    if (result.status !== 'counted') {
      await slot.refund().catch((err: unknown) => console.error('allowance refund failed', err));
      if (claimedElsewhere) await shardStub(c.env, video.id, sessionShard).releaseSession(sessionId).catch((err: unknown) => console.error('session release failed', err));
    }
    switch (result.status) {
      case 'counted':
        return c.json({ counted: true } satisfies ViewResponse, 200);
      case 'duplicate':
        return c.json({ counted: false, reason: 'duplicate' } satisfies ViewResponse, 200);
      case 'session_used':
        return c.json({ counted: false, reason: 'session_used' } satisfies ViewResponse, 200);
      case 'rate_limited':
        throw apiError('rate_limited', 'too many view events from this viewer; slow down', { headers: {
          'Retry-After': String(result.retryAfterSec),
        } });
      case 'failed':
        throw apiError('unavailable', 'view counter unavailable; retry the event', { headers: { 'Retry-After': '1' } });
    }
  })
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/videos/{id}/stats',
      tags,
      summary: "Views, unique viewers and hourly counts over a range (at most 31 days; default the last 48 hours); the video's creator only",
      description: 'Anyone else gets 404, as for a video that does not exist. The public view count is the video object\'s `viewCount`.',
      security: bearerAuth,
      middleware: [optionalCreator],
      request: { params: VideoIdParams, query: StatsQuery },
      responses: { 200: jsonContent(StatsSchema, 'Stats'), ...errors(400, 404) },
    }),
    async (c) => {
      const config = c.var.config;
      const query = c.req.valid('query');
      const record = await requireVideo(c, c.req.valid('param').id);
      // Business rule: detailed statistics (unique viewers, the hourly series) belong to the creator; the public
      // count is on the video object. Anyone else cannot tell this video's stats from a missing video's.
      if (record.video.creatorId !== c.var.creatorId) throw notFound('video not found');
      const now = runtime().now();
      const to = instantMs(query.to) ?? now;
      const from = instantMs(query.from) ?? to - config.views.statsDefaultHours * 3_600_000;
      if (from >= to) throw badRequest('from must be before to');
      if (to - from > config.views.statsMaxHours * 3_600_000) {
        throw badRequest(`the range may span at most ${config.views.statsMaxHours} hours`);
      }
      return c.json(await videoStats(c.env, c.var.db, config, record.video.id, from, to), 200);
    },
  );

registerBeaconPreflight(viewRoutes, '/v1/videos/{id}/views', 'views');

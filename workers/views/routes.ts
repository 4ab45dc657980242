/** Views API: `POST /v1/videos/:id/views` (one view beacon) and `GET /v1/videos/:id/stats`. */
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { optionalCreator } from '../shared/auth';
import { ApiError, badRequest, notFound } from '../shared/errors';
import { readCappedBody } from '../shared/body';
import type { AppEnv } from '../shared/hono-env';
import { newId, runtime } from '../shared/runtime';
import { canRead, requireVideo } from '../metadata/videos';
import { keyring } from '../playback/signing';
import { clientKey, takeViewAllowance } from './allowances';
import { checkSession, type SessionFailure } from './playback-session';
import { effectiveDuration, hasPlayable, isValidViewerId, judgeView, parseViewEvent, watchFitsSession } from './rules';
import { shardIndexFor, shardPlan, shardStub } from './routing';
import { videoStats } from './stats';

/** First-party viewer cookie: a random id the Worker hands out so anonymous players have a stable viewer id. */
export const VIEWER_COOKIE = 'evv';
const VIEWER_COOKIE_MAX_AGE = 365 * 24 * 3600;

export type ViewResponse =
  | { counted: true }
  | { counted: false; reason: 'too_short' | 'duplicate' | 'creator' | 'not_playable' | SessionFailure | 'session_used' | 'watch_exceeds_session' };

/** Reads at most `max` bytes (413 above, whatever Content-Length claims) and parses a JSON object (400 otherwise). */
export async function readSmallJson(req: Request, max: number): Promise<Record<string, unknown>> {
  const bytes = await readCappedBody(req, max, `view events are at most ${max} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badRequest('request body must be valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  return body as Record<string, unknown>;
}

function viewerCookie(id: string, secure: boolean): string {
  return `${VIEWER_COOKIE}=${id}; Path=/; Max-Age=${VIEWER_COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly${secure ? '; Secure' : ''}`;
}

/** `from`/`to`: ISO 8601 or epoch milliseconds. */
function parseInstant(raw: string | undefined, name: string): number | null {
  if (raw === undefined || raw === '') return null;
  const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an ISO 8601 time or epoch milliseconds`);
  return ms;
}

export const viewRoutes = new Hono<AppEnv>()
  /**
   * Benchmark baseline (bench/views.bench.ts): the same body read and JSON parse as a view beacon, then nothing.
   * Only with BENCH_ROUTES=1 and the internal token (shared/internal.ts): not an endpoint in production.
   */
  .post('/internal/views/noop', async (c) => {
    parseViewEvent(await readSmallJson(c.req.raw, c.var.config.views.maxBodyBytes));
    return c.json({ counted: false, reason: 'noop' });
  })
  .post('/v1/videos/:id/views', optionalCreator, async (c) => {
    const config = c.var.config;
    const event = parseViewEvent(await readSmallJson(c.req.raw, config.views.maxBodyBytes));
    const secure = new URL(c.req.url).protocol === 'https:';
    const cookieId = getCookie(c, VIEWER_COOKIE);
    const viewerId = event.viewerId ?? (cookieId && isValidViewerId(cookieId) ? cookieId : null);
    if (!viewerId) {
      // No id at all: refuse rather than invent one per request (that would let any cookieless client count
      // unlimited views), but hand out the cookie so the player's next beacon has a stable id.
      throw new ApiError(400, 'bad_request', 'viewerId is required (in the body or the evv cookie)', undefined, {
        'Set-Cookie': viewerCookie(newId('vw'), secure),
      });
    }
    const record = await requireVideo(c, c.req.param('id'));
    if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
    const video = record.video;

    // Business rule: a creator watching their own video (authenticated as the owner) does not add views.
    if (c.var.creatorId === video.creatorId) return c.json<ViewResponse>({ counted: false, reason: 'creator' });
    // Only a video with something playable and an analysed duration can have been watched (see rules.ts).
    const stored = video.duration ?? null;
    if (!hasPlayable(video.status, record.renditions.length, stored)) return c.json<ViewResponse>({ counted: false, reason: 'not_playable' });
    const verdict = judgeView(event, effectiveDuration(event, stored, config), config);

    const now = runtime().now();
    const check = await checkSession(keyring(c.env), event.session, video.id, now, { ttlSec: config.views.sessionTtlSec, skewSec: config.views.sessionSkewSec });
    if (!check.ok) return c.json<ViewResponse>({ counted: false, reason: check.reason });
    if (!verdict.valid) return c.json<ViewResponse>({ counted: false, reason: verdict.reason });
    if (!watchFitsSession(event.watchDuration, check.session.startMs, now, config.views.sessionSkewSec)) {
      return c.json<ViewResponse>({ counted: false, reason: 'watch_exceeds_session' });
    }

    // Only an event that would count spends the address's allowance; one that then does not count gives it back.
    const slot = await takeViewAllowance(c.env, config, clientKey(c.req.raw), video.id);
    const plan = await shardPlan(c.var.db, config, video.id);
    const shardIndex = shardIndexFor(viewerId, plan.shardCount);
    const result = await shardStub(c.env, video.id, shardIndex).record({
      videoId: video.id,
      shardIndex,
      ...plan,
      viewerId,
      watchDuration: event.watchDuration,
      sessionId: check.session.sessionId,
      sessionExpiresAt: check.session.startMs + (config.views.sessionTtlSec + config.views.sessionSkewSec) * 1000,
    });
    if (result.status !== 'counted') await slot.refund().catch((err: unknown) => console.error('allowance refund failed', err));
    switch (result.status) {
      case 'counted':
        return c.json<ViewResponse>({ counted: true });
      case 'duplicate':
        return c.json<ViewResponse>({ counted: false, reason: 'duplicate' });
      case 'session_used':
        return c.json<ViewResponse>({ counted: false, reason: 'session_used' });
      case 'rate_limited':
        throw new ApiError(429, 'rate_limited', 'too many view events from this viewer; slow down', undefined, {
          'Retry-After': String(result.retryAfterSec),
        });
      case 'failed':
        throw new ApiError(503, 'unavailable', 'view counter unavailable; retry the event', undefined, { 'Retry-After': '1' });
    }
  })
  .get('/v1/videos/:id/stats', optionalCreator, async (c) => {
    const config = c.var.config;
    const record = await requireVideo(c, c.req.param('id'));
    if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
    const now = runtime().now();
    const to = parseInstant(c.req.query('to'), 'to') ?? now;
    const from = parseInstant(c.req.query('from'), 'from') ?? to - config.views.statsDefaultHours * 3_600_000;
    if (from >= to) throw badRequest('from must be before to');
    if (to - from > config.views.statsMaxHours * 3_600_000) {
      throw badRequest(`the range may span at most ${config.views.statsMaxHours} hours`);
    }
    return c.json(await videoStats(c.env, c.var.db, config, record.video.id, from, to));
  });

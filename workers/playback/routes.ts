/**
 * Playback HTTP surface:
 *   GET /v1/videos/:id/playback          → { url, expiresAt, session }: a signed master-playlist URL and a fresh
 *                                          playback session for view beacons (workers/views/playback-session.ts)
 *   GET|HEAD /v/{id}/t/{token}/…          → manifests, segments, thumbnails through the edge cache
 *   OPTIONS /v/…                          → CORS preflight (players on other origins send `Range`)
 *
 * Why the token is in the path rather than the query: HLS players resolve every URI in a playlist relative to
 * the playlist's URL, and relative resolution keeps the path but drops the query. With `/v/{id}/t/{token}/` as
 * the base, `360p/playlist.m3u8`, `segment_0003.ts` and the storyboard's `sprite_0.jpg` all carry the token in
 * hls.js, Safari and any other standard player, while the playlists stay byte-identical for all viewers: they are
 * built once, cached once, and served from the cache without a per-request rewrite (which would cost a body copy
 * per request and make playlists uncacheable as bytes). Query parameters are ignored entirely, so duplicated or
 * reordered ones change nothing and cannot create extra cache entries — except on `thumbnails/at.jpg`, whose
 * `time` and `width` are parsed strictly and canonicalised (workers/frames) before they form a key.
 */
import { $, createRoute } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { optionalCreator } from '../shared/auth';
import { apiError, ApiError, badRequest, errorResponse, notFound } from '../shared/errors';
import { apiRoutes, errors, jsonContent } from '../shared/openapi';
import { runtime } from '../shared/runtime';
import { AUDIO_RENDITION, isSafeId, publicPaths } from '../shared/storage-keys';
import { allRungNames } from '../shared/rendition-names';
import { CORS_HEADERS, cacheUrl, serveThroughCache } from './edge-cache';
import type { PlaybackExtensions } from './extensions';
import { assertPlayable, produceObject } from './objects';
import { parsePlaybackPath } from './paths';
import { cacheKeyPath } from './object-keys';
import { authorizePlayback } from './authorize';
import { signToken } from './signing';
import { withPlaybackSession } from './viewer-session';
import { meterDelivery } from './metering';
import { keyring } from '../shared/keyring';
import { publicOrigin } from '../shared/config';
import { getPlaybackState, knowsSegment, loadPlaybackState, type PlaybackState } from './state';
import { benchRoutes } from './bench-routes';
import { clientKey, takeSessionAllowance } from '../views/allowances';
import { issueSession } from '../views/playback-session';
import { VideoIdParams } from '../metadata/schemas';
import { PlaybackQuery, PlaybackSchema } from './schemas';

function playbackError(err: ApiError): Response {
  return errorResponse(err.code, err.message, { 'Cache-Control': 'no-store', ...CORS_HEADERS, ...err.headers });
}

const playbackUrl = createRoute({
  method: 'get',
  path: '/v1/videos/{id}/playback',
  tags: ['playback'],
  summary: 'A signed master playlist URL for players, and a playback session for view beacons (CORS: any origin)',
  middleware: [optionalCreator],
  request: { params: VideoIdParams, query: PlaybackQuery },
  responses: { 200: jsonContent(PlaybackSchema, 'Playback URL and session'), ...errors(400, 404, 409, 429, 503) },
});

/** The playback routes, serving the objects `extensions` adds (captions, downloads, frames) beside the rungs. */
export const playbackRoutes = (extensions: PlaybackExtensions) => $(
  apiRoutes().use('/v1/videos/:id/playback', cors({ origin: '*', allowMethods: ['GET', 'OPTIONS'], allowHeaders: ['Authorization'], maxAge: 86400 })),
)
  .openapi(playbackUrl, async (c) => {
    const config = c.var.config;
    const videoId = c.req.valid('param').id;
    const asked = c.req.valid('query').ttl;
    const ttl = asked === undefined ? config.playback.signedUrlTtlSec : Math.min(Number(asked), config.playback.maxSignedUrlTtlSec);
    if (!isSafeId(videoId)) throw notFound('video not found');
    // Read from D1, not a cache: a video that just became READY or DELETED must be seen as such at once.
    const state = await loadPlaybackState(c.var.db, videoId);
    if (!state || state.video.status === 'DELETED') throw notFound('video not found');
    if (state.video.visibility === 'private' && state.video.creatorId !== c.var.creatorId) throw notFound('video not found');
    const playable = assertPlayable(state);
    // Every call opens a playback session, so sessions are what an address's allowance bounds (429 past it).
    await takeSessionAllowance(c.env, config, clientKey(c.req.raw));
    const ring = keyring(config.secrets);
    const now = runtime().now();
    const signed = await signToken(ring, videoId, now / 1000, ttl);
    const session = await issueSession(ring, videoId, now);
    if (!signed || !session) throw apiError('unavailable', 'playback signing keys are not configured');
    const cmaf = [...playable.renditions.values()].some((r) => r.packaging === 'cmaf');
    const origin = publicOrigin(config, c.req.url);
    return c.json(
      {
        url: `${origin}${publicPaths.signedMaster(videoId, signed.token)}`,
        // The same segments as a DASH manifest (CMAF videos).
        ...(cmaf ? { dashUrl: `${origin}${publicPaths.signedDashManifest(videoId, signed.token)}` } : {}),
        expiresAt: new Date(signed.exp * 1000).toISOString(),
        session: session.token,
        status: playable.video.status,
        renditions: [...playable.renditions.values()].filter((r) => r.kind === 'video').sort((a, b) => a.height - b.height).map((r) => r.name),
      },
      200,
      { 'Cache-Control': 'no-store' },
    );
  })
  .options('/v/*', () => {
    return new Response(null, {
      status: 204,
      headers: {
        ...CORS_HEADERS,
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'Range, If-None-Match, If-Modified-Since',
        'Access-Control-Max-Age': '86400',
      },
    });
  })
  .get('/v/*', async (c) => {
    try {
      const config = c.var.config;
      const url = new URL(c.req.url);
      const parsed = parsePlaybackPath(url.pathname, [...allRungNames(config.transcoding.ladder), AUDIO_RENDITION], url.searchParams);
      if (parsed.status === 'invalid') throw notFound(parsed.reason);
      if (parsed.status === 'bad_request') throw badRequest(parsed.reason);
      const { object } = parsed;
      await authorizePlayback(c.req.raw, c.var.db, config, parsed);
      // A playlist miss reads the rungs fresh (a live rung grows every segment); other misses share the memo, unless
      // it is older than the segment asked for (a growing rung's newest, listed by a playlist read since).
      const current = object.kind === 'segment' ? (s: PlaybackState | null) => knowsSegment(s, object.rendition, object.index) : undefined;
      const loadState = () => (object.kind === 'media' ? loadPlaybackState(c.var.db, object.videoId) : getPlaybackState(c.var.db, object.videoId, config.playback.stateTtlMs, current));
      const res = await serveThroughCache(
        c.req.raw,
        cacheUrl(await cacheKeyPath(object, loadState, config, extensions)),
        async () => produceObject(c.env, config, extensions, await loadState(), object, clientKey(c.req.raw)),
        { waitUntil: (p) => c.executionCtx.waitUntil(p), followerWaitMs: config.playback.singleFlightWaitMs, hot: config.playback.hotCache },
      );
      if (object.kind === 'segment') await meterDelivery(c, config, object, res);
      if (object.kind !== 'master' || c.req.method !== 'GET' || res.status !== 200) return res;
      return withPlaybackSession(c.env, config, c.req.raw, res, object.videoId);
    } catch (err) {
      if (err instanceof ApiError) return playbackError(err);
      throw err;
    }
  })
  .route('/', benchRoutes);

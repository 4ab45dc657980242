/**
 * `GET /embed/{videoId}`: the platform's player as a page meant for an `<iframe>` on an app's site (docs/embed.md).
 *
 * Before it renders a player it checks what the player would meet: the video exists, is not deleted, is playable,
 * and the `token` (any playback token: the platform's HMAC token or a token the app signed) grants it; without a
 * token, the video must allow unsigned playback (public, `requireSignedURLs: false`). Anything else is an error page
 * with the catalogue's code and status, which also reaches the parent frame as an `error` event.
 *
 * Framing: the CSP's `frame-ancestors` lists the origins allowed by the video (PATCH `allowedOrigins`) and by a
 * signed-key token's `allowedOrigins` claim (both apply: the origins in every list); with no list, any page may
 * frame it. The player's own media requests come from this origin, which playback accepts as the platform's own
 * (workers/playback/authorize.ts): the lists are enforced here, by the browser, on the embedding page.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { requireVideo } from '../../metadata/videos';
import { allowedOriginsFor, playbackGrant } from '../../playback/authorize';
import { getPlaybackPolicy } from '../../playback/policy';
import { ApiError, notFound, statusOf, type ErrorCode } from '../../shared/errors';
import { isSafeId } from '../../shared/storage-keys';
import type { AppEnv } from '../../shared/hono-env';
import { EmbedErrorPage, EmbedPage, type EmbedConfig } from './page';
import { parseEmbedOptions, type EmbedOptions } from './params';

export function embedHeaders(frameAncestors: string[] | null, poster: string | null): Record<string, string> {
  const posterOrigin = poster ? ` ${new URL(poster).origin}` : '';
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src 'self' data: blob:${posterOrigin}`,
      "media-src 'self' blob:",
      "connect-src 'self'",
      "worker-src 'self' blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      `frame-ancestors ${frameAncestors === null ? '*' : frameAncestors.length ? frameAncestors.join(' ') : "'none'"}`,
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    // The page depends on the video's state and settings: never reuse it without asking.
    'Cache-Control': 'no-cache',
  };
}

function errorPage(c: Context<AppEnv>, videoId: string, code: ErrorCode, message: string, frameAncestors: string[] | null) {
  const config = { videoId, parentOrigins: frameAncestors, error: { code, message } };
  return c.html(<EmbedErrorPage config={config} />, statusOf(code) as ContentfulStatusCode, embedHeaders(frameAncestors, null));
}

async function render(c: Context<AppEnv>, videoId: string, options: EmbedOptions) {
  const { db, config } = c.var;
  if (!isSafeId(videoId)) throw notFound('video not found');
  const policy = await getPlaybackPolicy(db, videoId, config.playback.policyTtlMs);
  // Unknown, deleted and (without a token) private videos all read "not found": nothing is confirmed.
  if (!policy || policy.deleted || (options.token === null && policy.visibility === 'private')) throw notFound('video not found');
  // Without a token only a public video that allows unsigned playback plays; with one, the token is the grant.
  const grant = await playbackGrant(db, config, videoId, options.token);
  const record = await requireVideo(c, videoId);
  const video = record.video;
  const frameAncestors = allowedOriginsFor(policy, grant);
  const playable = video.status === 'READY' || (video.status === 'PROCESSING' && record.renditions.length > 0);
  if (!playable) return errorPage(c, videoId, 'conflict', 'This video is not ready to play yet.', frameAncestors);
  const embedConfig: EmbedConfig = { videoId, parentOrigins: frameAncestors };
  return c.html(<EmbedPage title={video.title} options={options} config={embedConfig} />, 200, embedHeaders(frameAncestors, options.poster));
}

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  not_found: 'This video does not exist or was deleted.',
  signature_required: 'This video can only be embedded with a playback token (?token=…).',
};

export const embedRoutes = new Hono<AppEnv>().get('/embed/:id', async (c) => {
  const videoId = c.req.param('id');
  const parsed = parseEmbedOptions(new URL(c.req.url).searchParams);
  if (!parsed.ok) return errorPage(c, videoId, 'bad_request', parsed.message, null);
  try {
    return await render(c, videoId, parsed.options);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return errorPage(c, videoId, err.code, MESSAGES[err.code] ?? err.message, null);
  }
});

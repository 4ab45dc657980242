/**
 * The watch page's master playlist URL and the video's public facts (title, description, duration, views), rendered
 * into the page so the player starts before any API call and the page shows the video without one: the
 * unsigned URL of a video that allows it (public, `requireSignedURLs: false`), else a URL signed here with the
 * platform's HMAC token, as `GET /v1/videos/:id/playback` would sign it, for anyone may watch a public or unlisted
 * video. A private video (only its creator may play it: the creator's token is in the browser, not the request), a
 * video with nothing to play yet and an unknown one get none; the page then asks the API, which says why.
 * The viewer's playback session comes from the master playlist's response, not from here. When the video cannot be
 * read (D1 failing), the page still renders without a URL: its API calls then say what is wrong.
 */
import type { Context } from 'hono';
import { getVideoRecord } from '../metadata/cache';
import { loadVideoRecord } from '../metadata/repo';
import { signToken } from '../playback/signing';
import { publicOrigin } from '../shared/config';
import type { AppEnv } from '../shared/hono-env';
import { keyring } from '../shared/keyring';
import { logEvent } from '../shared/log';
import { runtime } from '../shared/runtime';
import { publicPaths } from '../shared/storage-keys';

/** What the watch page starts with: the master URL and the video's public facts (shown without an API call). */
export interface WatchSource {
  src: string;
  video: { title: string; description: string; duration: number | null; viewCount: number };
}

export async function watchSource(c: Context<AppEnv>, videoId: string): Promise<WatchSource | null> {
  const { config } = c.var;
  const record = await getVideoRecord(videoId, (id) => loadVideoRecord(c.var.db, id), config).catch((err: unknown) => {
    logEvent('warn', 'watch.source_unavailable', { videoId, error: err instanceof Error ? err.message : String(err) });
    return null;
  });
  if (!record) return null;
  const { video, renditions } = record;
  const playable = video.status === 'READY' || (video.status === 'PROCESSING' && renditions.length > 0);
  if (!playable || video.visibility === 'private') return null;
  const origin = publicOrigin(config, c.req.url);
  const facts = { title: video.title, description: video.description, duration: video.duration, viewCount: video.viewCount };
  if (video.visibility === 'public' && !video.requireSignedUrls) return { src: `${origin}${publicPaths.master(videoId)}`, video: facts };
  const signed = await signToken(keyring(config.secrets), videoId, runtime().now() / 1000, config.playback.signedUrlTtlSec);
  return signed ? { src: `${origin}${publicPaths.signedMaster(videoId, signed.token)}`, video: facts } : null;
}

/**
 * Frames' part of editing a video (a `video.updated` hook, wired in workers/lifecycle-hooks.ts): a chosen poster
 * (`posterTime`) is served as `thumbnails/poster.jpg`, cached briefly; an edit drops this location's copy at once
 * (other locations keep theirs up to `frames.posterCacheControl`).
 */
import { cacheUrl, purge } from '../playback/edge-cache';
import { forgetPlaybackState } from '../playback/state';
import { publicPaths } from '../shared/storage-keys';

export async function purgeChosenPoster(_env: Env, videoId: string): Promise<void> {
  forgetPlaybackState(videoId);
  await purge([cacheUrl(publicPaths.thumbnail(videoId, 'poster.jpg'))]);
}

/**
 * Drops this location's cached copies of what a caption change alters: the master, the DASH manifest (its text
 * tracks; a key that was never filled costs nothing) and the track's objects.
 */
import { cacheUrl, purge } from '../playback/edge-cache';
import { forgetPlaybackState } from '../playback/state';
import { publicPaths } from '../shared/storage-keys';

export async function purgeCaptionObjects(videoId: string, langs: readonly string[]): Promise<void> {
  forgetPlaybackState(videoId);
  const paths = [publicPaths.master(videoId), publicPaths.dashManifest(videoId)];
  for (const lang of langs) paths.push(publicPaths.captionPlaylist(videoId, lang), publicPaths.captionSegment(videoId, lang), publicPaths.captionFile(videoId, lang));
  await purge(paths.map(cacheUrl));
}

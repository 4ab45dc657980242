/**
 * Drops this location's cached copies of what an audio track change alters: the master and the DASH manifest (they
 * list the tracks) and the track's own playlist. Its segments are purged when a new file replaces them.
 */
import { cacheUrl, purge } from '../playback/edge-cache';
import { forgetPlaybackState } from '../playback/state';
import { audioTrackRendition, publicPaths } from '../shared/storage-keys';

/** The two objects that list the audio group. */
export async function purgeAudioGroupObjects(videoId: string): Promise<void> {
  forgetPlaybackState(videoId);
  await purge([publicPaths.master(videoId), publicPaths.dashManifest(videoId)].map(cacheUrl));
}

export async function purgeAudioTrackObjects(videoId: string, lang: string, segments: { count: number; packaging: 'ts' | 'cmaf' } | null = null): Promise<void> {
  forgetPlaybackState(videoId);
  const rendition = audioTrackRendition(lang);
  const paths = [publicPaths.master(videoId), publicPaths.dashManifest(videoId), publicPaths.mediaPlaylist(videoId, rendition)];
  if (segments) {
    for (let n = 0; n < segments.count; n++) paths.push(publicPaths.segment(videoId, rendition, n, segments.packaging));
    if (segments.packaging === 'cmaf') paths.push(publicPaths.init(videoId, rendition));
  }
  await purge(paths.map(cacheUrl));
}

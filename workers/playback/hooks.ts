/**
 * Playback's lifecycle hooks, wired in workers/lifecycle-hooks.ts: warm on `video.ready`, forget the access settings
 * on `video.updated`, purge on `video.deleted`.
 */
import type { VideoHook } from '../lifecycle';
import { loadConfig } from '../shared/config';
import type { PlaybackExtensions } from './extensions';
import { forgetPlaybackPolicy } from './policy';
import { purgeVideo, warmVideo } from './warming';

/** `video.ready`: the new video's playlists and first seconds into this location's cache. */
export function warmPlaybackCaches(extensions: PlaybackExtensions): VideoHook {
  return async (env, videoId) => {
    const report = await warmVideo(env, loadConfig(env), extensions, videoId);
    if (report.failed) console.warn(`video.ready warm for ${videoId}: ${report.failed} object(s) failed`);
  };
}

export async function purgePlaybackCaches(env: Env, videoId: string): Promise<void> {
  await purgeVideo(env, videoId);
}

/** `video.updated`: this isolate reads the video's access settings (allowed origins, signed URLs) afresh. */
export async function forgetPlaybackAccess(_env: Env, videoId: string): Promise<void> {
  forgetPlaybackPolicy(videoId);
}

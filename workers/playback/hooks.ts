/** Playback's lifecycle hooks, wired in workers/lifecycle-hooks.ts: warm on `video.ready`, purge on `video.deleted`. */
import { loadConfig } from '../shared/config';
import { purgeVideo, warmVideo } from './warming';

export async function warmPlaybackCaches(env: Env, videoId: string): Promise<void> {
  const report = await warmVideo(env, loadConfig(env), videoId);
  if (report.failed) console.warn(`video.ready warm for ${videoId}: ${report.failed} object(s) failed`);
}

export async function purgePlaybackCaches(env: Env, videoId: string): Promise<void> {
  await purgeVideo(env, videoId);
}

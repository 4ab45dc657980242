/** Playback's lifecycle hooks; imported by the playback routes, so registering happens when the app loads. */
import { registerVideoDeletedHook, registerVideoReadyHook } from '../lifecycle';
import { loadConfig } from '../shared/config';
import { purgeVideo, warmVideo } from './warming';

registerVideoReadyHook(async (env, videoId) => {
  const report = await warmVideo(env, loadConfig(env), videoId);
  if (report.failed) console.warn(`video.ready warm for ${videoId}: ${report.failed} object(s) failed`);
});

registerVideoDeletedHook(async (env, videoId) => {
  await purgeVideo(env, videoId);
});
import './media-purge';

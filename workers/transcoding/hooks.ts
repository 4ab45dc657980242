/**
 * Transcoding's part of deleting a video: units still running may upload a segment after the delete swept the
 * prefix (their next callback answers 410 and stops them), so a `purge` message sweeps `videos/{id}/` again once
 * those uploads have landed.
 */
import { registerVideoDeletedHook } from '../lifecycle';
import { loadConfig } from '../shared/config';
import type { TranscodeMessage } from './messages';

registerVideoDeletedHook(async (env, videoId) => {
  const config = loadConfig(env as unknown as Record<string, unknown>);
  const message: TranscodeMessage = { type: 'purge', videoId };
  await env.TRANSCODE_QUEUE.send(message, { contentType: 'json', delaySeconds: config.transcoding.purgeDelaySec });
});

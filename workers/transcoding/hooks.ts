/**
 * Transcoding's part of deleting a video: units still running may upload a segment after the delete swept the
 * prefix (their next callback answers 410 and stops them), so a `purge` message sweeps `videos/{id}/` again once
 * those uploads have landed.
 */
import { registerVideoDeletedHook } from '../lifecycle';
import type { TranscodeMessage } from './messages';

registerVideoDeletedHook(async (env, videoId) => {
  // Sent at once; the consumer holds it back until `purgeDelaySec` after the deletion (see consumer.ts).
  const message: TranscodeMessage = { type: 'purge', videoId };
  await env.TRANSCODE_QUEUE.send(message, { contentType: 'json' });
});

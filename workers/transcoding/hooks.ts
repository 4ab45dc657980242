/**
 * Transcoding's part of deleting a video (a `video.deleted` hook, wired in workers/lifecycle-hooks.ts): units still
 * running may upload a segment after the delete swept the prefix (their next callback answers 410 and stops them),
 * so a `purge` message sweeps `videos/{id}/` again once those uploads have landed.
 */
import { enqueueTranscode } from './messages';

export async function schedulePurgeSweep(env: Env, videoId: string): Promise<void> {
  // Sent at once; the consumer holds it back until `purgeDelaySec` after the deletion (see consumer.ts).
  await enqueueTranscode(env, { type: 'purge', videoId });
}

/**
 * Transcoding's part of deleting a video (`video.deleted` hooks, wired in workers/lifecycle-hooks.ts). Units still
 * running may upload a segment after the delete swept the prefix (their next callback answers 410 and stops them),
 * so a `purge` message sweeps `videos/{id}/` again once those uploads have landed.
 */
import { openDb } from '../shared/db';
import { cancelJobsOfVideo } from './jobs';
import { enqueueTranscode } from './messages';

export async function schedulePurgeSweep(env: Env, videoId: string): Promise<void> {
  // Sent at once; the consumer holds it back until `purgeDelaySec` after the deletion (see consumer.ts).
  await enqueueTranscode(env, { type: 'purge', videoId });
}

/** The deleted video's unfinished units end as CANCELLED, so dashboards and sweeps see no phantom work. */
export async function cancelTranscodeJobs(env: Env, videoId: string): Promise<void> {
  await cancelJobsOfVideo(openDb(env.DB), videoId);
}

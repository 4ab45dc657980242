/** Downloads' part of deleting a video (a `video.deleted` hook, wired in workers/lifecycle-hooks.ts). */
import { openDb } from '../shared/db';
import { cancelDownloadsOfVideo } from './repo';

/** Unfinished MP4 downloads of the deleted video end as CANCELLED (their files go with the video's prefix). */
export async function cancelDownloads(env: Env, videoId: string): Promise<void> {
  await cancelDownloadsOfVideo(openDb(env.DB), videoId);
}

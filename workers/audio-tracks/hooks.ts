/** Audio tracks' part of deleting a video (a `video.deleted` hook, wired in workers/lifecycle-hooks.ts). */
import { openDb } from '../shared/db';
import { cancelAudioTracksOfVideo } from './repo';

/** Unfinished tracks of the deleted video end as CANCELLED (their files go with the video's prefixes). */
export async function cancelAudioTracks(env: Env, videoId: string): Promise<void> {
  await cancelAudioTracksOfVideo(openDb(env.DB), videoId);
}

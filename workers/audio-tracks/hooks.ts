/** Audio tracks' part of deleting a video (a `video.deleted` hook, wired in workers/lifecycle-hooks.ts). */
import { openDb } from '../shared/db';
import { purgeAudioGroupObjects } from './purge';
import { cancelAudioTracksOfVideo } from './repo';

/** Unfinished tracks of the deleted video end as CANCELLED (their files go with the video's prefixes). */
export async function cancelAudioTracks(env: Env, videoId: string): Promise<void> {
  await cancelAudioTracksOfVideo(openDb(env.DB), videoId);
}

/** An edit may change the video's original language, which names its main audio in the master and the DASH manifest. */
export async function purgeAudioGroup(_env: Env, videoId: string): Promise<void> {
  await purgeAudioGroupObjects(videoId);
}

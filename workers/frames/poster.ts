/** `PATCH /v1/videos/:id {posterTime}`: checks against the video's length, and drops the cached poster. */
import { badRequest } from '../shared/errors';
import type { VideoRow } from '../metadata/serialize';
import { cacheUrl, purge } from '../playback/edge-cache';
import { forgetPlaybackState } from '../playback/state';
import { publicPaths } from '../shared/storage-keys';

export function assertPosterTime(video: VideoRow, time: number): void {
  const length = video.clipOf && video.clipStart !== null && video.clipEnd !== null ? video.clipEnd - video.clipStart : video.duration;
  if (length === null) throw badRequest('posterTime can be set once the video has been analysed (its duration is known)');
  if (time > length) throw badRequest(`posterTime ${time} is past the end of the video (${Math.round(length * 1000) / 1000} s)`);
}

/** This location's cached poster (other locations keep theirs up to `frames.posterCacheControl`). */
export async function purgePoster(videoId: string): Promise<void> {
  forgetPlaybackState(videoId);
  await purge([cacheUrl(publicPaths.thumbnail(videoId, 'poster.jpg'))]);
}

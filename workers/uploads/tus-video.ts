/**
 * Which video a tus upload fills: an existing video of the caller named by `videoId` in Upload-Metadata, or a new
 * one created from `title` (or `name` / `filename`, which Uppy and other clients send).
 */
import type { Context } from 'hono';
import { VIDEO_TEXT } from '../shared/config';
import { badRequest, conflict } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { newId, runtime } from '../shared/runtime';
import { requireOwnedVideo } from '../metadata/videos';
import { insertUploadingVideo } from '../metadata/video-state';
import { encodingSettings } from '../metadata/encoding-settings';

const MAX_TITLE = VIDEO_TEXT.maxTitle;

export interface UploadVideo {
  id: string;
  creatorId: string;
}

/** A video of the caller that still takes an upload (403 / 404 / 409 otherwise). */
export async function uploadableVideo(c: Context<AppEnv>, videoId: string): Promise<UploadVideo> {
  const { video } = await requireOwnedVideo(c, videoId);
  if (video.status !== 'UPLOADING') throw conflict(`video is ${video.status}; uploads are accepted only while UPLOADING`);
  return { id: video.id, creatorId: video.creatorId };
}

/** The title an upload's metadata gives a new video, or null when it names none; 400 when it is too long. */
function titleOf(metadata: Map<string, string>): string | null {
  const title = (metadata.get('title') ?? metadata.get('name') ?? metadata.get('filename') ?? '').trim();
  if (title === '') return null;
  if (title.length > MAX_TITLE) throw badRequest(`title must be at most ${MAX_TITLE} characters`);
  return title;
}

/** The video named by metadata `videoId`, a new one from its title, or null when the metadata names neither. */
export async function videoFromMetadata(c: Context<AppEnv>, metadata: Map<string, string>): Promise<UploadVideo | null> {
  // A direct upload URL creates its upload for its own video, whatever the metadata says.
  const videoId = c.var.directUpload?.videoId ?? metadata.get('videoId');
  if (videoId !== undefined) return uploadableVideo(c, videoId);
  const title = titleOf(metadata);
  if (title === null) return null;
  const now = runtime().now();
  const id = newId('vid');
  await insertUploadingVideo(c.var.db, {
    id,
    creatorId: c.var.creatorId!,
    title,
    description: metadata.get('description') ?? '',
    visibility: 'public',
    // The platform's encoding defaults; a video with its own settings is created first (POST /v1/videos) and named
    // by `videoId` in the metadata.
    ...encodingSettings({}, c.var.config),
    createdAt: now,
  });
  return { id, creatorId: c.var.creatorId! };
}

/** Checks a title without creating anything (so a request refused later leaves no video behind). */
export function checkTitle(metadata: Map<string, string>): void {
  titleOf(metadata);
}

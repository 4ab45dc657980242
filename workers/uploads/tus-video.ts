/**
 * Which video a tus upload fills: an existing video of the caller named by `videoId` in Upload-Metadata, or a new
 * one created from `title` (or `name` / `filename`, which Uppy and other clients send).
 */
import type { Context } from 'hono';
import { VIDEO_TEXT } from '../shared/config';
import { badRequest, conflict } from '../shared/errors';
import { textProblem } from '../shared/text';
import type { AppEnv } from '../shared/hono-env';
import { newId, runtime } from '../shared/runtime';
import { requireOwnedVideo } from '../metadata/videos';
import { insertUploadingVideo } from '../metadata/video-state';
import { encodingSettings } from '../metadata/encoding-settings';

const { maxTitle: MAX_TITLE, maxDescription: MAX_DESCRIPTION } = VIDEO_TEXT;

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

/**
 * The title an upload's metadata gives a new video, or null when it names none; 400 when it is too long or breaks
 * the text rule (shared/text.ts), as the same title would through `POST /v1/videos`.
 */
function titleOf(metadata: Map<string, string>): string | null {
  const title = (metadata.get('title') ?? metadata.get('name') ?? metadata.get('filename') ?? '').trim();
  if (title === '') return null;
  if (title.length > MAX_TITLE) throw badRequest(`title must be at most ${MAX_TITLE} characters`);
  const problem = textProblem(title, 'line');
  if (problem) throw badRequest(`Upload-Metadata title ${problem}`);
  return title;
}

/** The description an upload's metadata gives a new video ('' when none), under the same rule as the API's. */
function descriptionOf(metadata: Map<string, string>): string {
  const description = metadata.get('description') ?? '';
  if (description.length > MAX_DESCRIPTION) throw badRequest(`description must be at most ${MAX_DESCRIPTION} characters`);
  const problem = textProblem(description, 'multiline');
  if (problem) throw badRequest(`Upload-Metadata description ${problem}`);
  return description;
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
    description: descriptionOf(metadata),
    visibility: 'public',
    // The platform's encoding defaults; a video with its own settings is created first (POST /v1/videos) and named
    // by `videoId` in the metadata.
    ...encodingSettings({}, c.var.config),
    createdAt: now,
  });
  return { id, creatorId: c.var.creatorId! };
}

/**
 * Checks the title and description a new video would get, without creating anything (so a request refused later
 * leaves no video behind). An upload for an existing video uses neither, so its file name is not judged.
 */
export function checkVideoText(c: Context<AppEnv>, metadata: Map<string, string>): void {
  if ((c.var.directUpload?.videoId ?? metadata.get('videoId')) !== undefined) return;
  titleOf(metadata);
  descriptionOf(metadata);
}

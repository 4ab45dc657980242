/** Imports' part of deleting a video (a `video.deleted` hook, wired in workers/lifecycle-hooks.ts). */
import { openDb } from '../shared/db';
import { keys } from '../shared/storage-keys';
import { cancelImport, getImport } from './repo';

/** An import still running ends CANCELLED and its multipart upload is aborted (the running fetch stops at its next part). */
export async function cancelImportOfVideo(env: Env, videoId: string): Promise<void> {
  const db = openDb(env.DB);
  const row = await getImport(db, videoId);
  if (!row || (await cancelImport(db, videoId)) === 0) return;
  if (row.r2UploadId) await env.MEDIA.resumeMultipartUpload(keys.original(videoId), row.r2UploadId).abort().catch(() => undefined);
}

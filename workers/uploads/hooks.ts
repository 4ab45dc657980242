/** The uploads area's lifecycle hook, wired in workers/lifecycle-hooks.ts. */
import { sessionStub } from './upload-ids';

/** `video.deleted`: the upload in progress is aborted; the R2 multipart upload and staged bytes go with it. */
export async function abortUploadOfVideo(env: Env, videoId: string): Promise<void> {
  await sessionStub(env, videoId).terminate(null, 'video_deleted');
}

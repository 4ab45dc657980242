/**
 * The uploads area: the chunk API and tus over one session model (UploadSession), the internal discard route
 * used by the benchmark, and the lifecycle hook that aborts a deleted video's upload.
 */
import { registerVideoDeletedHook } from '../lifecycle';
import { chunkRoutes } from './chunk-routes';
import { discardRoutes } from './discard-route';
import { tusRoutes } from './tus-routes';
import { sessionStub } from './upload-ids';

export { chunkRoutes, discardRoutes, tusRoutes };

/** Deleting a video aborts its upload in progress: the R2 multipart upload and staged bytes go with it. */
registerVideoDeletedHook(async (env, videoId) => {
  await sessionStub(env, videoId).terminate(null, 'video_deleted');
});

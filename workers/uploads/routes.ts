/**
 * The uploads area: the chunk API and tus over one session model (UploadSession) and the internal discard route
 * used by the benchmark. Its lifecycle hook (abort a deleted video's upload) is in hooks.ts.
 */
import { chunkRoutes } from './chunk-routes';
import { discardRoutes } from './discard-route';
import { tusRoutes } from './tus-routes';

export { chunkRoutes, discardRoutes, tusRoutes };

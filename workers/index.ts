/** Worker entrypoint: HTTP (Hono), queue consumers, cron triggers, and the Durable Object classes. */
import { app } from './app';
import { handleQueue } from './queues';
import { handleScheduled } from './scheduled';

export { UploadSession } from './uploads/upload-session';
export { ViewCounter } from './views/view-counter';
export { ClientLimiter } from './views/client-limiter';
export { TranscoderContainer } from './transcoding/transcoder-container';

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;

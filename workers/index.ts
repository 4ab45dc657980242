/** Worker entrypoint: HTTP (Hono), queue consumers, cron triggers, and the Durable Object classes. */
import { app } from './app';
import { installLifecycleHooks } from './lifecycle';
import { lifecycleHooks } from './lifecycle-hooks';
import { handleQueue } from './queues';
import { handleScheduled } from './scheduled';

// Whatever moves a video (a route, a queue consumer, a cron, a Durable Object) runs the hooks of this one table.
installLifecycleHooks(lifecycleHooks);

export { UploadSession } from './uploads/upload-session';
export { ViewCounter } from './views/view-counter';
export { ClientLimiter } from './views/client-limiter';
export { LiveInput } from './live/live-input';
export { TranscoderContainer } from './transcoding/transcoder-container';
// The Container library's outbound interception runs through this entrypoint (ctx.exports.ContainerProxy): without
// it, TranscoderContainer's `outboundByHost` handlers (its only way to reach R2) are never installed.
export { ContainerProxy } from '@cloudflare/containers';

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;

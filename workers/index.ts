/** Worker entrypoint: HTTP (Hono), queue consumers, cron triggers, and the Durable Object classes. */
import { app } from './app';
import { installLifecycleHooks } from './lifecycle';
import { lifecycleHooks } from './lifecycle-hooks';
import { handleQueue } from './queues';
import { handleScheduled } from './scheduled';
import { meterEnv } from './metering/metered-env';
import { countOperation, type OperationKind } from './metering/operations';
import { flushOperations } from './metering/store';

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

/**
 * Every entry point runs on the metered environment (metering/metered-env.ts: the bindings count their operations)
 * and counts itself; the isolate's counts go to D1 at most once a minute, after the work (metering/store.ts).
 */
async function metered<T>(kind: OperationKind, env: Env, ctx: ExecutionContext, work: (env: Env) => Promise<T>): Promise<T> {
  const started = Date.now();
  countOperation(kind);
  try {
    return await work(meterEnv(env));
  } finally {
    if (kind === 'worker.requests') countOperation('worker.wall_ms', Date.now() - started);
    ctx.waitUntil(flushOperations(env.DB));
  }
}

export default {
  fetch: (request, env, ctx) => metered('worker.requests', env, ctx, (e) => Promise.resolve(app.fetch(request, e, ctx))),
  queue: (batch, env, ctx) => metered('worker.queue_batches', env, ctx, (e) => handleQueue(batch, e, ctx)),
  scheduled: (controller, env, ctx) => metered('worker.crons', env, ctx, (e) => handleScheduled(controller, e, ctx)),
} satisfies ExportedHandler<Env>;

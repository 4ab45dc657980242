/** Cron triggers (wrangler.toml `[triggers]`): dispatched by cron expression. */
import { warmTrending } from './playback/warming';
import { loadConfig } from './shared/config';
import { openDb } from './shared/db';
import { runtime } from './shared/runtime';
import { sweepTranscodeJobs } from './transcoding/sweeper';
import { flushOverdueShards } from './views/flush';
import { sweepLostDeliveries } from './webhooks/sweeper';
import { sweepDeletedVideos } from './metadata/delete';

export const CRON_EVERY_5_MIN = '*/5 * * * *';
export const CRON_HOURLY = '0 * * * *';

export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env as unknown as Record<string, unknown>);
  switch (controller.cron) {
    case CRON_EVERY_5_MIN:
      // Stuck transcode jobs (lost queue sends, expired leases) are re-sent; trending videos are warmed.
      ctx.waitUntil(sweepTranscodeJobs(env, openDb(env.DB), config));
      // Webhook deliveries whose queue message was lost are sent again.
      ctx.waitUntil(sweepLostDeliveries(env, openDb(env.DB), config, runtime().now()));
      // Objects a job raced in after its video was deleted (see workers/metadata/delete.ts).
      ctx.waitUntil(sweepDeletedVideos(env, openDb(env.DB), config, runtime().now()));
      await warmTrending(env, config, runtime().now());
      break;
    case CRON_HOURLY:
      // View shards flush themselves by alarm at the top of the hour; this catches any whose alarm kept failing.
      ctx.waitUntil(flushOverdueShards(env, config, runtime().now()));
      break;
    default:
      console.warn(`unknown cron ${controller.cron}`);
  }
}

/**
 * Cron triggers (wrangler.toml `[triggers]`): dispatched by cron expression. Each run awaits its work and throws
 * when part of it failed, so a failing cron shows as an error (in Workers Logs, and to `npm start`'s local firing)
 * instead of passing quietly.
 */
import { warmTrending } from './playback/warming';
import { playbackExtensions } from './playback-extensions';
import { loadConfig } from './shared/config';
import { openDb } from './shared/db';
import { logEvent, withRequestId } from './shared/log';
import { runtime } from './shared/runtime';
import { sweepTranscodeJobs } from './transcoding/sweeper';
import { flushOverdueShards } from './views/flush';
import { sweepLostDeliveries } from './webhooks/sweeper';
import { sweepDeletedVideos } from './metadata/delete';
import { deleteDueVideos } from './metadata/scheduled-deletion';
import { deleteExpiredOriginals } from './uploads/original-retention';
import { snapshotStoredUsage } from './usage/snapshot';

export const CRON_EVERY_5_MIN = '*/5 * * * *';
export const CRON_HOURLY = '0 * * * *';

export async function handleScheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env);
  await withRequestId(`cron-${controller.cron}-${controller.scheduledTime}`, config.deployment.logLevel, async () => {
    switch (controller.cron) {
      case CRON_EVERY_5_MIN: {
        // Stuck transcode jobs (lost queue sends, expired leases) are re-sent; trending videos are warmed.
        // Webhook deliveries whose queue message was lost are sent again; objects a job raced in after its video
        // was deleted are removed (workers/metadata/delete.ts); videos whose scheduled deletion is due are deleted;
        // originals past their retention are deleted (workers/uploads/original-retention.ts).
        const now = runtime().now();
        const tasks = {
          sweep: sweepTranscodeJobs(env, openDb(env.DB), config),
          warm: warmTrending(env, config, playbackExtensions, now),
          webhooks: sweepLostDeliveries(env, openDb(env.DB), config, now),
          deleted: sweepDeletedVideos(env, openDb(env.DB), config, now),
          scheduledDeletion: deleteDueVideos(env, openDb(env.DB), config, now),
          originals: deleteExpiredOriginals(env, openDb(env.DB), config, now),
        };
        const names = Object.keys(tasks) as (keyof typeof tasks)[];
        const settled = await Promise.allSettled(names.map((n) => tasks[n]));
        const report = Object.fromEntries(names.map((n, i) => [n, settled[i]!.status === 'fulfilled' ? 'ok' : String((settled[i] as PromiseRejectedResult).reason)]));
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        logEvent(failed ? 'error' : 'info', 'cron.run', { cron: controller.cron, ...report });
        if (failed) throw failed.reason;
        break;
      }
      case CRON_HOURLY: {
        // View shards flush themselves by alarm at the top of the hour; this catches any whose alarm kept failing.
        // The hourly snapshot of what every creator stores goes into today's usage row.
        await snapshotStoredUsage(openDb(env.DB), runtime().now());
        const result = await flushOverdueShards(env, config, runtime().now());
        logEvent(result.failed ? 'error' : 'info', 'cron.run', { cron: controller.cron, ...result });
        if (result.failed) throw new Error(`view flush: ${result.failed} shard(s) failed, ${result.flushed} flushed`);
        break;
      }
      default:
        logEvent('warn', 'cron.unknown', { cron: controller.cron });
    }
  });
}

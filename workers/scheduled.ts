/**
 * Cron triggers (wrangler.toml `[triggers]`): dispatched by cron expression. Each run awaits its work and throws
 * when part of it failed, so a failing cron shows as an error (in Workers Logs, and to `npm start`'s local firing)
 * instead of passing quietly.
 */
import { warmTrending } from './playback/warming';
import { loadConfig } from './shared/config';
import { openDb } from './shared/db';
import { logEvent, logLevelOf, withRequestId } from './shared/log';
import { runtime } from './shared/runtime';
import { sweepTranscodeJobs } from './transcoding/sweeper';
import { flushOverdueShards } from './views/flush';

export const CRON_EVERY_5_MIN = '*/5 * * * *';
export const CRON_HOURLY = '0 * * * *';

export async function handleScheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env as unknown as Record<string, unknown>);
  await withRequestId(`cron-${controller.cron}-${controller.scheduledTime}`, logLevelOf(env), async () => {
    switch (controller.cron) {
      case CRON_EVERY_5_MIN: {
        // Stuck transcode jobs (lost queue sends, expired leases) are re-sent; trending videos are warmed.
        const [sweep, warm] = await Promise.allSettled([sweepTranscodeJobs(env, openDb(env.DB), config), warmTrending(env, config, runtime().now())]);
        logEvent(sweep.status === 'fulfilled' && warm.status === 'fulfilled' ? 'info' : 'error', 'cron.run', {
          cron: controller.cron,
          sweep: sweep.status === 'fulfilled' ? 'ok' : String(sweep.reason),
          warm: warm.status === 'fulfilled' ? 'ok' : String(warm.reason),
        });
        if (sweep.status === 'rejected') throw sweep.reason;
        if (warm.status === 'rejected') throw warm.reason;
        break;
      }
      case CRON_HOURLY: {
        // View shards flush themselves by alarm at the top of the hour; this catches any whose alarm kept failing.
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

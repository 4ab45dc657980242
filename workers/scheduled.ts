import { loadConfig } from './shared/config';
import { openDb } from './shared/db';
import { sweepTranscodeJobs } from './transcoding/sweeper';

/** Cron triggers (wrangler.toml `[triggers]`): dispatched by cron expression. */
export const CRON_EVERY_5_MIN = '*/5 * * * *';
export const CRON_HOURLY = '0 * * * *';

export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  switch (controller.cron) {
    case CRON_EVERY_5_MIN:
      ctx.waitUntil(sweepTranscodeJobs(env, openDb(env.DB), loadConfig(env as unknown as Record<string, unknown>)));
      break;
    case CRON_HOURLY:
      break;
    default:
      console.warn(`unknown cron ${controller.cron}`);
  }
}

/** Cron triggers (wrangler.toml `[triggers]`): dispatched by cron expression. */
import { warmTrending } from './playback/warming';
import { loadConfig } from './shared/config';
import { runtime } from './shared/runtime';
import { flushOverdueShards } from './views/flush';

export const CRON_EVERY_5_MIN = '*/5 * * * *';
export const CRON_HOURLY = '0 * * * *';

export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  switch (controller.cron) {
    case CRON_EVERY_5_MIN:
      await warmTrending(env, loadConfig(env as unknown as Record<string, unknown>), runtime().now());
      break;
    case CRON_HOURLY:
      // View shards flush themselves by alarm at the top of the hour; this catches any whose alarm kept failing.
      ctx.waitUntil(flushOverdueShards(env, loadConfig(env as unknown as Record<string, unknown>), runtime().now()));
      break;
    default:
      console.warn(`unknown cron ${controller.cron}`);
  }
}

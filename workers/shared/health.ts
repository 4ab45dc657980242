/**
 * `GET /healthz`: 200 when D1 answers a query and R2 answers a HEAD, 503 naming what failed. Uptime checks and the
 * local stack's readiness wait use it; it reads nothing of value and writes nothing.
 */
import { Hono } from 'hono';
import type { AppEnv } from './hono-env';
import { logEvent } from './log';

type Check = 'ok' | string;

async function check(fn: () => Promise<unknown>): Promise<Check> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const healthRoutes = new Hono<AppEnv>().get('/healthz', async (c) => {
  const [d1, r2] = await Promise.all([
    check(() => c.env.DB.prepare('SELECT 1').first()),
    check(() => c.env.MEDIA.head('healthz')),
  ]);
  const ok = d1 === 'ok' && r2 === 'ok';
  if (!ok) logEvent('error', 'healthz.failed', { d1, r2 });
  return c.json({ ok, checks: { d1, r2 } }, ok ? 200 : 503);
});

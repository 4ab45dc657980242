/**
 * `GET /healthz`: 200 when D1 answers a query and R2 answers a HEAD, 503 naming what failed. Uptime checks and the
 * local stack's readiness wait use it; it reads nothing of value and writes nothing.
 */
import { createRoute } from '@hono/zod-openapi';
import { apiRoutes, jsonContent, z } from './openapi';
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

const Health = z.object({ ok: z.boolean(), checks: z.object({ d1: z.string(), r2: z.string() }).openapi({ description: '"ok", or what failed' }) });

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Health: D1 and R2 answer',
  responses: { 200: jsonContent(Health, 'Healthy'), 503: jsonContent(Health, 'A dependency failed') },
});

export const healthRoutes = apiRoutes().openapi(healthz, async (c) => {
  const [d1, r2] = await Promise.all([
    check(() => c.env.DB.prepare('SELECT 1').first()),
    check(() => c.env.MEDIA.head('healthz')),
  ]);
  const ok = d1 === 'ok' && r2 === 'ok';
  if (!ok) logEvent('error', 'healthz.failed', { d1, r2 });
  return c.json({ ok, checks: { d1, r2 } }, ok ? 200 : 503);
});

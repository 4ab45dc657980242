/**
 * `GET /healthz`: each dependency with its status, and whether the platform can do its main job.
 *
 *   { "ok": true, "status": "ok" | "degraded" | "down",
 *     "checks": { "d1": {"status": "ok"}, "r2": {"status": "ok"}, "transcoder": {"status": "unreachable", "detail": "…"} } }
 *
 * The main job is to keep what creators stored and serve it: accept uploads, answer the API, play READY videos.
 * That needs D1 and R2, so either failing is `down` and 503. The transcoder only moves new uploads through
 * processing, and they wait (jobs stay PENDING, leases take them over) until it is back: an unreachable transcoder
 * is `degraded`, still 200, so a stack started without one (tests of the API alone) comes up, and uptime checks
 * can alert on `status` without taking the platform out of rotation. A production container is `not_probed`:
 * instances start per unit of work, and probing one would start one (see transcoding/health.ts).
 *
 * Fast by construction: one D1 `SELECT 1`, one R2 HEAD and the transcoder's own `/healthz` with a 1 s timeout, all
 * at once. Reads nothing of value and writes nothing.
 */
import { createRoute } from '@hono/zod-openapi';
import { apiRoutes, jsonContent, z } from './openapi';
import type { Config } from './config';
import { logEvent } from './log';

export type DependencyCheck =
  | { status: 'ok' }
  | { status: 'failed' | 'unreachable' | 'not_probed'; detail: string };

/** Probes a dependency that lives above this floor (the transcoder); wired by the composition root (app.ts). */
export type HealthProbe = (env: Env, config: Config) => Promise<DependencyCheck>;

export type HealthStatus = 'ok' | 'degraded' | 'down';

async function check(fn: () => Promise<unknown>): Promise<DependencyCheck> {
  try {
    await fn();
    return { status: 'ok' };
  } catch (err) {
    return { status: 'failed', detail: err instanceof Error ? err.message : String(err) };
  }
}

/** `down` when storage or the database fails (the main job is impossible), `degraded` when processing is. */
export function healthStatus(checks: { d1: DependencyCheck; r2: DependencyCheck; transcoder: DependencyCheck }): HealthStatus {
  if (checks.d1.status !== 'ok' || checks.r2.status !== 'ok') return 'down';
  return checks.transcoder.status === 'ok' || checks.transcoder.status === 'not_probed' ? 'ok' : 'degraded';
}

const Check = z.object({
  status: z.enum(['ok', 'failed', 'unreachable', 'not_probed']),
  detail: z.string().optional().openapi({ description: 'What failed, or why it was not probed' }),
});
const Health = z.object({
  ok: z.boolean().openapi({ description: 'false only when down' }),
  status: z.enum(['ok', 'degraded', 'down']).openapi({ description: 'down: D1 or R2 failed (503); degraded: the transcoder is unreachable (200)' }),
  checks: z.object({ d1: Check, r2: Check, transcoder: Check }),
});

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Health: D1, R2 and the transcoder, each with its status; 503 only when D1 or R2 fails',
  responses: { 200: jsonContent(Health, 'Up (ok or degraded)'), 503: jsonContent(Health, 'Down: the database or storage failed') },
});

export function healthRoutes(probes: { transcoder: HealthProbe }) {
  return apiRoutes().openapi(healthz, async (c) => {
    const [d1, r2, transcoder] = await Promise.all([
      check(() => c.env.DB.prepare('SELECT 1').first()),
      check(() => c.env.MEDIA.head('healthz')),
      probes.transcoder(c.env, c.var.config).catch((err: unknown): DependencyCheck => ({ status: 'failed', detail: String(err) })),
    ]);
    const checks = { d1, r2, transcoder };
    const status = healthStatus(checks);
    if (status !== 'ok') logEvent(status === 'down' ? 'error' : 'warn', 'healthz.' + status, { d1: d1.status, r2: r2.status, transcoder: transcoder.status });
    return c.json({ ok: status !== 'down', status, checks }, status === 'down' ? 503 : 200);
  });
}

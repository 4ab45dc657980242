/**
 * CORS for the view beacon: players embedded on other origins POST views with a JSON body, which makes browsers
 * send a preflight first. Any origin may report (a view is judged by the rules, not by where it came from); no
 * cookies cross origins (no credentials), so such players send their own `viewerId`.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { VideoIdParams } from '../metadata/schemas';
import type { AppEnv } from '../shared/hono-env';

export const beaconCors = cors({
  origin: '*',
  allowMethods: ['POST', 'OPTIONS'],
  allowHeaders: ['Content-Type', 'Authorization'],
  maxAge: 86400,
});

/** Describes a beacon route's preflight, which `beaconCors` answers (mounted in app.ts before every route). */
export function registerBeaconPreflight(routes: OpenAPIHono<AppEnv>, path: string, what: string): void {
  routes.openAPIRegistry.registerPath({
    method: 'options',
    path,
    tags: [what],
    summary: `CORS preflight of the ${what} beacon (any origin; POST; Content-Type, Authorization)`,
    request: { params: VideoIdParams },
    responses: { 204: { description: 'CORS headers' } },
  });
}

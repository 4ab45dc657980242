/**
 * Guards for the internal routes, installed once on the app (workers/app.ts) so no route checks anything by hand:
 * - `/__bench/*`, `/internal/bench/*`, `/internal/views/noop`: benchmark-only, 404 unless `BENCH_ROUTES` is "1";
 * - `/internal/storage[/*]`: the local transcoder's storage door, 404 unless TRANSCODER_URL names a local process
 *   (in production the container reaches R2 through its outbound handler instead);
 * - everything under `/internal/`: hono's bearer-auth middleware with INTERNAL_TOKEN.
 * A route that is off answers exactly like a path that does not exist.
 */
import type { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { createMiddleware } from 'hono/factory';
import { timingSafeEqual } from './auth';
import type { Config } from './config';
import { errorJson, notFound } from './errors';
import type { AppEnv } from './hono-env';

/** True when `token` is the deployment's INTERNAL_TOKEN (never when that secret is unset). */
export function isInternalToken(token: string | null | undefined, config: Config): boolean {
  const expected = config.secrets.internalToken;
  return !!expected && !!token && timingSafeEqual(token, expected);
}

const unauthorizedBody = { message: errorJson('unauthorized', 'internal token required'), wwwAuthenticateHeader: 'Bearer' };

export const requireInternalToken = bearerAuth<AppEnv>({
  verifyToken: (token, c) => isInternalToken(token, c.var.config),
  noAuthenticationHeader: unauthorizedBody,
  invalidAuthenticationHeader: unauthorizedBody,
  invalidToken: unauthorizedBody,
});

const onlyWhen = (enabled: (config: Config) => boolean) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!enabled(c.var.config)) throw notFound(`no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
    await next();
  });

export const benchRoutesOnly = onlyWhen((config) => config.deployment.benchRoutes);
export const localTranscoderOnly = onlyWhen((config) => config.deployment.transcoder.kind === 'local');

export function installInternalGuards(app: Hono<AppEnv>): void {
  app.use('/__bench/*', benchRoutesOnly);
  app.use('/internal/bench/*', benchRoutesOnly);
  app.use('/internal/views/noop', benchRoutesOnly);
  app.use('/internal/storage', localTranscoderOnly);
  app.use('/internal/storage/*', localTranscoderOnly);
  app.use('/internal/*', requireInternalToken);
}

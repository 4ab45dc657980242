/**
 * How the tus routes find their caller: a direct upload URL's capability (already checked and set by
 * direct-uploads/routes.ts, mounted in front) or, everywhere else, the creator's bearer token.
 */
import { createMiddleware } from 'hono/factory';
import { requireCreator } from '../shared/auth';
import type { AppEnv } from '../shared/hono-env';

export const tusAuth = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.directUpload) return next();
  return requireCreator(c, next);
});

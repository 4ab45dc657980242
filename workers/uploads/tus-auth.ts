/**
 * How the tus routes find their caller: a direct upload URL's capability (already checked and set by
 * workers/direct-uploads/routes.ts, mounted in front, sets `directUpload`) or, everywhere else, the creator's bearer token.
 */
import { createMiddleware } from 'hono/factory';
import { requireCreator } from '../shared/auth';
import type { AppEnv } from '../shared/hono-env';

export const tusAuth = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.directUpload) return next();
  return requireCreator(c, next);
});

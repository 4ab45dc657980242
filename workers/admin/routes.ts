/** Operator endpoint to bootstrap creators: `Authorization: Bearer $ADMIN_TOKEN`. */
import { createRoute } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { bearerToken, createCreator, timingSafeEqual } from '../shared/auth';
import { unauthorized } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody, z } from '../shared/openapi';
import type { AppEnv } from '../shared/hono-env';

const nameRule = 'name is required (1-100 characters)';
export const CreateCreatorSchema = z
  .strictObject({ name: z.string({ error: nameRule }).max(100, nameRule).trim().min(1, nameRule) })
  .openapi('CreateCreator');

/** The operator's ADMIN_TOKEN, checked before the body is read. */
const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('Authorization'));
  const expected = c.var.config.secrets.adminToken;
  if (!token || !expected || !timingSafeEqual(token, expected)) throw unauthorized('admin token required');
  await next();
});

const createCreatorRoute = createRoute({
  method: 'post',
  path: '/v1/admin/creators',
  tags: ['operations'],
  security: bearerAuth,
  summary: 'Create a creator and its first API token (Authorization: Bearer ADMIN_TOKEN)',
  middleware: [requireAdmin, jsonObjectBody],
  request: { body: jsonBody(CreateCreatorSchema) },
  responses: { 201: jsonContent(z.object({ creatorId: z.string(), token: z.string() }), 'The creator and its token (shown once)'), ...errors(400, 401) },
});

export const adminRoutes = apiRoutes().openapi(createCreatorRoute, async (c) => {
  const { name } = c.req.valid('json');
  return c.json(await createCreator(c.var.db, name), 201);
});

/** Operator endpoint to bootstrap creators: `Authorization: Bearer $ADMIN_TOKEN`. */
import { Hono } from 'hono';
import { bearerToken, createCreator, timingSafeEqual } from '../shared/auth';
import { badRequest, readJsonObject, unauthorized } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';

export const adminRoutes = new Hono<AppEnv>().post('/v1/admin/creators', async (c) => {
  const token = bearerToken(c.req.header('Authorization'));
  const expected = c.env.ADMIN_TOKEN;
  if (!token || !expected || !timingSafeEqual(token, expected)) throw unauthorized('admin token required');
  const body = await readJsonObject(c.req.raw);
  const name = body.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) {
    throw badRequest('name is required (1-100 characters)');
  }
  return c.json(await createCreator(c.var.db, name.trim()), 201);
});

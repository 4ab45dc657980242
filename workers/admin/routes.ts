/** Operator endpoint to bootstrap creators: `Authorization: Bearer $ADMIN_TOKEN`. */
import { Hono } from 'hono';
import { bearerToken, createCreator, timingSafeEqual } from '../shared/auth';
import { unauthorized } from '../shared/errors';
import { validJson, z } from '../shared/openapi';
import type { AppEnv } from '../shared/hono-env';

const nameRule = 'name is required (1-100 characters)';
export const CreateCreatorSchema = z
  .strictObject({ name: z.string({ error: nameRule }).max(100, nameRule).trim().min(1, nameRule) })
  .openapi('CreateCreator');

export const adminRoutes = new Hono<AppEnv>().post('/v1/admin/creators', async (c) => {
  const token = bearerToken(c.req.header('Authorization'));
  const expected = c.env.ADMIN_TOKEN;
  if (!token || !expected || !timingSafeEqual(token, expected)) throw unauthorized('admin token required');
  const { name } = await validJson(c.req.raw, CreateCreatorSchema);
  return c.json(await createCreator(c.var.db, name), 201);
});

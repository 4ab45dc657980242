/**
 * The operator's endpoints (`Authorization: Bearer $ADMIN_TOKEN`): creators and their API tokens (list, issue or
 * rotate, revoke), quotas, and every creator's usage.
 */
import { createRoute } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { bearerToken, timingSafeEqual } from '../shared/auth';
import { createCreator, findCreator, issueToken, listTokens, quotaOf, revokeToken, setQuota } from '../shared/creators';
import { notFound, unauthorized } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody, optionalJsonObjectBody, z } from '../shared/openapi';
import { runtime } from '../shared/runtime';
import { dayRange, usageRows } from '../usage/report';
import { QuotaSchema, UsageQuery } from '../usage/schemas';
import { storedTotalsByCreator } from '../usage/stored';

const nameRule = 'name is required (1-100 characters)';
export const CreateCreatorSchema = z
  .strictObject({ name: z.string({ error: nameRule }).max(100, nameRule).trim().min(1, nameRule) })
  .openapi('CreateCreator');

const quotaValue = (what: string) =>
  z.number({ error: `${what} must be a non-negative number, or null` }).finite(`${what} must be a non-negative number, or null`).min(0, `${what} must be a non-negative number, or null`).nullable().optional();
const UpdateCreatorSchema = z
  .strictObject({
    quota: z
      .strictObject({ minutesStored: quotaValue('quota.minutesStored'), bytesStored: quotaValue('quota.bytesStored').refine((v) => v === undefined || v === null || Number.isSafeInteger(v), 'quota.bytesStored must be a whole number of bytes') })
      .refine((q) => Object.keys(q).length > 0, 'quota needs minutesStored and/or bytesStored'),
  })
  .openapi('UpdateCreator');

const IssueTokenSchema = z
  .strictObject({
    name: z.string().max(100, 'name must be at most 100 characters').optional(),
    revokeOthers: z.boolean({ error: 'revokeOthers must be true or false' }).optional().openapi({ description: "Rotation: revoke every other live token of the creator in the same step" }),
  })
  .openapi('IssueToken');

const CreatorParams = z.object({ id: z.string().regex(/^cr_[0-9a-z]{16}$|^cr_local$/, 'not a creator id').openapi({ param: { name: 'id', in: 'path' }, example: 'cr_0k5x8m2q9r3t7v1w' }) });
const TokenParams = CreatorParams.extend({ tokenId: z.string().regex(/^tok_[0-9a-z_]{1,40}$/, 'not a token id').openapi({ param: { name: 'tokenId', in: 'path' } }) });
const TokenSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string(), revokedAt: z.string().nullable() }).openapi('ApiToken');

/** The operator's ADMIN_TOKEN, checked before the body is read. */
const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('Authorization'));
  const expected = c.var.config.secrets.adminToken;
  if (!token || !expected || !timingSafeEqual(token, expected)) throw unauthorized('admin token required');
  await next();
});

const tags = ['operations'];
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function existingCreator(c: { var: { db: AppEnv['Variables']['db'] } }, id: string) {
  const creator = await findCreator(c.var.db, id);
  if (!creator) throw notFound('creator not found');
  return creator;
}

export const adminRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/creators',
      tags,
      security: bearerAuth,
      summary: 'Create a creator and its first API token (Authorization: Bearer ADMIN_TOKEN)',
      middleware: [requireAdmin, jsonObjectBody],
      request: { body: jsonBody(CreateCreatorSchema) },
      responses: { 201: jsonContent(z.object({ creatorId: z.string(), token: z.string() }), 'The creator and its token (shown once)'), ...errors(400, 401) },
    }),
    async (c) => c.json(await createCreator(c.var.db, c.req.valid('json').name), 201),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/v1/admin/creators/{id}',
      tags,
      security: bearerAuth,
      summary: "Set a creator's quotas (minutes and bytes stored; null lifts a cap)",
      middleware: [requireAdmin, jsonObjectBody],
      request: { params: CreatorParams, body: jsonBody(UpdateCreatorSchema) },
      responses: { 200: jsonContent(z.object({ creatorId: z.string(), name: z.string(), quota: QuotaSchema }), 'The creator'), ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await existingCreator(c, id);
      await setQuota(c.var.db, id, c.req.valid('json').quota);
      const creator = await existingCreator(c, id);
      return c.json({ creatorId: id, name: creator.name, quota: quotaOf(creator) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/creators/{id}/tokens',
      tags,
      security: bearerAuth,
      summary: "A creator's API tokens (never the secrets), newest first",
      middleware: [requireAdmin],
      request: { params: CreatorParams },
      responses: { 200: jsonContent(z.object({ tokens: z.array(TokenSchema) }), 'Tokens'), ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await existingCreator(c, id);
      const rows = await listTokens(c.var.db, id);
      return c.json({ tokens: rows.map((t) => ({ id: t.id, name: t.name, createdAt: iso(t.createdAt)!, revokedAt: iso(t.revokedAt) })) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/creators/{id}/tokens',
      tags,
      security: bearerAuth,
      summary: 'Issue a new API token (shown once); with revokeOthers, a rotation',
      middleware: [requireAdmin, optionalJsonObjectBody],
      request: { params: CreatorParams, body: { ...jsonBody(IssueTokenSchema), required: false } },
      responses: { 201: jsonContent(z.object({ id: z.string(), token: z.string(), createdAt: z.string() }), 'The token (shown once)'), ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await existingCreator(c, id);
      const body = c.req.valid('json');
      const issued = await issueToken(c.var.db, id, body.name ?? '', body.revokeOthers === true);
      return c.json({ id: issued.id, token: issued.token, createdAt: iso(issued.createdAt)! }, 201, { 'Cache-Control': 'no-store' });
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/admin/creators/{id}/tokens/{tokenId}',
      tags,
      security: bearerAuth,
      summary: 'Revoke one API token of a creator',
      middleware: [requireAdmin],
      request: { params: TokenParams },
      responses: { 204: { description: 'Revoked' }, ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id, tokenId } = c.req.valid('param');
      if (!(await revokeToken(c.var.db, id, tokenId))) throw notFound('token not found (or already revoked)');
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/usage',
      tags,
      security: bearerAuth,
      summary: "Every creator's usage: stored now, delivered over the range, quotas",
      middleware: [requireAdmin],
      request: { query: UsageQuery },
      responses: {
        200: jsonContent(
          z.object({
            from: z.string(),
            to: z.string(),
            creators: z.array(z.object({ creatorId: z.string(), minutesStored: z.number(), bytesStored: z.number(), minutesDelivered: z.number() })),
          }),
          'Usage per creator',
        ),
        ...errors(400, 401),
      },
    }),
    async (c) => {
      const now = runtime().now();
      const { from, to } = c.req.valid('query');
      const range = dayRange(from, to, now);
      const [rows, stored] = await Promise.all([usageRows(c.var.db, c.var.config, range, now), storedTotalsByCreator(c.var.db)]);
      const ids = [...new Set([...rows.keys(), ...stored.keys()])].sort();
      const creators = ids.map((creatorId) => ({
        creatorId,
        minutesStored: stored.get(creatorId)?.minutesStored ?? 0,
        bytesStored: stored.get(creatorId)?.bytesStored ?? 0,
        minutesDelivered: Math.round((rows.get(creatorId) ?? []).reduce((sum, d) => sum + d.minutesDelivered, 0) * 1e6) / 1e6,
      }));
      return c.json({ ...range, creators }, 200);
    },
  );

/**
 * `/v1/signing_keys`: a creator's keys for signing playback tokens offline (keys.ts). Create answers the private key
 * once; list shows ids, algorithms and dates; delete revokes (tokens signed by the key are refused within the key
 * cache's lifetime everywhere, at once in this isolate: lookup.ts).
 */
import { createRoute } from '@hono/zod-openapi';
import { requireCreator } from '../shared/auth';
import { notFound } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, optionalJsonObjectBody, z } from '../shared/openapi';
import { createSigningKey, listSigningKeys, revokeSigningKey } from './keys';
import { forgetSigningKey } from './lookup';
import { CreateSigningKeySchema, NewSigningKeySchema, SigningKeyParams, SigningKeySchema } from './schemas';

const tags = ['signing keys'];
const iso = (ms: number) => new Date(ms).toISOString();

export const signingKeyRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/signing_keys',
      tags,
      security: bearerAuth,
      summary: 'Create a key pair for signing playback tokens (the private key is answered once and never stored)',
      middleware: [requireCreator, optionalJsonObjectBody],
      request: { body: { ...jsonBody(CreateSigningKeySchema), required: false } },
      responses: { 201: jsonContent(NewSigningKeySchema, 'The key, with its private half'), ...errors(400, 401) },
    }),
    async (c) => {
      const key = await createSigningKey(c.var.db, c.var.creatorId!, c.req.valid('json').alg ?? 'ES256');
      return c.json({ id: key.id, alg: key.alg, jwk: key.jwk, pem: key.pem, createdAt: iso(key.createdAt) }, 201, { 'Cache-Control': 'no-store' });
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/signing_keys',
      tags,
      security: bearerAuth,
      summary: "The creator's keys that are not revoked (ids, algorithms, dates; never key material)",
      middleware: [requireCreator],
      responses: { 200: jsonContent(z.object({ keys: z.array(SigningKeySchema) }), 'Keys'), ...errors(401) },
    }),
    async (c) => {
      const rows = await listSigningKeys(c.var.db, c.var.creatorId!);
      return c.json({ keys: rows.map((k) => ({ id: k.id, alg: k.alg, createdAt: iso(k.createdAt) })) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/signing_keys/{id}',
      tags,
      security: bearerAuth,
      summary: "Revoke a key: its tokens are refused everywhere within 30 s",
      middleware: [requireCreator],
      request: { params: SigningKeyParams },
      responses: { 204: { description: 'Revoked' }, ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!(await revokeSigningKey(c.var.db, c.var.creatorId!, id))) throw notFound('signing key not found');
      forgetSigningKey(id);
      return c.body(null, 204);
    },
  );

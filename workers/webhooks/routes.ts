/**
 * Webhook endpoints of a creator (creator token):
 *   POST   /v1/webhooks {url, events}                       → 201 {id, url, events, createdAt, secret}
 *   GET    /v1/webhooks                                     → {webhooks}
 *   GET    /v1/webhooks/{id}                                → the endpoint (never its secret)
 *   DELETE /v1/webhooks/{id}                                → 204; its pending deliveries fail
 *   GET    /v1/webhooks/{id}/deliveries?limit               → {deliveries}: the delivery log, newest first
 *   POST   /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver → 202: the same message (same webhook-id) again
 */
import { createRoute } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest, conflict, notFound } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody, z } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { startNewRound } from './deliveries';
import { subscribedEvents } from './events';
import { enqueueDeliveries, type DeliveryMessage } from './messages';
import { CreatedWebhookSchema, CreateWebhookSchema, DeliveriesQuery, DeliveryParams, DeliverySchema, WebhookIdParams, WebhookSchema } from './schemas';
import { newWebhookSecret } from './signing';
import { checkWebhookUrl } from '../shared/url-policy';

type EndpointRow = typeof schema.webhookEndpoints.$inferSelect;
type DeliveryRow = typeof schema.webhookDeliveries.$inferSelect;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const endpointView = (e: EndpointRow) => ({ id: e.id, url: e.url, events: subscribedEvents(e), createdAt: iso(e.createdAt)! });
const deliveryView = (d: DeliveryRow) => ({
  id: d.id,
  event: d.eventType,
  videoId: d.videoId,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  lastAttemptAt: iso(d.lastAttemptAt),
  nextAttemptAt: iso(d.nextAttemptAt),
  deliveredAt: iso(d.deliveredAt),
  createdAt: iso(d.createdAt)!,
  payload: JSON.parse(d.payload) as unknown,
});

async function ownedEndpoint(c: Context<AppEnv>, id: string): Promise<EndpointRow> {
  const row = await c.var.db
    .select()
    .from(schema.webhookEndpoints)
    .where(and(eq(schema.webhookEndpoints.id, id), eq(schema.webhookEndpoints.creatorId, c.var.creatorId!), isNull(schema.webhookEndpoints.deletedAt)))
    .get();
  if (!row) throw notFound('webhook not found');
  return row;
}

const tags = ['webhooks'];
const auth = { security: bearerAuth, middleware: [requireCreator] };

export const webhookRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks',
      tags,
      summary: 'Register a webhook endpoint',
      security: bearerAuth,
      middleware: [requireCreator, jsonObjectBody],
      request: { body: jsonBody(CreateWebhookSchema) },
      responses: { 201: jsonContent(CreatedWebhookSchema, 'The endpoint and its signing secret (shown once)'), ...errors(400, 401, 409) },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const config = c.var.config.webhooks;
      const verdict = checkWebhookUrl(input.url, { maxLength: config.maxUrlLength, allowPrivate: config.allowPrivateUrls });
      if (verdict.status === 'refused') throw badRequest(verdict.reason);
      const existing = await c.var.db
        .select({ id: schema.webhookEndpoints.id })
        .from(schema.webhookEndpoints)
        .where(and(eq(schema.webhookEndpoints.creatorId, c.var.creatorId!), isNull(schema.webhookEndpoints.deletedAt)))
        .all();
      if (existing.length >= config.maxEndpointsPerCreator) throw conflict(`at most ${config.maxEndpointsPerCreator} webhooks per creator; delete one first`);
      const row: EndpointRow = {
        id: newId('wh'),
        creatorId: c.var.creatorId!,
        url: verdict.url,
        events: JSON.stringify([...new Set(input.events)]),
        secret: newWebhookSecret(),
        createdAt: runtime().now(),
        deletedAt: null,
      };
      await c.var.db.insert(schema.webhookEndpoints).values(row);
      return c.json({ ...endpointView(row), secret: row.secret }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks',
      tags,
      summary: "List the creator's webhook endpoints",
      ...auth,
      responses: { 200: jsonContent(z.object({ webhooks: z.array(WebhookSchema) }), 'The endpoints'), ...errors(401) },
    }),
    async (c) => {
      const rows = await c.var.db
        .select()
        .from(schema.webhookEndpoints)
        .where(and(eq(schema.webhookEndpoints.creatorId, c.var.creatorId!), isNull(schema.webhookEndpoints.deletedAt)))
        .orderBy(desc(schema.webhookEndpoints.createdAt))
        .all();
      return c.json({ webhooks: rows.map(endpointView) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks/{id}',
      tags,
      summary: 'Read one webhook endpoint',
      ...auth,
      request: { params: WebhookIdParams },
      responses: { 200: jsonContent(WebhookSchema, 'The endpoint'), ...errors(401, 404) },
    }),
    async (c) => c.json(endpointView(await ownedEndpoint(c, c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/webhooks/{id}',
      tags,
      summary: 'Delete a webhook endpoint (its pending deliveries are not attempted again)',
      ...auth,
      request: { params: WebhookIdParams },
      responses: { 204: { description: 'Deleted' }, ...errors(401, 404) },
    }),
    async (c) => {
      const row = await ownedEndpoint(c, c.req.valid('param').id);
      await c.var.db.update(schema.webhookEndpoints).set({ deletedAt: runtime().now() }).where(eq(schema.webhookEndpoints.id, row.id));
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks/{id}/deliveries',
      tags,
      summary: 'The delivery log of an endpoint, newest first',
      ...auth,
      request: { params: WebhookIdParams, query: DeliveriesQuery },
      responses: { 200: jsonContent(z.object({ deliveries: z.array(DeliverySchema) }), 'Deliveries'), ...errors(400, 401, 404) },
    }),
    async (c) => {
      const row = await ownedEndpoint(c, c.req.valid('param').id);
      const rows = await c.var.db
        .select()
        .from(schema.webhookDeliveries)
        .where(eq(schema.webhookDeliveries.endpointId, row.id))
        .orderBy(desc(schema.webhookDeliveries.createdAt))
        .limit(c.req.valid('query').limit ?? 50)
        .all();
      return c.json({ deliveries: rows.map(deliveryView) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
      tags,
      summary: 'Send a delivery again (same webhook-id), with a fresh retry schedule',
      ...auth,
      request: { params: DeliveryParams },
      responses: { 202: jsonContent(DeliverySchema, 'Queued again'), ...errors(401, 404) },
    }),
    async (c) => {
      const { id, deliveryId } = c.req.valid('param');
      const endpoint = await ownedEndpoint(c, id);
      const row = await startNewRound(c.var.db, endpoint.id, deliveryId);
      if (!row) throw notFound('delivery not found');
      const message: DeliveryMessage = { deliveryId: row.id, round: row.round };
      await enqueueDeliveries(c.env, [message]);
      return c.json(deliveryView(row), 202);
    },
  );

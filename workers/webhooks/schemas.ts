/** Request and response schemas of the webhook API (validation and OpenAPI). */
import { limitQuery, z } from '../shared/openapi';
import { DELIVERY_STATUSES, WEBHOOK_EVENTS } from '../../schema/schema';

export const CreateWebhookSchema = z
  .strictObject({
    url: z.string({ error: 'url is required and must be a string' }).openapi({ example: 'https://app.example.com/hooks/video' }),
    events: z
      .array(z.enum(WEBHOOK_EVENTS, { error: `events must be some of ${WEBHOOK_EVENTS.join(', ')}` }), {
        error: `events is required: an array of ${WEBHOOK_EVENTS.join(', ')}`,
      })
      .min(1, 'events must name at least one event'),
  })
  .openapi('CreateWebhook');

export const WebhookSchema = z
  .object({
    id: z.string().openapi({ example: 'wh_0k5x8m2q9r3t7v1w' }),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    createdAt: z.string(),
  })
  .openapi('Webhook');

export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: 'Standard Webhooks signing secret (`whsec_…`); shown only here' }),
}).openapi('CreatedWebhook');

export const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'The `webhook-id` header: the same on every retry and redelivery' }),
    event: z.enum(WEBHOOK_EVENTS),
    videoId: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    payload: z.unknown(),
  })
  .openapi('WebhookDelivery');

export const WebhookIdParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });
export const DeliveryParams = WebhookIdParams.extend({ deliveryId: z.string().openapi({ param: { name: 'deliveryId', in: 'path' } }) });
export const DeliveriesQuery = z.object({
  limit: limitQuery('50'),
});

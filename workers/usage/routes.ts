/** `GET /v1/usage`: what the creator stores now and, per UTC day, what it stored and delivered (docs/usage.md). */
import { createRoute } from '@hono/zod-openapi';
import { requireCreator } from '../shared/auth';
import { findCreator, quotaOf } from '../shared/creators';
import { apiRoutes, bearerAuth, errors, jsonContent } from '../shared/openapi';
import { runtime } from '../shared/runtime';
import { dayRange, usageRows } from './report';
import { UsageQuery, UsageSchema } from './schemas';
import { storedTotals } from './stored';

export const usageRoutes = apiRoutes().openapi(
  createRoute({
    method: 'get',
    path: '/v1/usage',
    tags: ['usage'],
    security: bearerAuth,
    summary: 'Minutes and bytes stored now and per day, minutes delivered per day, and the quota',
    middleware: [requireCreator],
    request: { query: UsageQuery },
    responses: { 200: jsonContent(UsageSchema, 'Usage'), ...errors(400, 401) },
  }),
  async (c) => {
    const now = runtime().now();
    const creatorId = c.var.creatorId!;
    const { from, to } = c.req.valid('query');
    const range = dayRange(from, to, now);
    const days = (await usageRows(c.var.db, c.var.config, range, now, creatorId)).get(creatorId) ?? [];
    const creator = await findCreator(c.var.db, creatorId);
    return c.json(
      {
        creatorId,
        ...range,
        current: await storedTotals(c.var.db, creatorId),
        quota: creator ? quotaOf(creator) : { minutesStored: null, bytesStored: null },
        minutesDelivered: Math.round(days.reduce((sum, d) => sum + d.minutesDelivered, 0) * 1e6) / 1e6,
        days,
      },
      200,
    );
  },
);

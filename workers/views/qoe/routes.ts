/**
 * QoE API: `POST /v1/videos/:id/qoe` (a player's beacon: any origin, `navigator.sendBeacon`'s text/plain read as JSON),
 * `GET /v1/videos/:id/qoe` (the video's creator) and `GET /v1/qoe` (the creator's videos together).
 */
import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { optionalCreator, requireCreator } from '../../shared/auth';
import type { Config } from '../../shared/config';
import { schema } from '../../shared/db';
import { apiError, badRequest, notFound } from '../../shared/errors';
import type { AppEnv } from '../../shared/hono-env';
import { apiRoutes, bearerAuth, cappedJsonObjectBody, errors, jsonBody, jsonContent } from '../../shared/openapi';
import { runtime } from '../../shared/runtime';
import { canRead, requireOwnedVideo, requireVideo } from '../../metadata/videos';
import { VideoIdParams } from '../../metadata/schemas';
import { registerBeaconPreflight } from '../beacon-cors';
import { instantMs } from '../schemas';
import { dimensionsOf } from './dimensions';
import { takeQoeRecords } from './ingest';
import { creatorQoe, hourRange, videoQoe, type HourRange } from './report';
import { QoeBeaconResultSchema, QoeBeaconSchema, QoeQuery, QoeReportSchema } from './schemas';

const tags = ['qoe'];
const beaconBody = cappedJsonObjectBody((config) => config.views.qoe.maxBodyBytes, 'QoE beacons');

/** The report's range: ISO 8601 or epoch ms, default the last 48 hours, at most 31 days (as the view stats). */
function rangeOf(config: Config, query: { from?: string; to?: string }): HourRange {
  const to = instantMs(query.to) ?? runtime().now();
  const from = instantMs(query.from) ?? to - config.views.statsDefaultHours * 3_600_000;
  if (from >= to) throw badRequest('from must be before to');
  if (to - from > config.views.statsMaxHours * 3_600_000) throw badRequest(`the range may span at most ${config.views.statsMaxHours} hours`);
  return hourRange(from, to);
}

async function shardCountOf(c: Context<AppEnv>, videoId: string): Promise<number> {
  // Uncached, as the view stats read it: a report must see every shard a promotion created.
  const row = await c.var.db.select().from(schema.viewShardConfigs).where(eq(schema.viewShardConfigs.videoId, videoId)).get();
  return row?.shardCount ?? c.var.config.views.shards;
}

export const qoeRoutes = apiRoutes()
  /**
   * Benchmark baseline (bench/views.bench.ts): the same body read and validation as a QoE beacon, then nothing.
   * Only with BENCH_ROUTES=1 and the internal token (`/internal/bench/*`, shared/internal.ts): not an endpoint in production.
   */
  .openapi(
    createRoute({ method: 'post', path: '/internal/bench/qoe-noop', hide: true, middleware: [beaconBody], request: { body: jsonBody(QoeBeaconSchema) }, responses: { 200: jsonContent(QoeBeaconResultSchema, 'Never taken') } }),
    (c) => c.json({ accepted: 0, rejected: c.req.valid('json').records.map((_, index) => ({ index, reason: 'noop' })) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/videos/{id}/qoe',
      tags,
      summary: "A player's quality-of-experience records of its playback sessions (CORS: any origin)",
      description:
        'Body at most 8192 bytes (413 above), 1 to 8 records of this video. A record counts only with a valid playback session of this video; a later record (higher `seq`) of a session replaces the earlier one. See docs/qoe.md for each figure.',
      middleware: [optionalCreator, beaconBody],
      request: { params: VideoIdParams, body: jsonBody(QoeBeaconSchema) },
      responses: { 200: jsonContent(QoeBeaconResultSchema, 'Records taken and refused'), ...errors(400, 404, 413, 503) },
    }),
    async (c) => {
      const record = await requireVideo(c, c.req.valid('param').id);
      if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
      const { records } = c.req.valid('json');
      const result = await takeQoeRecords(c.env, c.var.db, c.var.config, record.video.id, records, dimensionsOf(c.req.raw), runtime().now());
      if (result.failed) throw apiError('unavailable', 'view counter unavailable; send the beacon again', { headers: { 'Retry-After': '1' } });
      return c.json({ accepted: result.accepted, rejected: result.rejected }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/videos/{id}/qoe',
      tags,
      security: bearerAuth,
      summary: "A video's quality of experience per hour, in total and by country or browser (its creator only; live)",
      middleware: [requireCreator],
      request: { params: VideoIdParams, query: QoeQuery },
      responses: { 200: jsonContent(QoeReportSchema, 'QoE report'), ...errors(400, 401, 403, 404) },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const record = await requireOwnedVideo(c, c.req.valid('param').id);
      const range = rangeOf(c.var.config, query);
      return c.json(await videoQoe(c.env, c.var.db, record.video.id, await shardCountOf(c, record.video.id), range, query.by), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/qoe',
      tags,
      security: bearerAuth,
      summary: "Quality of experience over all the creator's videos (as of the hourly flush), with the most viewed videos",
      middleware: [requireCreator],
      request: { query: QoeQuery },
      responses: { 200: jsonContent(QoeReportSchema, 'QoE report'), ...errors(400, 401) },
    }),
    async (c) => {
      const query = c.req.valid('query');
      return c.json(await creatorQoe(c.var.db, c.var.creatorId!, rangeOf(c.var.config, query), query.by), 200);
    },
  );

registerBeaconPreflight(qoeRoutes, '/v1/videos/{id}/qoe', 'qoe');

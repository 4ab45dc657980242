/**
 * Live inputs (creator token):
 *
 *   POST   /v1/live_inputs                 → 201 LiveInput with `ingest.url` (the secret stream key is in it)
 *   GET    /v1/live_inputs                 → the creator's inputs (no ingest URL: the key is shown once)
 *   GET    /v1/live_inputs/:id             → status idle | live, the broadcast's video for playback, and while live its ladder
 *   PATCH  /v1/live_inputs/:id             → title, recording, latency, windows
 *   DELETE /v1/live_inputs/:id             → 204; a running broadcast ends (its recording is kept per its mode)
 *   POST   /v1/live_inputs/:id/rotate_key  → 200 with a new `ingest.url`; the previous key is refused from now on
 *
 * The ingest itself (what ffmpeg PUTs) is live/ingest.ts.
 */
import { createRoute } from '@hono/zod-openapi';
import { requireCreator } from '../shared/auth';
import { notFound } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { publicOrigin } from '../shared/config';
import { deleteLiveInput, findLiveInput, hashStreamKey, insertLiveInput, listLiveInputs, newStreamKey, updateLiveInput, type LiveInputRow } from './inputs';
import { liveInputObject, settingsOf } from './ingest';
import { CreateLiveInputSchema, LiveInputIdParams, LiveInputListSchema, LiveInputSchema, UpdateLiveInputSchema } from './schemas';

function view(row: LiveInputRow, ingestUrl?: string) {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    recording: { mode: row.recordingMode },
    latency: row.latency,
    dvrWindowSeconds: row.dvrWindowSeconds,
    reconnectWindowSeconds: row.reconnectWindowSeconds,
    ingest: ingestUrl ? { url: ingestUrl } : {},
    playback: { videoId: row.videoId },
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

const ingestUrl = (origin: string, id: string, key: string) => `${origin}/live/${id}/${key}`;

async function owned(db: Parameters<typeof findLiveInput>[0], id: string, creatorId: string): Promise<LiveInputRow> {
  const row = await findLiveInput(db, id);
  if (!row || row.creatorId !== creatorId) throw notFound('live input not found');
  return row;
}

const tags = ['live inputs'];
const params = { params: LiveInputIdParams };

export const liveInputRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'post', path: '/v1/live_inputs', tags, summary: 'Create a live input: an HTTP ingest URL for ffmpeg/OBS and its broadcasts', security: bearerAuth,
      middleware: [requireCreator, jsonObjectBody], request: { body: jsonBody(CreateLiveInputSchema) },
      responses: { 201: jsonContent(LiveInputSchema, 'The live input, with its ingest URL (shown once)'), ...errors(400, 401) },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const config = c.var.config;
      const key = newStreamKey();
      const now = runtime().now();
      const row = await insertLiveInput(c.var.db, {
        id: newId('live'), creatorId: c.var.creatorId!, title: input.title ?? 'Live stream', streamKeyHash: await hashStreamKey(key),
        recordingMode: input.recording?.mode ?? 'automatic', latency: input.latency ?? 'standard',
        dvrWindowSeconds: input.dvrWindowSeconds ?? config.live.defaultDvrWindowSec, reconnectWindowSeconds: input.reconnectWindowSeconds ?? config.live.defaultReconnectWindowSec,
        createdAt: now,
      });
      return c.json(view(row, ingestUrl(publicOrigin(config, c.req.url), row.id, key)), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get', path: '/v1/live_inputs', tags, summary: "The creator's live inputs (newest first, at most 100)", security: bearerAuth,
      middleware: [requireCreator], responses: { 200: jsonContent(LiveInputListSchema, 'Live inputs'), ...errors(401) },
    }),
    async (c) => c.json({ data: (await listLiveInputs(c.var.db, c.var.creatorId!)).map((r) => view(r)) }, 200),
  )
  .openapi(
    createRoute({
      method: 'get', path: '/v1/live_inputs/{id}', tags, summary: 'A live input: status and the broadcast video to play', security: bearerAuth,
      middleware: [requireCreator], request: params, responses: { 200: jsonContent(LiveInputSchema, 'The live input'), ...errors(401, 404) },
    }),
    async (c) => {
      const row = await owned(c.var.db, c.req.valid('param').id, c.var.creatorId!);
      if (row.status !== 'live') return c.json(view(row), 200);
      const { ladder } = await liveInputObject(c.env, row.id).describe();
      return c.json({ ...view(row), ...(ladder ? { ladder } : {}) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch', path: '/v1/live_inputs/{id}', tags, summary: "Change a live input's title, recording, latency or windows", security: bearerAuth,
      middleware: [requireCreator, jsonObjectBody], request: { ...params, body: jsonBody(UpdateLiveInputSchema) },
      responses: { 200: jsonContent(LiveInputSchema, 'The live input'), ...errors(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await owned(c.var.db, id, c.var.creatorId!);
      const input = c.req.valid('json');
      const row = await updateLiveInput(c.var.db, id, {
        title: input.title, recordingMode: input.recording?.mode, latency: input.latency, dvrWindowSeconds: input.dvrWindowSeconds, reconnectWindowSeconds: input.reconnectWindowSeconds,
      });
      if (!row) throw notFound('live input not found');
      return c.json(view(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post', path: '/v1/live_inputs/{id}/rotate_key', tags, summary: 'Replace the stream key; the previous one is refused from now on', security: bearerAuth,
      middleware: [requireCreator], request: params, responses: { 200: jsonContent(LiveInputSchema, 'The live input with its new ingest URL'), ...errors(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await owned(c.var.db, id, c.var.creatorId!);
      const key = newStreamKey();
      const row = await updateLiveInput(c.var.db, id, { streamKeyHash: await hashStreamKey(key) });
      if (!row) throw notFound('live input not found');
      return c.json(view(row, ingestUrl(publicOrigin(c.var.config, c.req.url), id, key)), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete', path: '/v1/live_inputs/{id}', tags, summary: 'Delete a live input; a running broadcast ends and its ingest URL is refused', security: bearerAuth,
      middleware: [requireCreator], request: params, responses: { 204: { description: 'Deleted' }, ...errors(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const row = await owned(c.var.db, id, c.var.creatorId!);
      await deleteLiveInput(c.var.db, id);
      await liveInputObject(c.env, id).end(settingsOf(row));
      return c.body(null, 204);
    },
  );

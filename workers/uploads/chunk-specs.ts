/**
 * Route definitions of the chunk API (chunk-routes.ts): validation and OpenAPI from one place. Chunk bodies are raw
 * bytes (no schema reads them: they stream to R2), described here with their size rule.
 */
import { createRoute } from '@hono/zod-openapi';
import { requireCreator } from '../shared/auth';
import { defaults } from '../shared/config';
import { bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody, z } from '../shared/openapi';
import { VideoIdParams } from '../metadata/schemas';
import { InitiateUploadSchema } from './schemas';

const tags = ['uploads'];
const security = bearerAuth;
const middleware = [requireCreator];
const loose = (name: string) => z.object({}).loose().openapi(name);

const SessionSchema = z
  .object({ uploadId: z.string(), chunkSize: z.number().int(), totalChunks: z.number().int(), missingChunks: z.array(z.number().int()) })
  .loose()
  .openapi('ChunkedUpload');

export const initiateRoute = createRoute({
  method: 'post',
  path: '/v1/videos/{id}/upload',
  tags,
  security,
  summary: `Start a chunked upload (chunks of ${defaults.uploads.chunkSize} bytes unless configured; files up to ${defaults.uploads.maxFileSize} bytes)`,
  middleware: [requireCreator, jsonObjectBody],
  request: { params: VideoIdParams, body: jsonBody(InitiateUploadSchema) },
  responses: { 200: jsonContent(SessionSchema, 'The session already started'), 201: jsonContent(SessionSchema, 'The new session'), ...errors(400, 401, 403, 404, 409, 413, 503) },
});

export const resumeRoute = createRoute({
  method: 'get',
  path: '/v1/videos/{id}/upload',
  tags,
  security,
  summary: 'Resume information of a chunked upload: stored and missing chunks',
  middleware,
  request: { params: VideoIdParams },
  responses: { 200: jsonContent(SessionSchema, 'The session'), ...errors(401, 403, 404, 410) },
});

export const chunkRoute = createRoute({
  method: 'put',
  path: '/v1/videos/{id}/upload/chunks/{n}',
  tags,
  security,
  summary: 'Upload chunk n (0-based; any order, in parallel). Exactly chunkSize bytes, the last one the remainder; Content-Length required',
  middleware,
  request: {
    params: VideoIdParams.extend({ n: z.string().openapi({ param: { name: 'n', in: 'path' }, example: '0', description: 'Chunk index, 0-based' }) }),
    body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
  responses: {
    200: jsonContent(loose('StoredChunkAgain'), 'Already stored (idempotent retry)'),
    201: jsonContent(loose('StoredChunk'), 'Stored'),
    ...errors(400, 401, 403, 404, 409, 410, 411, 413),
  },
});

export const completeRoute = createRoute({
  method: 'post',
  path: '/v1/videos/{id}/upload/complete',
  tags,
  security,
  summary: 'Complete a chunked upload (assemble, verify, start processing); idempotent',
  middleware,
  request: { params: VideoIdParams },
  responses: { 200: jsonContent(loose('CompletedUpload'), 'Completed; the video is PROCESSING'), ...errors(401, 403, 404, 409, 410, 422) },
});

export const abandonRoute = createRoute({
  method: 'delete',
  path: '/v1/videos/{id}/upload',
  tags,
  security,
  summary: 'Abandon a chunked upload',
  middleware,
  request: { params: VideoIdParams },
  responses: { 204: { description: 'Abandoned' }, ...errors(401, 403, 404, 409, 410) },
});

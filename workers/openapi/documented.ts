/**
 * Routes whose input is not a JSON body (tus headers, byte chunks, signed playback paths) or that other areas own
 * and validate themselves: described here so the OpenAPI document covers the whole public surface. Routes written
 * with `openapi()` (metadata, direct uploads, webhooks) describe themselves.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';

type OpenAPIRegistry = OpenAPIHono['openAPIRegistry'];
import { CreateCreatorSchema } from '../admin/routes';
import { InitiateUploadSchema } from '../uploads/schemas';
import { bearerAuth, errors, ErrorSchema, jsonContent, z } from '../shared/openapi';

const VideoId = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });
const UploadId = z.object({ uploadId: z.string().openapi({ param: { name: 'uploadId', in: 'path' } }) });
const DirectToken = z.object({ token: z.string().openapi({ param: { name: 'token', in: 'path' }, description: 'The capability token of the direct upload URL' }) });
const tusHeader = (name: string, description: string, required = true) =>
  z.string().openapi({ param: { name, in: 'header', required }, description });

const tusCreation = z.object({
  'Tus-Resumable': tusHeader('Tus-Resumable', '1.0.0'),
  'Upload-Length': tusHeader('Upload-Length', 'Size of the file in bytes'),
  'Upload-Metadata': tusHeader('Upload-Metadata', 'tus metadata: videoId (existing) or title/name/filename; filetype; sha256', false).optional(),
});
const tusPatch = z.object({
  'Tus-Resumable': tusHeader('Tus-Resumable', '1.0.0'),
  'Upload-Offset': tusHeader('Upload-Offset', 'Where these bytes start'),
  'Upload-Checksum': tusHeader('Upload-Checksum', 'sha1 base64 of the body', false).optional(),
});
const offsetBody = { required: true, content: { 'application/offset+octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } };
const noContent = (description: string) => ({ description });

function registerTus(registry: OpenAPIRegistry, base: string, params: z.ZodObject | undefined, direct: boolean): void {
  const tags = [direct ? 'direct uploads' : 'uploads'];
  const security = direct ? [] : bearerAuth;
  const merge = (extra: z.ZodObject) => (params ? params.extend(extra.shape) : extra);
  const authErrors = direct ? [401, 403, 410] : [401, 403];
  registry.registerPath({ method: 'options', path: base, tags, summary: 'tus discovery and CORS preflight', request: params ? { params } : undefined, responses: { 200: noContent('Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm'), ...(direct ? errors(401, 403) : {}) } });
  registry.registerPath({
    method: 'post',
    path: base,
    tags,
    security,
    summary: direct ? 'Create the one upload this URL allows (tus creation)' : 'Create an upload (tus creation)',
    request: { params, headers: tusCreation },
    responses: { 201: noContent('Location of the upload, Upload-Expires, X-Video-Id'), ...errors(400, ...authErrors, 409, 412, 413, 503) },
  });
  registry.registerPath({ method: 'options', path: `${base}/{uploadId}`, tags, summary: 'CORS preflight', request: { params: merge(UploadId) }, responses: { 204: noContent('CORS headers') } });
  registry.registerPath({
    method: 'head',
    path: `${base}/{uploadId}`,
    tags,
    security,
    summary: 'Offset of an upload (tus core)',
    request: { params: merge(UploadId) },
    responses: { 200: noContent('Upload-Offset, Upload-Length, Upload-Expires'), ...errors(...authErrors, 404, 410, 412) },
  });
  registry.registerPath({
    method: 'patch',
    path: `${base}/{uploadId}`,
    tags,
    security,
    summary: 'Append bytes at Upload-Offset (tus core); the last PATCH completes the upload',
    request: { params: merge(UploadId), headers: tusPatch, body: offsetBody },
    responses: { 204: noContent('The new Upload-Offset'), ...errors(400, ...authErrors, 404, 409, 410, 411, 412, 413, 415, 422, 503) },
  });
  registry.registerPath({
    method: 'delete',
    path: `${base}/{uploadId}`,
    tags,
    security,
    summary: 'Abandon an upload (tus termination)',
    request: { params: merge(UploadId) },
    responses: { 204: noContent('Terminated'), ...errors(...authErrors, 404, 410, 412) },
  });
}

export function registerDocumentedRoutes(registry: OpenAPIRegistry): void {
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', description: 'Creator API token (evt_…)' });
  registry.register('Error', ErrorSchema);

  registry.registerPath({ method: 'get', path: '/healthz', tags: ['operations'], summary: 'Liveness', responses: { 200: jsonContent(z.object({ ok: z.boolean() }), 'Up') } });
  registry.registerPath({
    method: 'post',
    path: '/v1/admin/creators',
    tags: ['operations'],
    security: bearerAuth,
    summary: 'Create a creator and its first API token (ADMIN_TOKEN)',
    request: { body: { required: true, content: { 'application/json': { schema: CreateCreatorSchema } } } },
    responses: { 201: jsonContent(z.object({ creatorId: z.string(), token: z.string() }), 'The creator and its token (shown once)'), ...errors(400, 401) },
  });

  // Chunk upload API (the seed's).
  const chunkTags = ['uploads'];
  registry.registerPath({
    method: 'post',
    path: '/v1/videos/{id}/upload',
    tags: chunkTags,
    security: bearerAuth,
    summary: 'Start a chunked upload',
    request: { params: VideoId, body: { required: true, content: { 'application/json': { schema: InitiateUploadSchema } } } },
    responses: { 201: jsonContent(z.object({ uploadId: z.string(), chunkSize: z.number().int(), totalChunks: z.number().int() }).loose(), 'The session'), ...errors(400, 401, 403, 404, 409, 413, 503) },
  });
  registry.registerPath({ method: 'get', path: '/v1/videos/{id}/upload', tags: chunkTags, security: bearerAuth, summary: 'Resume information of a chunked upload', request: { params: VideoId }, responses: { 200: jsonContent(z.object({}).loose(), 'Received chunks and what is missing'), ...errors(401, 403, 404, 410) } });
  registry.registerPath({ method: 'delete', path: '/v1/videos/{id}/upload', tags: chunkTags, security: bearerAuth, summary: 'Abandon a chunked upload', request: { params: VideoId }, responses: { 204: noContent('Abandoned'), ...errors(401, 403, 404, 410) } });
  registry.registerPath({
    method: 'put',
    path: '/v1/videos/{id}/upload/chunks/{n}',
    tags: chunkTags,
    security: bearerAuth,
    summary: 'Upload chunk n (0-based)',
    request: { params: VideoId.extend({ n: z.string().openapi({ param: { name: 'n', in: 'path' } }) }), body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } } },
    responses: { 200: jsonContent(z.object({}).loose(), 'Stored'), ...errors(400, 401, 403, 404, 409, 410, 413) },
  });
  registry.registerPath({ method: 'post', path: '/v1/videos/{id}/upload/complete', tags: chunkTags, security: bearerAuth, summary: 'Complete a chunked upload (assemble, verify, start processing)', request: { params: VideoId }, responses: { 200: jsonContent(z.object({}).loose(), 'Completed; the video is PROCESSING'), ...errors(401, 403, 404, 409, 410, 422) } });

  registerTus(registry, '/v1/uploads', undefined, false);
  registerTus(registry, '/v1/direct_uploads/{token}/tus', DirectToken, true);

  registry.registerPath({
    method: 'post',
    path: '/v1/videos/{id}/renditions/{name}/retry',
    tags: ['videos'],
    security: bearerAuth,
    summary: 'Encode one rendition again',
    request: { params: VideoId.extend({ name: z.string().openapi({ param: { name: 'name', in: 'path' } }) }) },
    responses: { 202: jsonContent(z.object({}).loose(), 'Queued'), ...errors(401, 403, 404, 409) },
  });

  const playbackTags = ['playback'];
  registry.registerPath({
    method: 'get',
    path: '/v1/videos/{id}/playback',
    tags: playbackTags,
    summary: 'A signed master playlist URL for players',
    request: { params: VideoId, query: z.object({ ttl: z.string().optional().openapi({ param: { name: 'ttl', in: 'query' }, description: 'seconds' }) }) },
    responses: {
      200: jsonContent(
        z.object({ url: z.string(), expiresAt: z.string(), session: z.string().openapi({ description: 'Playback session token; send it with view beacons' }), status: z.string(), renditions: z.array(z.string()) }),
        'Playback URL and session',
      ),
      ...errors(400, 401, 404, 409, 429, 503),
    },
  });
  const signed = z.object({
    videoId: z.string().openapi({ param: { name: 'videoId', in: 'path' } }),
    token: z.string().openapi({ param: { name: 'token', in: 'path' } }),
  });
  const rendition = signed.extend({ rendition: z.string().openapi({ param: { name: 'rendition', in: 'path' } }) });
  registry.registerPath({ method: 'get', path: '/v/{videoId}/t/{token}/master.m3u8', tags: playbackTags, summary: 'HLS master playlist (signed path)', request: { params: signed }, responses: { 200: noContent('application/vnd.apple.mpegurl'), ...errors(403, 404) } });
  registry.registerPath({ method: 'get', path: '/v/{videoId}/t/{token}/{rendition}/playlist.m3u8', tags: playbackTags, summary: 'HLS media playlist of one rendition', request: { params: rendition }, responses: { 200: noContent('application/vnd.apple.mpegurl'), ...errors(403, 404) } });
  registry.registerPath({
    method: 'get',
    path: '/v/{videoId}/t/{token}/{rendition}/{segment}',
    tags: playbackTags,
    summary: 'One MPEG-TS segment (Range supported, immutable)',
    request: { params: rendition.extend({ segment: z.string().openapi({ param: { name: 'segment', in: 'path' }, example: 'segment_0000.ts' }) }) },
    responses: { 200: noContent('video/mp2t'), 206: noContent('Partial content'), ...errors(403, 404) },
  });

  registry.registerPath({
    method: 'get',
    path: '/v/{videoId}/t/{token}/thumbnails/{file}',
    tags: playbackTags,
    summary: 'Poster, storyboard sprites and storyboard.vtt',
    request: { params: signed.extend({ file: z.string().openapi({ param: { name: 'file', in: 'path' }, example: 'poster.jpg' }) }) },
    responses: { 200: noContent('image/jpeg or text/vtt'), ...errors(403, 404) },
  });
  registry.registerPath({ method: 'options', path: '/v/{videoId}/t/{token}/{rendition}/{segment}', tags: playbackTags, summary: 'CORS preflight of playback objects (any origin)', request: { params: rendition.extend({ segment: z.string().openapi({ param: { name: 'segment', in: 'path' } }) }) }, responses: { 204: noContent('CORS headers') } });

  const mediaTags = ['captions, downloads, clips'];
  const Lang = VideoId.extend({ lang: z.string().openapi({ param: { name: 'lang', in: 'path' }, example: 'en-US', description: 'BCP 47 language tag' }) });
  registry.registerPath({
    method: 'put',
    path: '/v1/videos/{id}/captions/{lang}',
    tags: mediaTags,
    security: bearerAuth,
    summary: 'Add or replace a caption track (WebVTT or SRT body; SRT is converted)',
    request: {
      params: Lang,
      query: z.object({
        label: z.string().optional().openapi({ param: { name: 'label', in: 'query' } }),
        default: z.string().optional().openapi({ param: { name: 'default', in: 'query' }, description: '1/true to make it the default track' }),
      }),
      body: { required: true, content: { 'text/vtt': { schema: z.string() }, 'application/x-subrip': { schema: z.string() } } },
    },
    responses: { 200: jsonContent(z.object({}).loose(), 'The stored track'), 201: jsonContent(z.object({}).loose(), 'The new track'), ...errors(400, 401, 404, 409, 413) },
  });
  registry.registerPath({ method: 'get', path: '/v1/videos/{id}/captions', tags: mediaTags, summary: 'The caption tracks of a video', request: { params: VideoId }, responses: { 200: jsonContent(z.object({}).loose(), 'Tracks'), ...errors(401, 404) } });
  registry.registerPath({ method: 'delete', path: '/v1/videos/{id}/captions/{lang}', tags: mediaTags, security: bearerAuth, summary: 'Remove a caption track', request: { params: Lang }, responses: { 204: noContent('Removed'), ...errors(401, 404) } });
  registry.registerPath({
    method: 'post',
    path: '/v1/videos/{id}/downloads',
    tags: mediaTags,
    security: bearerAuth,
    summary: 'Make a progressive MP4 of the highest (or a named) rung',
    request: { params: VideoId, body: { required: false, content: { 'application/json': { schema: z.object({ rendition: z.string().optional() }) } } } },
    responses: { 202: jsonContent(z.object({}).loose(), 'Queued (or already made)'), 200: jsonContent(z.object({}).loose(), 'Already made'), ...errors(400, 401, 404, 409) },
  });
  registry.registerPath({ method: 'get', path: '/v1/videos/{id}/downloads', tags: mediaTags, summary: 'MP4 downloads of a video, with signed URLs for finished ones', request: { params: VideoId }, responses: { 200: jsonContent(z.object({}).loose(), 'Downloads'), ...errors(401, 404) } });
  registry.registerPath({
    method: 'post',
    path: '/v1/videos/{id}/clips',
    tags: mediaTags,
    security: bearerAuth,
    summary: 'An instant clip: a new READY video over a range of the source (segment boundaries, rounded outward)',
    request: { params: VideoId, body: { required: true, content: { 'application/json': { schema: z.object({ start: z.number(), end: z.number(), title: z.string().optional() }) } } } },
    responses: { 201: jsonContent(z.object({}).loose(), 'The clip'), ...errors(400, 401, 404, 409) },
  });

  const viewTags = ['views'];
  registry.registerPath({
    method: 'post',
    path: '/v1/videos/{id}/views',
    tags: viewTags,
    summary: 'View beacon from a player (CORS: any origin)',
    request: {
      params: VideoId,
      body: { required: true, content: { 'application/json': { schema: z.object({ viewerId: z.string().optional(), watchDuration: z.number(), videoDuration: z.number().optional(), session: z.string().optional() }).loose() } } },
    },
    responses: { 200: jsonContent(z.object({ counted: z.boolean(), reason: z.string().optional() }), 'Whether the view counted'), ...errors(400, 401, 404, 413, 429) },
  });
  registry.registerPath({ method: 'options', path: '/v1/videos/{id}/views', tags: viewTags, summary: 'CORS preflight of the view beacon', request: { params: VideoId }, responses: { 204: noContent('CORS headers') } });
  registry.registerPath({
    method: 'get',
    path: '/v1/videos/{id}/stats',
    tags: viewTags,
    summary: 'Views, unique viewers and hourly counts',
    request: { params: VideoId, query: z.object({ from: z.string().optional().openapi({ param: { name: 'from', in: 'query' } }), to: z.string().optional().openapi({ param: { name: 'to', in: 'query' } }) }) },
    responses: { 200: jsonContent(z.object({ views: z.number(), uniqueViewers: z.number(), hourly: z.array(z.object({}).loose()) }).loose(), 'Stats'), ...errors(400, 401, 404) },
  });

  registry.registerPath({ method: 'get', path: '/openapi.json', tags: ['operations'], summary: 'This document (OpenAPI 3.1)', responses: { 200: noContent('application/json') } });
  registry.registerPath({ method: 'get', path: '/reference', tags: ['operations'], summary: 'A readable reference page of this document', responses: { 200: noContent('text/html') } });
}

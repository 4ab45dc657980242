/**
 * The routes that are not written with `openapi()` (which describes and validates a route from one definition, as
 * metadata, direct uploads, webhooks, views, playback URLs, captions, clips and downloads are), described here so
 * the OpenAPI document covers the whole public surface. Why each stays outside:
 * - tus (`/v1/uploads`, `/v1/direct_uploads/{token}/tus`): the protocol's input is headers whose failures have
 *   their own statuses (412 without Tus-Resumable, 415 for a wrong body type, 409 for a wrong offset), which a
 *   schema validator's 400 would break for tus clients; the bodies are raw byte streams.
 * - signed playback objects (`/v/{videoId}/t/{token}/…`): one wildcard handler on the hot path parses the signed
 *   path itself (playback/paths.ts) and answers errors with CORS headers, for the edge cache.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';

type OpenAPIRegistry = OpenAPIHono['openAPIRegistry'];
import { bearerAuth, errors, ErrorSchema, z } from '../shared/openapi';

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

  registerTus(registry, '/v1/uploads', undefined, false);
  registerTus(registry, '/v1/direct_uploads/{token}/tus', DirectToken, true);

  const playbackTags = ['playback'];
  const signed = z.object({
    videoId: z.string().openapi({ param: { name: 'videoId', in: 'path' } }),
    token: z.string().openapi({ param: { name: 'token', in: 'path' } }),
  });
  const rendition = signed.extend({ rendition: z.string().openapi({ param: { name: 'rendition', in: 'path' } }) });
  registry.registerPath({ method: 'get', path: '/v/{videoId}/t/{token}/master.m3u8', tags: playbackTags, summary: 'HLS master playlist (signed path)', request: { params: signed }, responses: { 200: noContent('application/vnd.apple.mpegurl'), ...errors(403, 404) } });
  registry.registerPath({ method: 'get', path: '/v/{videoId}/t/{token}/manifest.mpd', tags: playbackTags, summary: 'DASH manifest over the same segments (videos with packaging "cmaf"; 404 with the reason otherwise)', request: { params: signed }, responses: { 200: noContent('application/dash+xml'), ...errors(403, 404, 409) } });
  registry.registerPath({ method: 'get', path: '/v/{videoId}/t/{token}/{rendition}/playlist.m3u8', tags: playbackTags, summary: 'HLS media playlist of one rendition', request: { params: rendition }, responses: { 200: noContent('application/vnd.apple.mpegurl'), ...errors(403, 404) } });
  registry.registerPath({
    method: 'get',
    path: '/v/{videoId}/t/{token}/{rendition}/{segment}',
    tags: playbackTags,
    summary: 'One segment (Range supported, immutable): segment_{n}.ts (packaging ts), or init.mp4 and segment_{n}.m4s (packaging cmaf)',
    request: { params: rendition.extend({ segment: z.string().openapi({ param: { name: 'segment', in: 'path' }, example: 'segment_0000.ts' }) }) },
    responses: { 200: noContent('video/mp2t or video/mp4'), 206: noContent('Partial content'), ...errors(403, 404) },
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

  registry.registerPath({ method: 'get', path: '/openapi.json', tags: ['operations'], summary: 'This document (OpenAPI 3.1)', responses: { 200: noContent('application/json') } });
  registry.registerPath({ method: 'get', path: '/reference', tags: ['operations'], summary: 'A readable reference page of this document', responses: { 200: noContent('text/html') } });
}

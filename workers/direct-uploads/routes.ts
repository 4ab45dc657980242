/**
 * Direct creator uploads.
 *
 *   POST /v1/direct_uploads            (creator token) → 201 {id, uploadURL, videoId, expiresAt}
 *   /v1/direct_uploads/{token}/tus     a tus 1.0.0 endpoint (the one in uploads/tus-routes.ts) that needs no
 *                                      Authorization header: the token in the path is the credential.
 *
 * What the URL allows, checked here before the tus code runs (so a refused request writes nothing):
 * - 401 for a malformed, tampered or unknown token;
 * - 403 for an Origin outside `allowedOrigins` (when set; a request without Origin is not a browser on another
 *   site and is let through), and for any upload other than the one this URL created;
 * - 410 after `expiresAt` for a creation, and for anything once the upload completed (single use);
 * - 409 for a second creation while the first upload is in progress (resume that one instead);
 * - 413 for any byte beyond `maxSizeBytes`: the URL's limit is the upload's limit (uploads/size-limit.ts), so a
 *   declared Upload-Length, a deferred length, the data a creation carries and every PATCH are held to it.
 * `expiresAt` bounds when the upload may start; a started upload runs until its own Upload-Expires (session TTL).
 */
import { Hono, type Context, type Next } from 'hono';
import { createRoute } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { requireCreator } from '../shared/auth';
import { apiError, badRequest, forbidden, gone, payloadTooLarge, renderError } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody } from '../shared/openapi';
import { newId, runtime } from '../shared/runtime';
import { tusRoutes } from '../uploads/tus-routes';
import { allowedOriginsOf, claimCreation, findByToken, hashToken, insertDirectUpload, newDirectUploadToken, recordCreation, releaseClaim, type DirectUploadRow } from './capability';
import { CreateDirectUploadSchema, DirectUploadSchema } from './schemas';
import { scheduledDeletionAt } from '../metadata/scheduled-deletion';
import { assertWithinQuota } from '../usage/quota';
import { insertUploadingVideo } from '../metadata/video-state';
import { encodingSettings } from '../metadata/encoding-settings';

export const DIRECT_TUS_MOUNT = '/v1/direct_uploads/:token/tus';
const directTusBase = (token: string) => `/v1/direct_uploads/${token}/tus`;
const DIRECT_PATH = /^\/v1\/direct_uploads\/([^/]+)\/tus(?:\/([^/]+))?\/?$/;

export const directUploadRoutes = apiRoutes().openapi(
  createRoute({
    method: 'post',
    path: '/v1/direct_uploads',
    tags: ['direct uploads'],
    summary: 'Create a credential-free, single-use tus upload URL for one new video',
    security: bearerAuth,
    middleware: [requireCreator, jsonObjectBody],
    request: { body: jsonBody(CreateDirectUploadSchema) },
    responses: { 201: jsonContent(DirectUploadSchema, 'The upload URL and the video it fills'), ...errors(400, 401, 413) },
  }),
  async (c) => {
    const input = c.req.valid('json');
    const config = c.var.config;
    if (input.maxSizeBytes !== undefined && input.maxSizeBytes > config.uploads.maxFileSize) {
      throw payloadTooLarge(`maxSizeBytes must be at most ${config.uploads.maxFileSize}`);
    }
    await assertWithinQuota(c.var.db, c.var.creatorId!, { bytes: input.maxSizeBytes ?? 0 });
    const encoding = encodingSettings(input, config);
    const now = runtime().now();
    const videoId = newId('vid');
    const id = newId('du');
    const token = newDirectUploadToken();
    const expiresAt = now + (input.expiresInSeconds ?? config.directUploads.defaultTtlSec) * 1000;
    await c.var.db.batch([
      insertUploadingVideo(c.var.db, {
        id: videoId,
        creatorId: c.var.creatorId!,
        title: input.title ?? 'Direct upload',
        description: '',
        visibility: 'public',
        scheduledDeletion: scheduledDeletionAt(input.scheduledDeletion, config, now) ?? null,
        ...encoding,
        createdAt: now,
      }),
      insertDirectUpload(c.var.db, {
        id,
        tokenHash: await hashToken(token),
        creatorId: c.var.creatorId!,
        videoId,
        maxSizeBytes: input.maxSizeBytes ?? null,
        maxDurationSeconds: input.maxDurationSeconds ?? null,
        allowedOrigins: input.allowedOrigins ? JSON.stringify(input.allowedOrigins) : null,
        metadata: input.metadata ? JSON.stringify(input.metadata) : null,
        expiresAt,
        createdAt: now,
      }),
    ]);
    const uploadURL = `${new URL(c.req.url).origin}${directTusBase(token)}`;
    return c.json({ id, uploadURL, videoId, expiresAt: new Date(expiresAt).toISOString() }, 201);
  },
);

const invalidUrl = () => apiError('unauthorized', 'this direct upload URL is not valid');

/** The checks above; on success the tus routes run as the URL's creator, scoped to its video. */
async function authorize(c: Context<AppEnv>, next: Next, row: DirectUploadRow, token: string, uploadId: string | undefined): Promise<void> {
  const origin = c.req.header('Origin');
  const allowed = allowedOriginsOf(row);
  if (allowed && origin !== undefined && !allowed.includes(origin)) throw forbidden(`origin ${origin} may not use this upload URL`);
  const scope = { id: row.id, videoId: row.videoId, creatorId: row.creatorId, maxSizeBytes: row.maxSizeBytes, uploadId: row.uploadId };
  c.set('directUpload', scope);
  // Discovery (no credentials) already sees the URL's own Tus-Max-Size.
  if (c.req.method === 'OPTIONS') return next();
  if (row.completedAt !== null) throw gone('this direct upload URL was already used: its upload is complete');
  c.set('creatorId', row.creatorId);
  if (uploadId === undefined) {
    if (c.req.method !== 'POST') return next();
    if (runtime().now() >= row.expiresAt) throw gone(`this direct upload URL expired at ${new Date(row.expiresAt).toISOString()}`);
    // One URL, one upload: tus-js-client's parallelUploads would create several partial uploads through it.
    if (c.req.header('Upload-Concat') !== undefined) throw badRequest('a direct upload URL takes one upload: concatenation (parallelUploads) is not available here');
    if (!(await claimCreation(c.var.db, row.id))) {
      const location = row.uploadId ? { Location: new URL(`${directTusBase(token)}/${row.uploadId}`, c.req.url).href } : undefined;
      throw apiError('conflict', 'this direct upload URL already created its upload; resume that one', { headers: location });
    }
    try {
      await next();
    } finally {
      const created = c.res.status === 201 ? /\/v1\/uploads\/([^/]+)$/.exec(c.res.headers.get('Location') ?? '')?.[1] : undefined;
      if (created) {
        await recordCreation(c.var.db, row.id, created);
        // Absolute, like every tus Location here (built from the request's own origin).
        c.res.headers.set('Location', new URL(`${directTusBase(token)}/${created}`, c.req.url).href);
      } else {
        await releaseClaim(c.var.db, row.id);
      }
    }
    return;
  }
  if (row.uploadId === null || uploadId !== row.uploadId) throw forbidden('this direct upload URL belongs to another upload');
  return next();
}

/** CORS of the direct endpoint: only allowed origins may read answers (tus-routes echoes any Origin). */
function applyCors(c: Context<AppEnv>, row: DirectUploadRow | null): void {
  const headers = c.res.headers;
  const origin = c.req.header('Origin');
  const allowed = row ? allowedOriginsOf(row) : null;
  headers.set('Tus-Resumable', '1.0.0');
  headers.append('Vary', 'Origin');
  if (allowed && (origin === undefined || !allowed.includes(origin))) headers.delete('Access-Control-Allow-Origin');
  else headers.set('Access-Control-Allow-Origin', origin ?? '*');
}

/** Mounted at `DIRECT_TUS_MOUNT`: the capability check in front of the unchanged tus routes. */
export const directTusRoutes = new Hono<AppEnv>();
directTusRoutes.use('*', async (c, next) => {
  const match = DIRECT_PATH.exec(c.req.path);
  let row: DirectUploadRow | null = null;
  try {
    if (!match) throw invalidUrl();
    row = await findByToken(c.var.db, match[1]!);
    if (!row) throw invalidUrl();
    await authorize(c, next, row, match[1]!, match[2]);
  } catch (err) {
    if (!(err instanceof HTTPException)) throw err;
    c.res = renderError(err, c);
  }
  applyCors(c, row);
});
directTusRoutes.route('/', tusRoutes);

/**
 * tus 1.0.0 at `/v1/uploads`: core (HEAD, PATCH, OPTIONS), creation, expiration, checksum (sha1), termination.
 *
 *   POST    /v1/uploads            Upload-Length, Upload-Metadata (videoId of an existing video of this creator,
 *                                  or title / name / filename to create one; optional filetype, sha256)
 *                                  → 201 Location: /v1/uploads/{uploadId}, Upload-Expires
 *   HEAD    /v1/uploads/:uploadId  → Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires
 *   PATCH   /v1/uploads/:uploadId  Upload-Offset, Content-Type: application/offset+octet-stream, optional
 *                                  Upload-Checksum → 204 Upload-Offset; the PATCH that reaches Upload-Length
 *                                  also completes the upload (assemble, verify, hand to transcoding)
 *   DELETE  /v1/uploads/:uploadId  → 204, the upload is abandoned and its parts aborted
 *   OPTIONS /v1/uploads[/:id]      → Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm (+ CORS)
 *
 * Every request needs the creator token (`Authorization: Bearer …`, via tus-js-client's `headers` option) except
 * OPTIONS, which browsers send without credentials. How PATCH bodies of any size map onto R2 parts, and why one
 * PATCH at a time, is explained in part-writer.ts.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { eq } from 'drizzle-orm';
import { requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { ApiError, badRequest, conflict, forbidden, notFound, payloadTooLarge } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { newId, runtime } from '../shared/runtime';
import { requireOwnedVideo } from '../metadata/videos';
import { checkFileSize, partSizeOf } from './chunk-routes';
import { completeUpload, missingError } from './complete';
import { withLease, writeTusPatch } from './part-writer';
import type { SessionView } from './session-types';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_EXPOSE_HEADERS,
  OFFSET_CONTENT_TYPE,
  TUS_CHECKSUM_ALGORITHMS,
  TUS_EXTENSIONS,
  TUS_VERSION,
  httpDate,
  parseByteCount,
  parseUploadChecksum,
  parseUploadMetadata,
  preconditionFailed,
  unsupportedMediaType,
} from './tus-protocol';
import { newUploadId, parseUploadId, sessionStub } from './upload-ids';

const MAX_TITLE = 200;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

function discoveryHeaders(c: Context<AppEnv>): Record<string, string> {
  return {
    'Tus-Version': TUS_VERSION,
    'Tus-Extension': TUS_EXTENSIONS,
    'Tus-Max-Size': String(c.var.config.uploads.maxFileSize),
    'Tus-Checksum-Algorithm': TUS_CHECKSUM_ALGORITHMS,
  };
}

/** The session of `:uploadId`, owned by the caller: 404 unknown, 410 ended or expired, 403 another creator's. */
async function ownedSession(c: Context<AppEnv>, uploadId: string): Promise<SessionView> {
  const parsed = parseUploadId(uploadId);
  if (!parsed) throw notFound('unknown upload');
  const info = await sessionStub(c.env, parsed.videoId).info(uploadId);
  if (info.status !== 'ok') throw missingError(info);
  if (info.session.creatorId !== c.var.creatorId) throw forbidden('this upload belongs to another creator');
  return info.session;
}

/** Completes an upload whose bytes are all stored (idempotent); errors are the API's (e.g. 422 verification). */
async function completeIfFull(c: Context<AppEnv>, session: { uploadId: string; videoId: string; fileSize: number; state: string }, offset: number) {
  if (offset !== session.fileSize || session.state === 'completed') return;
  await completeUpload(c.env, c.var.db, session.videoId, sessionStub(c.env, session.videoId), session.uploadId);
}

async function videoForCreation(c: Context<AppEnv>, metadata: Map<string, string>): Promise<{ id: string; creatorId: string }> {
  const videoId = metadata.get('videoId');
  if (videoId !== undefined) {
    const { video } = await requireOwnedVideo(c, videoId);
    if (video.status !== 'UPLOADING') throw conflict(`video is ${video.status}; uploads are accepted only while UPLOADING`);
    return { id: video.id, creatorId: video.creatorId };
  }
  // Uppy and other clients send the file name as `name` / `filename`; it serves as the title when none is given.
  const title = (metadata.get('title') ?? metadata.get('name') ?? metadata.get('filename') ?? '').trim();
  if (title === '') throw badRequest('Upload-Metadata must carry videoId (an existing video) or title (to create one)');
  if (title.length > MAX_TITLE) throw badRequest(`title must be at most ${MAX_TITLE} characters`);
  const now = runtime().now();
  const id = newId('vid');
  await c.var.db.insert(schema.videos).values({
    id,
    creatorId: c.var.creatorId!,
    title,
    description: metadata.get('description') ?? '',
    visibility: 'public',
    status: 'UPLOADING',
    createdAt: now,
    updatedAt: now,
  });
  return { id, creatorId: c.var.creatorId! };
}

/** Mounted at `/v1/uploads` (see app.ts), so its middleware applies to tus requests only. */
export const tusRoutes = new Hono<AppEnv>();

/** CORS for browsers, and `Tus-Resumable` on every response (errors included). */
tusRoutes.use('*', async (c, next) => {
  await next();
  const headers = c.res.headers;
  headers.set('Tus-Resumable', TUS_VERSION);
  headers.set('Access-Control-Allow-Origin', c.req.header('Origin') ?? '*');
  headers.append('Vary', 'Origin');
  headers.set('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
});

/** Every request but OPTIONS must speak tus 1.0.0 (412 otherwise, with the versions we speak). */
tusRoutes.use('*', async (c, next) => {
  if (c.req.method !== 'OPTIONS' && c.req.header('Tus-Resumable') !== TUS_VERSION) throw preconditionFailed();
  await next();
});

const options = (c: Context<AppEnv>) => {
  const headers: Record<string, string> = { ...discoveryHeaders(c) };
  if (c.req.header('Access-Control-Request-Method')) {
    headers['Access-Control-Allow-Methods'] = CORS_ALLOW_METHODS;
    headers['Access-Control-Allow-Headers'] = CORS_ALLOW_HEADERS;
    headers['Access-Control-Max-Age'] = '86400';
  }
  return c.body(null, 204, headers);
};
tusRoutes.options('/', options);
tusRoutes.options('/:uploadId', options);

tusRoutes.post('/', requireCreator, async (c) => {
  if (c.req.header('Upload-Defer-Length') !== undefined) throw badRequest('Upload-Defer-Length is not supported: send Upload-Length');
  if (c.req.header('Upload-Concat') !== undefined) throw badRequest('the concatenation extension is not supported');
  const length = parseByteCount(c.req.header('Upload-Length'), 'Upload-Length');
  if (length === null) throw badRequest('Upload-Length is required');
  if (length < 1) throw badRequest('Upload-Length must be at least 1 byte');
  const metadataHeader = c.req.header('Upload-Metadata');
  const metadata = parseUploadMetadata(metadataHeader);
  const sha256 = metadata.get('sha256');
  if (sha256 !== undefined && !SHA256_HEX.test(sha256)) throw badRequest('Upload-Metadata sha256 must be 64 hexadecimal characters');
  const config = c.var.config;
  const partSize = partSizeOf(config);
  checkFileSize(length, config, partSize);
  const video = await videoForCreation(c, metadata);
  const filetype = metadata.get('filetype') ?? metadata.get('type');
  const started = await sessionStub(c.env, video.id).start({
    uploadId: newUploadId(video.id),
    videoId: video.id,
    creatorId: video.creatorId,
    protocol: 'tus',
    fileSize: length,
    partSize,
    sha256: sha256?.toLowerCase() ?? null,
    metadata: metadataHeader?.trim() || null,
    contentType: filetype && /^[\w.+-]+\/[\w.+-]+$/.test(filetype) ? filetype : null,
    ttlMs: config.uploads.sessionTtlMs,
  });
  if (started.status === 'failed') throw new ApiError(503, 'storage_unavailable', started.message);
  return c.body(null, 201, {
    Location: `/v1/uploads/${started.session.uploadId}`,
    'Upload-Expires': httpDate(started.session.expiresAt),
    'X-Video-Id': video.id,
  });
});

/** HEAD (Hono answers HEAD with the GET handler, minus the body). */
tusRoutes.get('/:uploadId', requireCreator, async (c) => {
  let session = await ownedSession(c, c.req.param('uploadId'));
  // All bytes stored but not completed (a crash after the last PATCH): finish now, as tus clients stop asking.
  if (session.state === 'uploading' && session.offset === session.fileSize) {
    await completeIfFull(c, session, session.offset);
    session = await ownedSession(c, session.uploadId);
  }
  const headers: Record<string, string> = {
    'Upload-Offset': String(session.offset),
    'Upload-Length': String(session.fileSize),
    'Cache-Control': 'no-store',
  };
  if (session.metadata) headers['Upload-Metadata'] = session.metadata;
  if (session.state === 'uploading') headers['Upload-Expires'] = httpDate(session.expiresAt);
  return c.json({ uploadId: session.uploadId, videoId: session.videoId, state: session.state, offset: session.offset, length: session.fileSize }, 200, headers);
});

tusRoutes.patch('/:uploadId', requireCreator, async (c) => {
  const contentType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== OFFSET_CONTENT_TYPE) throw unsupportedMediaType();
  const offset = parseByteCount(c.req.header('Upload-Offset'), 'Upload-Offset');
  if (offset === null) throw badRequest('Upload-Offset is required');
  const length = parseByteCount(c.req.header('Content-Length'), 'Content-Length');
  if (length === null) throw new ApiError(411, 'length_required', 'PATCH requests need a Content-Length');
  const sha1 = parseUploadChecksum(c.req.header('Upload-Checksum'));
  const uploadId = c.req.param('uploadId');
  const session = await ownedSession(c, uploadId);
  if (offset + length > session.fileSize) {
    throw payloadTooLarge(`this PATCH would end at ${offset + length}, past Upload-Length ${session.fileSize}`);
  }
  const stub = sessionStub(c.env, session.videoId);
  const begun = await stub.beginPatch(uploadId, offset);
  const conflictAt = (message: string, at: number) => new ApiError(409, 'conflict', message, { offset: at }, { 'Upload-Offset': String(at) });
  switch (begun.status) {
    case 'not_found':
    case 'gone':
      throw missingError(begun);
    case 'wrong_protocol':
      throw conflict(`this upload uses the ${begun.protocol} API`);
    case 'completed':
      if (offset === session.fileSize && length === 0) return c.body(null, 204, { 'Upload-Offset': String(offset) });
      throw conflictAt('this upload is already complete', session.fileSize);
    case 'offset_mismatch':
      throw conflictAt(`Upload-Offset ${offset} does not match the stored offset ${begun.offset}`, begun.offset);
    case 'busy':
      throw conflictAt('another PATCH to this upload is in progress', session.offset);
    case 'ok':
      break;
  }
  const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
  const outcome = await withLease(stub, begun.lease, c.var.config.uploads.writeLeaseMs, () =>
    writeTusPatch(c.env, {
      target: begun,
      videoId: session.videoId,
      body,
      length,
      sha1: sha1 ?? undefined,
      commit: (input) => stub.commit(uploadId, input),
    }),
  );
  switch (outcome.status) {
    case 'checksum_mismatch':
      throw new ApiError(460 as ContentfulStatusCode, 'checksum_mismatch', 'Upload-Checksum does not match the body; nothing of this PATCH was stored', undefined, {
        'Upload-Offset': String(outcome.offset),
      });
    case 'conflict':
      throw conflictAt('the upload moved while this PATCH was written', outcome.offset);
    case 'ended':
      throw missingError({ status: 'gone', reason: 'terminated' });
    case 'interrupted':
      throw new ApiError(400, 'incomplete_body', 'the body ended before Content-Length bytes; resume from Upload-Offset', { offset: outcome.offset }, {
        'Upload-Offset': String(outcome.offset),
      });
    case 'ok':
      break;
  }
  await completeIfFull(c, session, outcome.offset);
  return c.body(null, 204, { 'Upload-Offset': String(outcome.offset), 'Upload-Expires': httpDate(session.expiresAt) });
});

tusRoutes.delete('/:uploadId', requireCreator, async (c) => {
  const uploadId = c.req.param('uploadId');
  const session = await ownedSession(c, uploadId);
  const ended = await sessionStub(c.env, session.videoId).terminate(uploadId, 'terminated');
  if (ended.status === 'not_found' || ended.status === 'gone') throw missingError(ended);
  if (ended.status === 'completed') throw conflict('this upload is complete and cannot be terminated; delete the video to remove it');
  return c.body(null, 204);
});

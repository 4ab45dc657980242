/**
 * tus 1.0.0 at `/v1/uploads`: core (HEAD, PATCH, OPTIONS) and the extensions creation, creation-with-upload,
 * creation-defer-length, expiration, checksum (sha1), termination and concatenation.
 *
 *   POST    /v1/uploads            Upload-Length (or Upload-Defer-Length: 1), Upload-Metadata (videoId of an
 *                                  existing video of this creator, or title / name / filename to create one;
 *                                  optional filetype, sha256), optionally the first bytes (Content-Type:
 *                                  application/offset+octet-stream) → 201 Location (absolute), Upload-Offset,
 *                                  Upload-Expires. With Upload-Concat: partial, a partial upload (no video yet);
 *                                  with Upload-Concat: final;<urls>, the video's original made of them (a composite).
 *   HEAD    /v1/uploads/:uploadId  → Upload-Offset, Upload-Length (or Upload-Defer-Length), Upload-Metadata,
 *                                  Upload-Expires, Upload-Concat
 *   PATCH   /v1/uploads/:uploadId  Upload-Offset, Content-Type: application/offset+octet-stream, optional
 *                                  Upload-Checksum, Upload-Length (declares a deferred length) → 204 Upload-Offset;
 *                                  the PATCH that reaches the length also completes the upload (assemble, verify,
 *                                  hand to transcoding). A final upload takes no PATCH (403).
 *   DELETE  /v1/uploads/:uploadId  → 204, the upload is ended: an unfinished one's parts are aborted; a finished one
 *                                    leaves its video and original (HEAD answers 410 afterwards)
 *   OPTIONS /v1/uploads[/:id]      → 200 Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm (+ CORS)
 *
 * Every request needs an uploader (`resolveUploader`: the creator token, `Authorization: Bearer …`, via
 * tus-js-client's `headers` option, or under a direct upload URL `/v1/direct_uploads/{token}/tus` the URL's own
 * capability, see direct-uploads/) except OPTIONS, which browsers send without credentials. How request bodies
 * of any size map onto R2 parts is explained in part-writer.ts, concatenation in tus-concat.ts.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { tusAuth } from './tus-auth';
import { apiError, ApiError, badRequest, forbidden, notFound } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { keys } from '../shared/storage-keys';
import { newId } from '../shared/runtime';
import { missingError } from './complete';
import type { SessionView, UploadKind } from './session-types';
import { completeWaitingFinal, concatenate, createFinalUpload } from './tus-concat';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_EXPOSE_HEADERS,
  OFFSET_CONTENT_TYPE,
  TUS_CHECKSUM_ALGORITHMS,
  TUS_EXTENSIONS,
  TUS_VERSION,
  httpDate,
  mediaTypeOf,
  parseByteCount,
  parseUploadChecksum,
  parseUploadConcat,
  parseUploadMetadata,
  preconditionFailed,
  unsupportedMediaType,
  contentTypeOfMetadata,
} from './tus-protocol';
import { checkVideoText, uploadableVideo, videoFromMetadata, type UploadVideo } from './tus-video';
import { completeIfFull, writeTusBytes } from './tus-write';
import { newUploadId, parseUploadId, sessionStub, uploadNonce } from './upload-ids';
import { assertWithinQuota } from '../usage/quota';
import { checkUploadSize, partSizeOf, uploadSizeLimit } from './size-limit';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * The one place a tus request's uploader is resolved: it sets `creatorId` or answers 401. Today that is the
 * creator token; another credential (a capability token in the URL for direct creator uploads) plugs in here.
 */
const resolveUploader: MiddlewareHandler<AppEnv> = tusAuth;

/** The absolute URL of an upload, from the request's own origin (some clients and proxies need it absolute). */
export function uploadUrl(c: Context<AppEnv>, uploadId: string): string {
  return new URL(`/v1/uploads/${uploadId}`, c.req.url).href;
}

function discoveryHeaders(c: Context<AppEnv>): Record<string, string> {
  return {
    'Tus-Version': TUS_VERSION,
    'Tus-Extension': TUS_EXTENSIONS,
    'Tus-Max-Size': String(uploadSizeLimit(c).bytes),
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

/** The headers that describe an upload (HEAD, and the creation response). */
function uploadHeaders(c: Context<AppEnv>, session: SessionView): Record<string, string> {
  const headers: Record<string, string> = { 'Upload-Offset': String(session.offset), 'Cache-Control': 'no-store' };
  // tus: a final upload shows no offset until its concatenation is done (concatenation-unfinished).
  if (session.kind === 'final' && session.state !== 'completed') delete headers['Upload-Offset'];
  if (session.lengthDeferred) headers['Upload-Defer-Length'] = '1';
  else headers['Upload-Length'] = String(session.fileSize);
  if (session.metadata) headers['Upload-Metadata'] = session.metadata;
  if (session.state === 'uploading') headers['Upload-Expires'] = httpDate(session.expiresAt);
  if (session.kind === 'partial') headers['Upload-Concat'] = 'partial';
  if (session.kind === 'final') headers['Upload-Concat'] = `final;${(session.concat ?? []).map((p) => uploadUrl(c, p.uploadId)).join(' ')}`;
  if (session.kind !== 'partial') headers['X-Video-Id'] = session.videoId;
  return headers;
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

/** Every request but OPTIONS must speak tus 1.0.0 (412 otherwise, with the versions we speak), then have an uploader. */
tusRoutes.use('*', async (c, next) => {
  if (c.req.method === 'OPTIONS') return next();
  if (c.req.header('Tus-Resumable') !== TUS_VERSION) throw preconditionFailed();
  return resolveUploader(c, next);
});

/** Discovery: 200 (strict clients and tusd use 200; 204 is legal too) with every tus header. */
const options = (c: Context<AppEnv>) => {
  const headers: Record<string, string> = { ...discoveryHeaders(c) };
  if (c.req.header('Access-Control-Request-Method')) {
    headers['Access-Control-Allow-Methods'] = CORS_ALLOW_METHODS;
    headers['Access-Control-Allow-Headers'] = CORS_ALLOW_HEADERS;
    headers['Access-Control-Max-Age'] = '86400';
  }
  return c.body(null, 200, headers);
};
tusRoutes.options('/', options);
tusRoutes.options('/:uploadId', options);

/** The body a creation POST carries (creation-with-upload), checked before anything is created. */
function creationBody(c: Context<AppEnv>): { length: number; body: ReadableStream<Uint8Array> | null } {
  const type = mediaTypeOf(c.req.header('Content-Type'));
  const length = parseByteCount(c.req.header('Content-Length'), 'Content-Length');
  const hasBody = (length ?? 0) > 0 || (length === null && c.req.header('Transfer-Encoding') !== undefined);
  if ((type !== '' || hasBody) && type !== OFFSET_CONTENT_TYPE) throw unsupportedMediaType('a creation request with data');
  if (hasBody && length === null) throw apiError('length_required', 'a creation request with data needs a Content-Length');
  return { length: length ?? 0, body: hasBody ? c.req.raw.body : null };
}

tusRoutes.post('/', async (c) => {
  const config = c.var.config;
  const partSize = partSizeOf(config);
  const concat = parseUploadConcat(c.req.header('Upload-Concat'), config.uploads.maxConcatPartials);
  const data = creationBody(c);
  const metadataHeader = c.req.header('Upload-Metadata')?.trim() || null;
  const metadata = parseUploadMetadata(metadataHeader ?? undefined);
  const sha256 = metadata.get('sha256');
  if (sha256 !== undefined && !SHA256_HEX.test(sha256)) throw badRequest('Upload-Metadata sha256 must be 64 hexadecimal characters');
  const contentType = contentTypeOfMetadata(metadata);
  const checksum = parseUploadChecksum(c.req.header('Upload-Checksum'));
  checkVideoText(c, metadata);

  if (concat?.type === 'final') {
    if (c.req.header('Upload-Length') !== undefined || c.req.header('Upload-Defer-Length') !== undefined) {
      throw badRequest('a final upload takes no Upload-Length: its length is the sum of its partial uploads');
    }
    if (data.length > 0) throw badRequest('a final upload carries no data: it is assembled from its partial uploads');
    const session = await createFinalUpload(c, {
      partialIds: concat.uploadIds,
      metadata,
      metadataHeader,
      sha256: sha256?.toLowerCase() ?? null,
      contentType,
      partSize,
      videoFromMetadata: () => videoFromMetadata(c, metadata),
    });
    return c.body(null, 201, { ...uploadHeaders(c, session), Location: uploadUrl(c, session.uploadId) });
  }

  const deferHeader = c.req.header('Upload-Defer-Length');
  const declared = parseByteCount(c.req.header('Upload-Length'), 'Upload-Length');
  if (deferHeader !== undefined && deferHeader.trim() !== '1') throw badRequest('Upload-Defer-Length must be 1');
  if (deferHeader !== undefined && declared !== null) throw badRequest('send either Upload-Length or Upload-Defer-Length, not both');
  if (deferHeader === undefined && declared === null) throw badRequest('Upload-Length (or Upload-Defer-Length: 1) is required');
  const lengthDeferred = deferHeader !== undefined;
  // A deferred length is bounded by the limit itself, which the session keeps as its size until a PATCH declares
  // the real one: the creation's bytes and every later PATCH are held to it (size-limit.ts).
  const limit = uploadSizeLimit(c);
  const fileSize = declared ?? limit.bytes;
  if (declared !== null) checkUploadSize(declared, limit, config, partSize, 'Upload-Length');
  else checkUploadSize(data.length, limit, config, partSize, 'the data of this creation');
  if (data.length > fileSize) throw badRequest(`the request carries ${data.length} bytes, more than Upload-Length ${fileSize}`);

  // A partial upload has no video yet unless its metadata names one; a plain upload fills or creates a video.
  const kind: UploadKind = concat?.type === 'partial' ? 'partial' : 'upload';
  // Quotas before anything is created (a partial counts when its final upload is made of it).
  if (kind === 'upload') await assertWithinQuota(c.var.db, c.var.creatorId!, { bytes: lengthDeferred ? data.length : fileSize });
  let owner: UploadVideo & { ownerId: string; boundVideoId: string | null };
  if (kind === 'partial') {
    const videoId = metadata.get('videoId');
    const video = videoId === undefined ? null : await uploadableVideo(c, videoId);
    owner = { id: video?.id ?? '', creatorId: c.var.creatorId!, ownerId: newId('pt'), boundVideoId: video?.id ?? null };
  } else {
    const video = await videoFromMetadata(c, metadata);
    if (!video) throw badRequest('Upload-Metadata must carry videoId (an existing video) or title (to create one)');
    owner = { ...video, ownerId: video.id, boundVideoId: null };
  }
  const uploadId = newUploadId(owner.ownerId);
  const started = await sessionStub(c.env, owner.ownerId).start({
    uploadId,
    videoId: owner.ownerId,
    creatorId: owner.creatorId,
    protocol: 'tus',
    kind,
    objectKey: kind === 'partial' ? keys.uploadPartialData(owner.ownerId, uploadNonce(uploadId)) : keys.original(owner.ownerId),
    fileSize,
    lengthDeferred,
    partSize,
    sha256: kind === 'partial' ? null : (sha256?.toLowerCase() ?? null),
    metadata: metadataHeader,
    contentType: kind === 'partial' ? null : contentType,
    ttlMs: config.uploads.sessionTtlMs,
    boundVideoId: owner.boundVideoId,
  });
  if (started.status === 'failed') throw apiError('storage_unavailable', started.message);
  let session = started.session;
  const location = uploadUrl(c, session.uploadId);
  try {
    if (data.body) {
      await writeTusBytes(c, session, { offset: 0, length: data.length, body: data.body, checksum, declaredLength: null });
    } else {
      // Upload-Length: 0 is complete as created (an empty partial, or a video that fails: nothing to process).
      await completeIfFull(c, session, 0);
    }
  } catch (err) {
    // The upload exists: whatever went wrong with its first bytes, tell the client where to resume.
    if (err instanceof ApiError) throw err.withHeaders({ Location: location });
    throw err;
  }
  session = await ownedSession(c, session.uploadId);
  return c.body(null, 201, { ...uploadHeaders(c, session), Location: location });
});

/** HEAD (Hono answers HEAD with the GET handler, minus the body). */
tusRoutes.get('/:uploadId', async (c) => {
  let session = await ownedSession(c, c.req.param('uploadId'));
  // Finish what a crash left: a final upload not completed (e.g. its partials claimed, no manifest yet), or all
  // bytes stored but not completed (tus clients stop asking once they have sent every byte).
  if (session.state === 'uploading' && session.kind === 'final') {
    session = await concatenate(c, session);
  } else if (session.state === 'uploading' && !session.lengthDeferred && session.offset === session.fileSize) {
    await completeIfFull(c, session, session.offset);
    session = await ownedSession(c, session.uploadId);
  }
  const body = { uploadId: session.uploadId, videoId: session.kind === 'partial' ? null : session.videoId, state: session.state, offset: session.offset, length: session.lengthDeferred ? null : session.fileSize };
  return c.json(body, 200, uploadHeaders(c, session));
});

tusRoutes.patch('/:uploadId', async (c) => {
  if (mediaTypeOf(c.req.header('Content-Type')) !== OFFSET_CONTENT_TYPE) throw unsupportedMediaType();
  const offset = parseByteCount(c.req.header('Upload-Offset'), 'Upload-Offset');
  if (offset === null) throw badRequest('Upload-Offset is required');
  const length = parseByteCount(c.req.header('Content-Length'), 'Content-Length');
  if (length === null) throw apiError('length_required', 'PATCH requests need a Content-Length');
  const checksum = parseUploadChecksum(c.req.header('Upload-Checksum'));
  const declaredLength = parseByteCount(c.req.header('Upload-Length'), 'Upload-Length');
  const session = await ownedSession(c, c.req.param('uploadId'));
  const reached = await writeTusBytes(c, session, { offset, length, body: c.req.raw.body, checksum, declaredLength });
  // concatenation-unfinished: the last partial of a waiting final upload completes that upload too.
  if (session.kind === 'partial' && reached === (declaredLength ?? session.fileSize)) await completeWaitingFinal(c, session.uploadId);
  return c.body(null, 204, { 'Upload-Offset': String(reached), 'Upload-Expires': httpDate(session.expiresAt) });
});

tusRoutes.delete('/:uploadId', async (c) => {
  const uploadId = c.req.param('uploadId');
  const session = await ownedSession(c, uploadId);
  // tus 1.0.0: termination of an existing upload, finished or not, is a 204; a finished upload's video and original
  // stay (delete the video to remove them).
  const ended = await sessionStub(c.env, session.videoId).terminate(uploadId, 'terminated', null, true);
  if (ended.status === 'not_found' || ended.status === 'gone') throw missingError(ended);
  return c.body(null, 204);
});

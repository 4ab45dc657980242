/**
 * The production design's chunk API over the UploadSession:
 *   POST   /v1/videos/:id/upload               {fileSize, sha256?} → {uploadId, chunkSize, totalChunks, expiresAt}
 *   PUT    /v1/videos/:id/upload/chunks/:n     chunk n (0-based), any order, in parallel; exactly its size
 *   GET    /v1/videos/:id/upload               resume info: stored and missing chunks
 *   POST   /v1/videos/:id/upload/complete      assemble, verify, hand to transcoding (idempotent)
 *   DELETE /v1/videos/:id/upload               abandon the upload in progress
 *
 * Chunk sizes: every chunk is exactly `chunkSize` bytes except the last, which is the remainder. That is R2's rule
 * for multipart parts, so each chunk is one part and no byte is copied or buffered. A chunk already stored is not
 * written again (idempotent retry: 200 with the ETag stored first).
 */
import type { Context } from 'hono';
import { eq } from 'drizzle-orm';
import { schema } from '../shared/db';
import { apiError, badRequest, conflict, payloadTooLarge } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { keys } from '../shared/storage-keys';
import { requireOwnedVideo } from '../metadata/videos';
import { assertWithinQuota } from '../usage/quota';
import { completeUpload, missingError } from './complete';
import { uploadChunkPart, withLease } from './part-writer';
import type { SessionView } from './session-types';
import { ServerTiming } from './server-timing';
import { checkUploadSize, partSizeOf, uploadSizeLimit } from './size-limit';
import { newUploadId, sessionStub } from './upload-ids';
import { apiRoutes } from '../shared/openapi';
import { abandonRoute, chunkRoute, completeRoute, initiateRoute, resumeRoute } from './chunk-specs';


function chunkedView(session: SessionView) {
  const stored = new Set(session.storedParts);
  const missing: number[] = [];
  if (session.state === 'uploading') for (let i = 0; i < session.totalParts; i++) if (!stored.has(i)) missing.push(i);
  return {
    uploadId: session.uploadId,
    videoId: session.videoId,
    protocol: session.protocol,
    state: session.state,
    fileSize: session.fileSize,
    chunkSize: session.partSize,
    totalChunks: session.totalParts,
    sha256: session.sha256,
    expiresAt: new Date(session.expiresAt).toISOString(),
    storedChunks: session.storedParts,
    missingChunks: missing,
    bytesStored: session.bytesStored,
  };
}

async function ownedUploadingVideo(c: Context<AppEnv>, videoId: string) {
  const record = await requireOwnedVideo(c, videoId);
  return record.video;
}

export const chunkRoutes = apiRoutes()
  .openapi(initiateRoute, async (c) => {
    const videoId = c.req.param('id');
    const video = await ownedUploadingVideo(c, videoId);
    const { fileSize, sha256, contentType } = c.req.valid('json');
    const config = c.var.config;
    const partSize = partSizeOf(config);
    checkUploadSize(fileSize, uploadSizeLimit(c), config, partSize);
    if (video.status !== 'UPLOADING') throw conflict(`video is ${video.status}; uploads are accepted only while UPLOADING`);
    await assertWithinQuota(c.var.db, video.creatorId, { bytes: fileSize });
    const started = await sessionStub(c.env, videoId).start({
      uploadId: newUploadId(videoId),
      videoId,
      creatorId: video.creatorId,
      protocol: 'chunked',
      objectKey: keys.original(videoId),
      fileSize,
      partSize,
      sha256: sha256?.toLowerCase() ?? null,
      metadata: null,
      contentType: contentType ?? null,
      ttlMs: config.uploads.sessionTtlMs,
    });
    if (started.status === 'failed') throw apiError('storage_unavailable', started.message);
    return c.json(chunkedView(started.session), started.status === 'created' ? 201 : 200);
  })
  .openapi(resumeRoute, async (c) => {
    const videoId = c.req.param('id');
    await ownedUploadingVideo(c, videoId);
    const info = await sessionStub(c.env, videoId).info(null);
    if (info.status !== 'ok') throw missingError(info);
    return c.json(chunkedView(info.session), 200);
  })
  .openapi(chunkRoute, async (c) => {
    const timing = new ServerTiming();
    const videoId = c.req.param('id');
    await ownedUploadingVideo(c, videoId);
    timing.mark('video');
    const raw = c.req.param('n');
    if (!/^\d{1,6}$/.test(raw)) throw badRequest(`chunk index must be a non-negative integer, got ${JSON.stringify(raw)}`);
    const index = Number(raw);
    const stub = sessionStub(c.env, videoId);
    const info = await stub.info(null);
    if (info.status !== 'ok') throw missingError(info);
    const session = info.session;
    if (index >= session.totalParts) {
      throw badRequest(`chunk index ${index} is out of range: this upload has chunks 0..${session.totalParts - 1}`);
    }
    const expected = Math.min(session.partSize, session.fileSize - index * session.partSize);
    const lengthHeader = c.req.header('Content-Length');
    if (lengthHeader === undefined) throw apiError('length_required', 'Content-Length is required for a chunk');
    if (!/^\d+$/.test(lengthHeader)) throw badRequest('Content-Length must be a non-negative integer');
    const length = Number(lengthHeader);
    if (length > expected) {
      throw payloadTooLarge(`chunk ${index} must be exactly ${expected} bytes (chunk size ${session.partSize}); got ${length}`);
    }
    if (length < expected) {
      throw badRequest(
        `chunk ${index} must be exactly ${expected} bytes; only the last chunk (${session.totalParts - 1}) may be smaller than ${session.partSize}`,
      );
    }
    const begun = await stub.beginChunk(index);
    timing.mark('session');
    switch (begun.status) {
      case 'not_found':
      case 'gone':
        throw missingError(begun);
      case 'wrong_protocol':
        throw conflict(`this video's upload in progress uses ${begun.protocol}; continue it there or DELETE it`);
      case 'completed':
        throw conflict('this upload is already complete');
      case 'busy':
        throw conflict(`chunk ${index} is being uploaded by another request, or the upload is completing; retry shortly`);
      case 'stored':
        // Idempotent retry: the first write stays; its ETag is the answer. The body is not read.
        return c.json({ index, size: begun.size, etag: begun.etag, duplicate: true }, 200);
      case 'ok':
        break;
    }
    const body = c.req.raw.body;
    if (!body) throw badRequest('chunk body is empty');
    const config = c.var.config;
    const part = await withLease(stub, begun.lease, config.uploads.writeLeaseMs, async () => {
      let stored;
      try {
        stored = await uploadChunkPart(c.env, begun, index, body, expected);
        timing.mark('r2');
      } catch (err) {
        console.warn(`chunk ${index} of ${videoId} was not stored`, err);
        throw apiError('incomplete_body', `chunk ${index} was not stored: the body ended early or was interrupted; send it again`);
      }
      const committed = await stub.commit(null, { lease: begun.lease, parts: [stored] });
      timing.mark('commit');
      if (committed.status === 'not_found' || committed.status === 'gone') throw missingError(committed);
      if (committed.status !== 'ok') throw conflict('the upload changed while this chunk was stored');
      return { ...stored, storedParts: committed.storedParts };
    });
    timing.mark('release');
    c.header('Server-Timing', timing.header());
    return c.json(
      { index, size: part.size, etag: part.etag, duplicate: false, storedChunks: part.storedParts, totalChunks: session.totalParts },
      201,
    );
  })
  .openapi(completeRoute, async (c) => {
    const videoId = c.req.param('id');
    await ownedUploadingVideo(c, videoId);
    const done = await completeUpload(c.env, c.var.db, videoId, sessionStub(c.env, videoId), null);
    c.header('Server-Timing', done.timing.header());
    // The video's status now (from D1, not the cache): a retried complete of a video that finished since says READY.
    const current = await c.var.db.select({ status: schema.videos.status }).from(schema.videos).where(eq(schema.videos.id, videoId)).get();
    const status = current?.status ?? 'PROCESSING';
    return c.json({ videoId, status, size: done.size, sha256: done.sha256, alreadyCompleted: !done.firstTime }, 200);
  })
  .openapi(abandonRoute, async (c) => {
    const videoId = c.req.param('id');
    await ownedUploadingVideo(c, videoId);
    const ended = await sessionStub(c.env, videoId).terminate(null, 'terminated');
    if (ended.status === 'not_found' || ended.status === 'gone') throw missingError(ended);
    if (ended.status === 'completed') throw conflict('this upload is complete and cannot be cancelled; delete the video to remove it');
    return c.body(null, 204);
  });

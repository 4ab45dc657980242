/**
 * The tus write path shared by `PATCH /v1/uploads/:id` and a creation POST that carries data
 * (creation-with-upload): check the request against the session, take the upload's write lease, stream the body
 * into R2 parts (part-writer.ts), and complete the upload when it reaches its length. Errors are the API's, with
 * the offset the client should resume from where one applies.
 */
import type { Context } from 'hono';
import { assertWithinQuota, bytesLeft, quotaState } from '../usage/quota';
import { apiError, badRequest, type ErrorCode, conflict, forbidden, payloadTooLarge } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { completeUpload, missingError } from './complete';
import { withLease, writeTusPatch } from './part-writer';
import type { SessionView } from './session-types';
import type { UploadChecksum } from './tus-protocol';
import { sessionStub } from './upload-ids';

export interface TusWriteRequest {
  /** Upload-Offset (0 for a creation POST). */
  offset: number;
  /** Content-Length of the body. */
  length: number;
  body: ReadableStream<Uint8Array> | null;
  checksum: UploadChecksum | null;
  /** Upload-Length on a PATCH: declares a deferred length (once); otherwise it must equal the length. */
  declaredLength: number | null;
}

const emptyBody = () => new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });

const atOffset = (code: ErrorCode, message: string, offset: number) =>
  apiError(code, message, { details: { offset }, headers: { 'Upload-Offset': String(offset) } });

export const checksumMismatch = (offset: number) =>
  atOffset('checksum_mismatch', 'Upload-Checksum does not match the body; nothing of this request was stored', offset);

/** Completes an upload whose bytes are all stored (idempotent); errors are the API's (e.g. 422 verification). */
export async function completeIfFull(
  c: Context<AppEnv>,
  session: { uploadId: string; videoId: string; fileSize: number; lengthDeferred: boolean },
  offset: number,
): Promise<void> {
  if (session.lengthDeferred || offset !== session.fileSize) return;
  const done = await completeUpload(c.env, c.var.db, session.videoId, sessionStub(c.env, session.videoId), session.uploadId);
  // Where completion's time went (assemble, verify = read-back + SHA-256, process), as the chunk API reports it.
  c.header('Server-Timing', done.timing.header(), { append: true });
}

/** Writes one request's bytes at `req.offset`; returns the upload's offset afterwards. */
export async function writeTusBytes(c: Context<AppEnv>, session: SessionView, req: TusWriteRequest): Promise<number> {
  if (session.kind === 'final') throw forbidden('a final upload is assembled from its partial uploads; it takes no PATCH');
  if (req.declaredLength !== null) {
    if (!session.lengthDeferred && req.declaredLength !== session.fileSize) {
      throw badRequest(`Upload-Length is already ${session.fileSize}; it cannot change`);
    }
    if (req.declaredLength < req.offset) throw badRequest(`Upload-Length ${req.declaredLength} is below Upload-Offset ${req.offset}`);
    if (req.declaredLength > session.fileSize) throw payloadTooLarge(`Upload-Length ${req.declaredLength} exceeds the maximum of ${session.fileSize} bytes`);
  }
  const limit = req.declaredLength ?? session.fileSize;
  if (req.offset + req.length > limit) {
    throw payloadTooLarge(
      session.lengthDeferred && req.declaredLength === null
        ? `this request would end at ${req.offset + req.length}, past the largest upload accepted (${limit} bytes)`
        : `this request would end at ${req.offset + req.length}, past Upload-Length ${limit}`,
    );
  }
  // A deferred length was checked against no size at creation: every PATCH (and the length it declares) is checked
  // against what the creator's bytes quota still allows, before any byte is kept.
  if (session.lengthDeferred && session.kind !== 'partial') {
    const end = Math.max(req.offset + req.length, req.declaredLength ?? 0);
    const state = await quotaState(c.var.db, session.creatorId);
    if (end > bytesLeft(state)) await assertWithinQuota(c.var.db, session.creatorId, { bytes: end });
  }
  const uploadId = session.uploadId;
  const stub = sessionStub(c.env, session.videoId);
  const begun = await stub.beginPatch(uploadId, req.offset, req.declaredLength);
  const conflictAt = (message: string, at: number) => atOffset('conflict', message, at);
  switch (begun.status) {
    case 'not_found':
    case 'gone':
      throw missingError(begun);
    case 'wrong_protocol':
      throw conflict(`this upload uses the ${begun.protocol} API`);
    case 'completed':
      if (req.offset === session.fileSize && req.length === 0) return session.fileSize;
      throw conflictAt('this upload is already complete', session.fileSize);
    case 'offset_mismatch':
      throw conflictAt(`Upload-Offset ${req.offset} does not match the stored offset ${begun.offset}`, begun.offset);
    case 'length_mismatch':
      throw badRequest(
        session.lengthDeferred
          ? `Upload-Length must be between the stored offset and ${begun.length} bytes`
          : `Upload-Length is already ${begun.length}; it cannot change`,
      );
    case 'busy':
      throw conflictAt('another PATCH to this upload is in progress', session.offset);
    case 'ok':
      break;
  }
  // A digest of the wrong length can never match: refuse without storing anything (the lease is released).
  if (req.checksum?.status === 'never_matches') {
    await stub.release(begun.lease);
    throw checksumMismatch(begun.offset);
  }
  const outcome = await withLease(stub, begun.lease, c.var.config.uploads.writeLeaseMs, () =>
    writeTusPatch(c.env, {
      target: begun,
      videoId: session.videoId,
      body: req.body ?? emptyBody(),
      length: req.length,
      sha1: req.checksum?.status === 'digest' ? req.checksum.sha1 : undefined,
      commit: (input) => stub.commit(uploadId, input),
    }),
  );
  switch (outcome.status) {
    case 'checksum_mismatch':
      throw checksumMismatch(outcome.offset);
    case 'conflict':
      throw conflictAt('the upload moved while this PATCH was written', outcome.offset);
    case 'ended':
      throw missingError({ status: 'gone', reason: 'terminated' });
    case 'interrupted':
      throw atOffset('incomplete_body', 'the body ended before Content-Length bytes; resume from Upload-Offset', outcome.offset);
    case 'ok':
      break;
  }
  const lengthDeferred = session.lengthDeferred && req.declaredLength === null;
  await completeIfFull(c, { ...session, fileSize: begun.fileSize, lengthDeferred }, outcome.offset);
  return outcome.offset;
}

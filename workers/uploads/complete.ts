/**
 * Completion, shared by both protocols: assemble the R2 multipart upload into `originals/{id}/original`, read it
 * back once to verify its size and compute its SHA-256 (checked against the client's when it declared one, and
 * stored in D1 either way), then hand the video to transcoding with `startProcessing`.
 *
 * Idempotent at every step: the session hands out one completion lease; a retried completion after success is
 * answered from the session's recorded result, and `startProcessing` is a compare-and-set, so nothing is ever
 * enqueued twice. If a Worker dies after R2 assembled the object but before the session recorded it, the retry's
 * `complete` fails in R2 and the object's `uploadId` custom metadata proves it is this upload's, so it carries on.
 *
 * Two variations:
 * - A tus partial upload (concatenation) is assembled into its own object and only its size is checked: its
 *   bytes are hashed when a final upload makes them part of a composite original (tus-concat.ts).
 * - An empty upload (tus `Upload-Length: 0`, allowed by the protocol) has nothing to assemble. An empty partial
 *   becomes an empty object; an empty original can never be a video, so the video fails at once with a clear
 *   reason instead of queueing an analysis that can only fail.
 */
import type { Db } from '../shared/db';
import { markUploadEmpty } from '../metadata/video-state';
import { apiError, ApiError, conflict, gone, notFound } from '../shared/errors';
import { toHex } from '../shared/runtime';
import { readOriginal } from '../shared/original';
import { digestStream } from './byte-source';
import { startProcessing } from '../transcoding/start';
import type { Missing } from './session-types';
import type { SessionStub } from './part-writer';
import { ServerTiming } from './server-timing';

export interface Completed {
  size: number;
  sha256: string;
  /** False when this call found the upload already completed. */
  firstTime: boolean;
  /** Where the time went (`Server-Timing`): assemble, verify (read-back + SHA-256), process. */
  timing: ServerTiming;
}

export function missingError(m: Missing, what = 'upload'): ApiError {
  if (m.status === 'gone') {
    return gone(m.reason === 'expired' ? `this ${what} expired; start a new one` : `this ${what} has ended (${m.reason})`);
  }
  return notFound(`no ${what} in progress for this video`);
}

export async function completeUpload(
  env: Env,
  db: Db,
  videoId: string,
  stub: SessionStub,
  uploadId: string | null,
): Promise<Completed> {
  const timing = new ServerTiming();
  const begun = await stub.beginComplete(uploadId);
  timing.mark('session');
  switch (begun.status) {
    case 'not_found':
    case 'gone':
      throw missingError(begun);
    case 'missing_parts':
      throw conflict(`${begun.missing.length} chunk(s) are missing`, { missingChunks: begun.missing });
    case 'busy':
      throw conflict('a chunk or a completion of this upload is in progress; retry shortly');
    case 'completed':
      return { ...begun.result, firstTime: false, timing };
    case 'ready':
      break;
  }
  try {
    if (begun.fileSize === 0) {
      await env.MEDIA.resumeMultipartUpload(begun.objectKey, begun.r2UploadId).abort().catch(() => undefined);
      if (begun.kind === 'partial') await env.MEDIA.put(begun.objectKey, new Uint8Array(0));
      else await markUploadEmpty(env, db, videoId);
      await stub.finishComplete({ size: 0, sha256: EMPTY_SHA256 });
      timing.mark('process');
      return { size: 0, sha256: EMPTY_SHA256, firstTime: true, timing };
    }
    try {
      await env.MEDIA.resumeMultipartUpload(begun.objectKey, begun.r2UploadId).complete(
        begun.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      );
    } catch (err) {
      const head = await env.MEDIA.head(begun.objectKey);
      if (head?.customMetadata?.uploadId !== begun.uploadId) throw err;
    }
    timing.mark('assemble');
    if (begun.kind === 'partial') {
      const head = await env.MEDIA.head(begun.objectKey);
      if (head?.size !== begun.fileSize) {
        await env.MEDIA.delete(begun.objectKey);
        await stub.failComplete(begun.lease);
        throw apiError('verification_failed', `assembled size ${head?.size ?? 0} differs from the declared ${begun.fileSize}; start again`);
      }
      await stub.finishComplete({ size: begun.fileSize, sha256: '' });
      return { size: begun.fileSize, sha256: '', firstTime: true, timing };
    }
    // The read-back, through the one reader of originals (shared/original.ts).
    const read = await readOriginal(env.MEDIA, videoId);
    if (read.status !== 'ok') throw new Error(`assembled object ${begun.objectKey} is missing`);
    const digest = digestStream('SHA-256');
    await read.body.pipeTo(digest);
    const sha256 = toHex(await digest.digest);
    const size = read.head.size;
    timing.mark('verify');
    if (size !== begun.fileSize || (begun.sha256 !== null && begun.sha256 !== sha256)) {
      // The bytes are not what the client declared: drop them rather than transcode the wrong file.
      await env.MEDIA.delete(begun.objectKey);
      await stub.failComplete(begun.lease);
      throw apiError('verification_failed', size !== begun.fileSize
          ? `assembled size ${size} differs from the declared ${begun.fileSize}; the upload was discarded, start again`
          : `SHA-256 of the upload (${sha256}) differs from the declared one; the upload was discarded, start again`, { details: { size, sha256 } });
    }
    // Emits `upload.completed` when this call moved the video (see metadata/video-state.ts).
    await startProcessing(env, db, videoId, { sourceSize: size, sourceSha256: sha256 });
    await stub.finishComplete({ size, sha256 });
    timing.mark('process');
    return { size, sha256, firstTime: true, timing };
  } finally {
    await stub.release(begun.lease).catch(() => undefined);
  }
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

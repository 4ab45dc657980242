/**
 * Completion, shared by both protocols: assemble the R2 multipart upload into `originals/{id}/original`, read it
 * back once to verify its size and compute its SHA-256 (checked against the client's when it declared one, and
 * stored in D1 either way), then hand the video to transcoding with `startProcessing`.
 *
 * Idempotent at every step: the session hands out one completion lease; a retried completion after success is
 * answered from the session's recorded result, and `startProcessing` is a compare-and-set, so nothing is ever
 * enqueued twice. If a Worker dies after R2 assembled the object but before the session recorded it, the retry's
 * `complete` fails in R2 and the object's `uploadId` custom metadata proves it is this upload's, so it carries on.
 */
import type { Db } from '../shared/db';
import { ApiError, conflict, gone, notFound } from '../shared/errors';
import { toHex } from '../shared/runtime';
import { digestStream } from './byte-source';
import { startProcessing } from '../transcoding/start';
import { onUploadCompleted } from '../lifecycle';
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

export async function completeUpload(env: Env, db: Db, videoId: string, stub: SessionStub, uploadId: string | null): Promise<Completed> {
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
    try {
      await env.MEDIA.resumeMultipartUpload(begun.objectKey, begun.r2UploadId).complete(
        begun.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      );
    } catch (err) {
      const head = await env.MEDIA.head(begun.objectKey);
      if (head?.customMetadata?.uploadId !== begun.uploadId) throw err;
    }
    timing.mark('assemble');
    const object = await env.MEDIA.get(begun.objectKey);
    if (!object) throw new Error(`assembled object ${begun.objectKey} is missing`);
    const digest = digestStream('SHA-256');
    await object.body.pipeTo(digest);
    const sha256 = toHex(await digest.digest);
    const size = object.size;
    timing.mark('verify');
    if (size !== begun.fileSize || (begun.sha256 !== null && begun.sha256 !== sha256)) {
      // The bytes are not what the client declared: drop them rather than transcode the wrong file.
      await env.MEDIA.delete(begun.objectKey);
      await stub.failComplete(begun.lease);
      throw new ApiError(
        422,
        'verification_failed',
        size !== begun.fileSize
          ? `assembled size ${size} differs from the declared ${begun.fileSize}; the upload was discarded, start again`
          : `SHA-256 of the upload (${sha256}) differs from the declared one; the upload was discarded, start again`,
        { size, sha256 },
      );
    }
    if (await startProcessing(env, db, videoId, { sourceSize: size, sourceSha256: sha256 })) await onUploadCompleted(env, videoId);
    await stub.finishComplete(begun.lease, { size, sha256 });
    timing.mark('process');
    return { size, sha256, firstTime: true, timing };
  } finally {
    await stub.release(begun.lease).catch(() => undefined);
  }
}

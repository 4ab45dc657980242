/**
 * tus concatenation: `Upload-Concat: final;<partial> <partial> …` makes one video's original out of partial
 * uploads sent in parallel (tus-js-client `parallelUploads`).
 *
 * No copy: each partial is assembled into an object of its own, and the final upload makes the video's original
 * a composite of those objects, in order (a manifest; shared/original.ts reads it as one object, by byte range).
 * Completing a final upload therefore costs one read of the bytes (the SHA-256) and one small write, whatever
 * the size. If it is cut short, a HEAD on the final upload (or the retried final POST) completes it.
 *
 * Rules:
 * - Every partial must belong to the caller and serve this video: a partial is bound to a video by its own metadata
 *   `videoId` or by the first final upload that names it.
 * - concatenation-unfinished: a partial may still be uploading when the final upload is created, if its length is
 *   declared (the final's length is then known). The final upload waits (its HEAD shows no Upload-Offset) and
 *   completes when its last partial does (`completeWaitingFinal`, after that partial's PATCH), or on any HEAD.
 * - The final upload's video comes from its metadata (`videoId`, or a title to create one); with neither, the
 *   video the partials are bound to.
 * - Completing claims the partials: they end (410 afterwards) and their objects become the original's parts,
 *   deleted with the video. Unused partials expire after `sessionTtlMs` (24 h) like any upload; a final upload
 *   that ends unfinished deletes the partials it names.
 */
import type { Context } from 'hono';
import { apiError, badRequest, conflict, forbidden, gone } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { markUploadEmpty } from '../metadata/video-state';
import { deleteParts, partsBody, writeCompositeOriginal } from '../shared/original';
import { keys } from '../shared/storage-keys';
import { toHex } from '../shared/runtime';
import { startProcessing } from '../transcoding/start';
import { assertWithinQuota } from '../usage/quota';
import { digestStream } from './byte-source';
import { missingError } from './complete';
import { withLease } from './part-writer';
import { ServerTiming } from './server-timing';
import { checkUploadSize, uploadSizeLimit } from './size-limit';
import type { ConcatPart, SessionView } from './session-types';
import { contentTypeOfMetadata, parseUploadMetadata } from './tus-protocol';
import { uploadableVideo } from './tus-video';
import { newUploadId, parseUploadId, sessionStub } from './upload-ids';

export interface FinalUploadInput {
  partialIds: string[];
  metadata: Map<string, string>;
  metadataHeader: string | null;
  sha256: string | null;
  contentType: string | null;
  partSize: number;
  /** Resolves the video the final upload fills (metadata videoId or title); null: use the partials' video. */
  videoFromMetadata: () => Promise<{ id: string; creatorId: string } | null>;
}

/**
 * Checks the partials, binds them to the video, creates the final upload and completes it. Idempotent, as a
 * client retries a final POST whose answer it lost: partials already consumed by one final upload answer with
 * that upload, and partials bound to a video whose current upload is a final over them answer with that one.
 */
export async function createFinalUpload(c: Context<AppEnv>, input: FinalUploadInput): Promise<SessionView> {
  const looked = await Promise.all(input.partialIds.map((id) => finishedPartial(c, id)));
  const consumers = new Set(looked.map((l) => ('consumedBy' in l ? l.consumedBy : null)));
  if (!consumers.has(null)) {
    const finalId = [...consumers][0]!;
    const existing = consumers.size === 1 ? await ownedFinal(c, finalId) : null;
    if (existing && sameIds(existing, input.partialIds)) return existing;
  }
  const consumed = looked.findIndex((l) => 'consumedBy' in l);
  if (consumed >= 0) throw gone(`partial upload ${input.partialIds[consumed]} was already concatenated into another upload`);
  const partials = looked.map((l) => ('partial' in l ? l.partial : null)).filter((p): p is SessionView => p !== null);
  // The video's original is the sum of its partials, and is held to the same limit as any upload (size-limit.ts).
  const total = partials.reduce((sum, p) => sum + p.fileSize, 0);
  checkUploadSize(total, uploadSizeLimit(c), c.var.config, input.partSize, 'the concatenated upload');
  const bound = new Set(partials.map((p) => p.boundVideoId).filter((v): v is string => v !== null));
  if (bound.size > 1) throw conflict('the partial uploads belong to different videos');
  let video;
  const boundId = [...bound][0];
  if (boundId !== undefined) {
    const named = input.metadata.get('videoId');
    if (named !== undefined && named !== boundId) throw conflict(`the partial uploads belong to another video (${boundId})`);
    // A retried final POST whose first attempt is still completing (or has completed): answer with that upload.
    const current = await sessionStub(c.env, boundId).info(null);
    if (current.status === 'ok' && current.session.kind === 'final' && sameIds(current.session, input.partialIds)) {
      if (current.session.creatorId !== c.var.creatorId) throw forbidden('this upload belongs to another creator');
      return concatenate(c, current.session);
    }
    video = await uploadableVideo(c, boundId);
  } else {
    video = await input.videoFromMetadata();
  }
  if (!video) throw badRequest('Upload-Metadata of a final upload must carry videoId or title (or its partials a videoId)');
  const bindings = await Promise.all(partials.map((p) => sessionStub(c.env, ownerOf(p.uploadId)).bind(p.uploadId, video.id)));
  bindings.forEach((b, i) => {
    if (b.status === 'refused') throw conflict(`partial upload ${partials[i]!.uploadId} cannot be used: ${b.reason}`);
    if (b.status !== 'ok') throw missingError(b, `partial upload ${partials[i]!.uploadId}`);
  });
  const concat: ConcatPart[] = partials.map((p) => ({ uploadId: p.uploadId, objectKey: p.objectKey, size: p.fileSize }));
  const fileSize = concat.reduce((sum, p) => sum + p.size, 0);
  await assertWithinQuota(c.var.db, video.creatorId, { bytes: fileSize });
  const started = await sessionStub(c.env, video.id).start({
    uploadId: newUploadId(video.id),
    videoId: video.id,
    creatorId: video.creatorId,
    protocol: 'tus',
    kind: 'final',
    objectKey: keys.original(video.id),
    fileSize,
    partSize: input.partSize,
    sha256: input.sha256,
    metadata: input.metadataHeader,
    contentType: input.contentType,
    ttlMs: c.var.config.uploads.sessionTtlMs,
    concat,
  });
  if (started.status === 'failed') throw apiError('storage_unavailable', started.message);
  return concatenate(c, started.session);
}

/**
 * Completes a final upload without copying a byte: claims its partials (each partial's session ends as
 * `concatenated`, handing its object to the video and cancelling its expiry), checks their sizes, hashes the
 * concatenation once (the SHA-256 stored in D1 and checked against a declared one, as for any upload), records
 * the composite original (shared/original.ts) and hands the video to transcoding. Idempotent: a retry finds the
 * partials already claimed by this upload, or the upload completed. Returns the session as it is afterwards;
 * when another request is completing it, returns at once (that request finishes the job).
 */
export async function concatenate(c: Context<AppEnv>, session: SessionView): Promise<SessionView> {
  if (session.state === 'completed') return session;
  // A partial still uploading (concatenation-unfinished): wait for it. A partial that is gone fails the claim below.
  const partials = await Promise.all((session.concat ?? []).map((p) => sessionStub(c.env, ownerOf(p.uploadId)).info(p.uploadId)));
  if (partials.some((p) => p.status === 'ok' && p.session.state === 'uploading')) return session;
  const stub = sessionStub(c.env, session.videoId);
  const begun = await stub.beginComplete(session.uploadId);
  if (begun.status === 'not_found' || begun.status === 'gone') throw missingError(begun);
  if (begun.status !== 'ready') return current(c, session);
  const parts = session.concat ?? [];
  const media = c.env.MEDIA;
  const timing = new ServerTiming();
  try {
    await withLease(stub, begun.lease, c.var.config.uploads.writeLeaseMs, async () => {
      const claims = await Promise.all(parts.map((p) => sessionStub(c.env, ownerOf(p.uploadId)).terminate(p.uploadId, 'concatenated', session.uploadId)));
      const lost = claims.findIndex((r) => r.status !== 'ok' && r.status !== 'completed' && !(r.status === 'gone' && r.consumedBy === session.uploadId));
      const heads = lost < 0 ? await Promise.all(parts.map((p) => media.head(p.objectKey))) : [];
      const changed = heads.findIndex((h, i) => h?.size !== parts[i]!.size);
      timing.mark('claim');
      if (lost >= 0 || changed >= 0) {
        await stub.failComplete(begun.lease);
        throw gone(`partial upload ${parts[lost >= 0 ? lost : changed]!.uploadId} expired or was terminated before the final upload completed; upload the file again`);
      }
      const digest = digestStream('SHA-256');
      await partsBody(media, parts.map((p) => ({ key: p.objectKey, size: p.size })), 0).pipeTo(digest);
      const sha256 = toHex(await digest.digest);
      timing.mark('verify');
      if (begun.sha256 !== null && begun.sha256 !== sha256) {
        // Not the bytes the client declared: drop them (ending the final upload deletes its claimed partials).
        await stub.failComplete(begun.lease);
        throw apiError('verification_failed', `SHA-256 of the upload (${sha256}) differs from the declared one; the upload was discarded, start again`, { details: {
          size: session.fileSize,
          sha256,
        } });
      }
      const manifest = { version: 1 as const, uploadId: session.uploadId, size: session.fileSize, contentType: contentTypeOf(session), parts: parts.map((p) => ({ key: p.objectKey, size: p.size })) };
      if (session.fileSize === 0) {
        // Nothing to keep: an empty original can never be a video (see complete.ts).
        await deleteParts(media, manifest.parts);
        await markUploadEmpty(c.env, c.var.db, session.videoId);
      } else {
        await writeCompositeOriginal(media, session.videoId, manifest);
        await startProcessing(c.env, c.var.db, session.videoId, { sourceSize: session.fileSize, sourceSha256: sha256 });
      }
      await stub.finishComplete({ size: session.fileSize, sha256 });
      timing.mark('process');
    });
  } finally {
    c.header('Server-Timing', timing.header(), { append: true });
  }
  return current(c, session);
}

/** The content type the final upload declared (metadata `filetype`), echoed by the original's reads. */
function contentTypeOf(session: SessionView): string | null {
  return contentTypeOfMetadata(parseUploadMetadata(session.metadata ?? undefined));
}

async function current(c: Context<AppEnv>, session: SessionView): Promise<SessionView> {
  const info = await sessionStub(c.env, session.videoId).info(session.uploadId);
  if (info.status !== 'ok') throw missingError(info);
  return info.session;
}

/** The object that holds a partial upload (its id's owner part; `pt_…`). */
function ownerOf(uploadId: string): string {
  return parseUploadId(uploadId)!.videoId;
}

const sameIds = (final: SessionView, ids: string[]) =>
  final.concat !== null && final.concat.length === ids.length && final.concat.every((p, i) => p.uploadId === ids[i]);

/** A final upload of the caller (for a retried final POST). */
async function ownedFinal(c: Context<AppEnv>, uploadId: string): Promise<SessionView | null> {
  const parsed = parseUploadId(uploadId);
  if (!parsed) return null;
  const info = await sessionStub(c.env, parsed.videoId).info(uploadId);
  if (info.status !== 'ok') return null;
  if (info.session.creatorId !== c.var.creatorId) throw forbidden('this upload belongs to another creator');
  return info.session;
}

/** A partial upload of the caller (finished, or with its length declared), or the final upload that already consumed it. */
async function finishedPartial(c: Context<AppEnv>, uploadId: string): Promise<{ partial: SessionView } | { consumedBy: string }> {
  const parsed = parseUploadId(uploadId);
  if (!parsed) throw badRequest(`Upload-Concat names ${JSON.stringify(uploadId)}, which is not an upload of this server`);
  const info = await sessionStub(c.env, parsed.videoId).info(uploadId);
  if (info.status === 'gone' && info.reason === 'concatenated' && info.consumedBy) return { consumedBy: info.consumedBy };
  if (info.status !== 'ok') throw missingError(info, `partial upload ${uploadId}`);
  const partial = info.session;
  if (partial.creatorId !== c.var.creatorId) throw forbidden(`partial upload ${uploadId} belongs to another creator`);
  if (partial.kind !== 'partial') throw badRequest(`upload ${uploadId} is not a partial upload (create it with Upload-Concat: partial)`);
  if (partial.state !== 'completed' && partial.lengthDeferred) {
    throw badRequest(`partial upload ${uploadId} is unfinished and its length is not declared; declare Upload-Length (or finish it) before the final upload`);
  }
  return { partial };
}

/** A partial just received its last byte: the final upload waiting on it (if any) completes when it was the last. */
export async function completeWaitingFinal(c: Context<AppEnv>, partialId: string): Promise<void> {
  const info = await sessionStub(c.env, ownerOf(partialId)).info(partialId);
  if (info.status !== 'ok' || info.session.state !== 'completed' || !info.session.boundVideoId) return;
  const current = await sessionStub(c.env, info.session.boundVideoId).info(null);
  if (current.status !== 'ok' || current.session.kind !== 'final' || current.session.state !== 'uploading') return;
  if (!(current.session.concat ?? []).some((p) => p.uploadId === partialId)) return;
  await concatenate(c, current.session);
}

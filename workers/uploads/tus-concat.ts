/**
 * tus concatenation: `Upload-Concat: final;<partial> <partial> …` makes one video's original out of partial
 * uploads sent in parallel (tus-js-client `parallelUploads`).
 *
 * Why a copy: R2 multipart parts must all have one size (but the last), and a client cuts its file wherever it
 * likes (tus-js-client: into N equal slices), so the partials cannot be the original's parts. Each partial is
 * assembled into an object of its own; the final upload then streams them, in order, through the same part
 * writer as a PATCH into the original's multipart upload, so every part keeps R2's size rule. The copy commits
 * part by part: if it is cut short, a HEAD on the final upload resumes it from the committed offset.
 *
 * Rules:
 * - Every partial must be finished (no concatenation-unfinished), belong to the caller, and serve this video: a
 *   partial is bound to a video by its own metadata `videoId` or by the first final upload that names it.
 * - The final upload's video comes from its metadata (`videoId`, or a title to create one); with neither, the
 *   video the partials are bound to.
 * - Once the original is complete, the partials are ended (410 afterwards) and their objects deleted; unused
 *   partials expire after `sessionTtlMs` (24 h) like any upload.
 */
import type { Context } from 'hono';
import { ApiError, badRequest, conflict, forbidden, gone } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { keys } from '../shared/storage-keys';
import { toHex } from '../shared/runtime';
import { digestStream } from './byte-source';
import { missingError } from './complete';
import { concatenatedBody, PartialUnavailable, withLease, writeTusPatch } from './part-writer';
import type { ConcatPart, SessionView } from './session-types';
import { uploadableVideo } from './tus-video';
import { completeIfFull } from './tus-write';
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
 * Checks the partials, binds them to the video, creates the final upload and runs the copy. Idempotent, as a
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
  const bound = new Set(partials.map((p) => p.boundVideoId).filter((v): v is string => v !== null));
  if (bound.size > 1) throw conflict('the partial uploads belong to different videos');
  let video;
  const boundId = [...bound][0];
  if (boundId !== undefined) {
    const named = input.metadata.get('videoId');
    if (named !== undefined && named !== boundId) throw conflict(`the partial uploads belong to another video (${boundId})`);
    // A retried final POST whose first attempt is still copying (or has completed): answer with that upload.
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
  if (started.status === 'failed') throw new ApiError(503, 'storage_unavailable', started.message);
  return concatenate(c, started.session);
}

/**
 * Copies the partials of a final upload into the original from its committed offset, completes it (assemble,
 * verify, transcode) and ends the partials. Returns the session as it is afterwards. When another request is
 * already copying, returns at once: that request finishes the job.
 */
export async function concatenate(c: Context<AppEnv>, session: SessionView): Promise<SessionView> {
  const parts = session.concat ?? [];
  const stub = sessionStub(c.env, session.videoId);
  let streamedSha256: string | null = null;
  if (session.state === 'uploading' && session.offset < session.fileSize) {
    const begun = await stub.beginPatch(session.uploadId, session.offset);
    if (begun.status === 'not_found' || begun.status === 'gone') throw missingError(begun);
    if (begun.status === 'busy' || begun.status === 'offset_mismatch') return current(c, session);
    if (begun.status === 'ok') {
      // Hash while copying (from the start only), so completion need not read the original back.
      const digest = begun.offset === 0 ? digestStream('SHA-256') : null;
      const digestWriter = digest?.getWriter();
      let outcome;
      try {
        outcome = await withLease(stub, begun.lease, c.var.config.uploads.writeLeaseMs, () =>
          writeTusPatch(c.env, {
            target: begun,
            videoId: session.videoId,
            body: concatenatedBody(c.env, parts, begun.offset, digestWriter ? (chunk) => digestWriter.write(chunk) : undefined),
            length: session.fileSize - begun.offset,
            commit: (input) => stub.commit(session.uploadId, input),
          }),
        );
      } catch (err) {
        if (!(err instanceof PartialUnavailable)) throw err;
        await stub.terminate(session.uploadId, 'terminated');
        throw gone(`partial upload ${err.uploadId} expired or was terminated before it was copied; upload the file again`);
      }
      if (outcome.status === 'ended') throw missingError({ status: 'gone', reason: 'terminated' });
      if (outcome.status !== 'ok') throw new ApiError(503, 'concatenation_interrupted', 'copying the partial uploads was interrupted; HEAD the upload to resume');
      session = { ...session, offset: outcome.offset };
      if (digest && digestWriter) {
        await digestWriter.close();
        streamedSha256 = toHex(await digest.digest);
      }
    }
  }
  await completeIfFull(c, session, session.fileSize, streamedSha256);
  // The original is complete: the partials have served their purpose.
  await Promise.all(
    parts.map((p) =>
      sessionStub(c.env, ownerOf(p.uploadId))
        .terminate(p.uploadId, 'concatenated', session.uploadId)
        .catch((err: unknown) => console.warn(`ending partial ${p.uploadId} failed`, err)),
    ),
  );
  return current(c, session);
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

/** A finished partial upload of the caller, or the final upload that already consumed it. */
async function finishedPartial(c: Context<AppEnv>, uploadId: string): Promise<{ partial: SessionView } | { consumedBy: string }> {
  const parsed = parseUploadId(uploadId);
  if (!parsed) throw badRequest(`Upload-Concat names ${JSON.stringify(uploadId)}, which is not an upload of this server`);
  const info = await sessionStub(c.env, parsed.videoId).info(uploadId);
  if (info.status === 'gone' && info.reason === 'concatenated' && info.consumedBy) return { consumedBy: info.consumedBy };
  if (info.status !== 'ok') throw missingError(info, `partial upload ${uploadId}`);
  const partial = info.session;
  if (partial.creatorId !== c.var.creatorId) throw forbidden(`partial upload ${uploadId} belongs to another creator`);
  if (partial.kind !== 'partial') throw badRequest(`upload ${uploadId} is not a partial upload (create it with Upload-Concat: partial)`);
  if (partial.state !== 'completed') {
    throw badRequest(
      `partial upload ${uploadId} is not finished (${partial.offset} of ${partial.lengthDeferred ? 'an undeclared length' : partial.fileSize} bytes); finish it before the final upload`,
    );
  }
  return { partial };
}

/**
 * Upload ids name both the video (whose UploadSession object holds the upload) and the upload itself:
 * `{videoId}-{nonce}` with nonce `up_…`. Video ids never contain `-` (see `newId`), so the split is unambiguous,
 * and the id stays within the storage-key alphabet.
 */
import { newId } from '../shared/runtime';
import { isSafeId } from '../shared/storage-keys';

const UPLOAD_ID = /^([A-Za-z0-9_]{1,64})-(up_[0-9a-z]{16})$/;

export function newUploadId(videoId: string): string {
  return `${videoId}-${newId('up')}`;
}

export function parseUploadId(uploadId: string): { videoId: string; nonce: string } | null {
  const m = UPLOAD_ID.exec(uploadId);
  if (!m || !isSafeId(m[1]!)) return null;
  return { videoId: m[1]!, nonce: m[2]! };
}

/** The nonce part, used for the staging prefix. */
export function uploadNonce(uploadId: string): string {
  const parsed = parseUploadId(uploadId);
  if (!parsed) throw new Error(`malformed upload id ${uploadId}`);
  return parsed.nonce;
}

/** The video's UploadSession object (the binding's type names the class, so this module need not import it). */
export function sessionStub(env: Pick<Env, 'UPLOAD_SESSION'>, videoId: string) {
  return env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(videoId));
}

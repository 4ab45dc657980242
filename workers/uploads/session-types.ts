/**
 * What crosses the RPC boundary between the Worker and the `UploadSession` Durable Object. Every method returns a
 * result union on `status` (errors thrown across RPC surface badly); the Worker maps each to an HTTP answer.
 */

export type UploadProtocol = 'chunked' | 'tus';

/**
 * What a tus upload is for (the chunk API's are always `upload`):
 * - `upload`: the bytes of a video's original, in the video's own UploadSession object.
 * - `partial`: tus concatenation, `Upload-Concat: partial`. Its bytes become a temporary R2 object of their own,
 *   in an UploadSession object of its own (named by the partial's owner id `pt_…`, as partials are created before
 *   the client says which video they are for). It is bound to a video by its metadata `videoId` or by the first
 *   final upload that uses it, and can then only serve that video.
 * - `final`: `Upload-Concat: final;…`, in the video's UploadSession object: its partials' objects, in order,
 *   become the video's composite original (shared/original.ts; no copy, no multipart upload); clients never
 *   PATCH it.
 */
export type UploadKind = 'upload' | 'partial' | 'final';

/** One partial of a final upload, as recorded when the final upload was created. */
export interface ConcatPart {
  uploadId: string;
  objectKey: string;
  size: number;
}

/** Why a session no longer exists; kept as a tombstone so a late request gets 410 rather than 404. */
export type EndReason = 'expired' | 'terminated' | 'video_deleted' | 'verification_failed' | 'replaced' | 'purged' | 'concatenated';

export interface StartInput {
  uploadId: string;
  videoId: string;
  creatorId: string;
  protocol: UploadProtocol;
  /** Default `upload`. */
  kind?: UploadKind;
  /** Where the bytes are assembled: the video's original, or (partial) the partial's own object. */
  objectKey: string;
  /** With `lengthDeferred`, an upper bound (the largest file accepted) until the length is declared. */
  fileSize: number;
  /** tus creation-defer-length: the length is declared once by a later PATCH. */
  lengthDeferred?: boolean;
  partSize: number;
  sha256: string | null;
  /** tus `Upload-Metadata`, echoed on HEAD. */
  metadata: string | null;
  contentType: string | null;
  ttlMs: number;
  /** final: the partials, in order. */
  concat?: ConcatPart[];
  /** partial: the video it may serve (null until a final upload uses it). */
  boundVideoId?: string | null;
}

export interface SessionView {
  uploadId: string;
  videoId: string;
  creatorId: string;
  protocol: UploadProtocol;
  kind: UploadKind;
  state: 'uploading' | 'completed';
  objectKey: string;
  /** The upload's length; while `lengthDeferred`, the largest length still acceptable. */
  fileSize: number;
  lengthDeferred: boolean;
  concat: ConcatPart[] | null;
  boundVideoId: string | null;
  partSize: number;
  totalParts: number;
  sha256: string | null;
  metadata: string | null;
  createdAt: number;
  expiresAt: number;
  /** 0-based chunk indexes stored in R2. */
  storedParts: number[];
  /** Bytes durably stored: full parts plus (tus) the staged tail. For tus this is `Upload-Offset`. */
  offset: number;
  bytesStored: number;
  result: { size: number; sha256: string } | null;
}

/** `consumedBy`: a partial upload ended by concatenation names the final upload that consumed it. */
export type Missing = { status: 'not_found' } | { status: 'gone'; reason: EndReason; consumedBy?: string | null };

export type StartResult =
  | { status: 'created'; session: SessionView }
  | { status: 'existing'; session: SessionView }
  | { status: 'failed'; message: string };

export type InfoResult = { status: 'ok'; session: SessionView } | Missing;

/** Where a writer streams its bytes. */
export interface WriteTarget {
  lease: string;
  objectKey: string;
  r2UploadId: string;
  uploadNonce: string;
  partSize: number;
  fileSize: number;
}

export type BeginChunkResult =
  | ({ status: 'ok' } & WriteTarget)
  | { status: 'stored'; etag: string; size: number }
  | { status: 'busy' }
  | { status: 'wrong_protocol'; protocol: UploadProtocol }
  | { status: 'completed' }
  | Missing;

export type BeginPatchResult =
  | ({ status: 'ok'; offset: number; tail: StagedTail | null } & WriteTarget)
  | { status: 'offset_mismatch'; offset: number }
  /** A PATCH's Upload-Length differs from the length already set (it is immutable once set). */
  | { status: 'length_mismatch'; length: number }
  | { status: 'busy' }
  | { status: 'wrong_protocol'; protocol: UploadProtocol }
  | { status: 'completed' }
  | Missing;

export interface StoredPart {
  /** R2 part number: chunk index + 1. */
  partNumber: number;
  size: number;
  etag: string;
}

export interface StagedTail {
  key: string;
  size: number;
}

export interface CommitInput {
  lease: string;
  /** The offset (tus) this write started from: a commit only applies if the session has not moved since. */
  fromOffset?: number;
  parts: StoredPart[];
  /** tus: the staged tail after these parts (null: none). Ignored for chunked sessions. */
  tail?: StagedTail | null;
}

export type CommitResult =
  | { status: 'ok'; offset: number; storedParts: number; etags: Record<number, string> }
  | { status: 'conflict'; offset: number }
  | { status: 'completed' }
  | Missing;

export type BeginCompleteResult =
  | {
      status: 'ready';
      lease: string;
      uploadId: string;
      kind: UploadKind;
      objectKey: string;
      r2UploadId: string;
      parts: StoredPart[];
      fileSize: number;
      sha256: string | null;
    }
  | { status: 'missing_parts'; missing: number[] }
  | { status: 'busy' }
  | { status: 'completed'; result: { size: number; sha256: string } }
  | Missing;

export type SimpleResult = { status: 'ok' } | { status: 'lease_lost' } | Missing;

export type BindResult =
  | { status: 'ok'; session: SessionView }
  /** Already bound to another video (or not a partial upload). */
  | { status: 'refused'; reason: string }
  | Missing;

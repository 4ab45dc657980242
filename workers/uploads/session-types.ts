/**
 * What crosses the RPC boundary between the Worker and the `UploadSession` Durable Object. Every method returns a
 * result union on `status` (errors thrown across RPC surface badly); the Worker maps each to an HTTP answer.
 */

export type UploadProtocol = 'chunked' | 'tus';

/** Why a session no longer exists; kept as a tombstone so a late request gets 410 rather than 404. */
export type EndReason = 'expired' | 'terminated' | 'video_deleted' | 'verification_failed' | 'replaced' | 'purged';

export interface StartInput {
  uploadId: string;
  videoId: string;
  creatorId: string;
  protocol: UploadProtocol;
  fileSize: number;
  partSize: number;
  sha256: string | null;
  /** tus `Upload-Metadata`, echoed on HEAD. */
  metadata: string | null;
  contentType: string | null;
  ttlMs: number;
}

export interface SessionView {
  uploadId: string;
  videoId: string;
  creatorId: string;
  protocol: UploadProtocol;
  state: 'uploading' | 'completed';
  fileSize: number;
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

export type Missing = { status: 'not_found' } | { status: 'gone'; reason: EndReason };

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
  | { status: 'ready'; lease: string; uploadId: string; objectKey: string; r2UploadId: string; parts: StoredPart[]; fileSize: number; sha256: string | null }
  | { status: 'missing_parts'; missing: number[] }
  | { status: 'busy' }
  | { status: 'completed'; result: { size: number; sha256: string } }
  | Missing;

export type SimpleResult = { status: 'ok' } | { status: 'lease_lost' } | Missing;

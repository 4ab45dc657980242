/**
 * Session state: the `session` row (at most one: the current upload), its stored `parts` and the `ended`
 * tombstones. Reads answer "which session, and is it usable" (404 / 410) and build the view the Worker sees.
 */
import type { ConcatPart, EndReason, Missing, SessionView, StartInput, StoredPart, UploadKind } from '../session-types';
import { uploadNonce } from '../upload-ids';
import type { SessionHost } from './host';

export interface SessionRow extends Record<string, SqlStorageValue> {
  upload_id: string;
  video_id: string;
  creator_id: string;
  protocol: 'chunked' | 'tus';
  state: 'uploading' | 'completed';
  object_key: string;
  r2_upload_id: string;
  kind: UploadKind;
  length_deferred: number;
  /** final: JSON `ConcatPart[]`. */
  concat: string | null;
  bound_video_id: string | null;
  file_size: number;
  part_size: number;
  sha256: string | null;
  metadata: string | null;
  created_at: number;
  expires_at: number;
  tail_key: string | null;
  tail_size: number;
  result_size: number | null;
  result_sha256: string | null;
}

interface PartRow extends Record<string, SqlStorageValue> {
  part_number: number;
  size: number;
  etag: string;
}

/** How long a tombstone answers 410 for an ended upload id. */
const TOMBSTONE_KEEP_MS = 30 * 24 * 3600_000;

export function isMissing(found: SessionRow | Missing): found is Missing {
  return !('upload_id' in found);
}

export function expectedPartSize(row: SessionRow, partNumber: number): number {
  const start = (partNumber - 1) * row.part_size;
  return Math.max(0, Math.min(row.part_size, row.file_size - start));
}

export const totalParts = (row: SessionRow): number => Math.ceil(row.file_size / row.part_size);

export class SessionStore {
  constructor(private readonly host: SessionHost) {}

  row(): SessionRow | null {
    return this.host.sql.exec<SessionRow>('SELECT * FROM session LIMIT 1').toArray()[0] ?? null;
  }

  /** The current session if it matches `uploadId` (null: any) and is usable; otherwise why not (404 / 410). */
  lookup(uploadId: string | null): SessionRow | Missing {
    const { sql } = this.host;
    const row = this.row();
    if (row && (uploadId === null || row.upload_id === uploadId)) {
      if (row.state === 'uploading' && this.host.now() >= row.expires_at) return { status: 'gone', reason: 'expired' };
      return row;
    }
    if (uploadId !== null) {
      const ended = sql
        .exec<{ reason: string; consumed_by: string | null }>('SELECT reason, consumed_by FROM ended WHERE upload_id = ?', uploadId)
        .toArray()[0];
      if (ended) return { status: 'gone', reason: ended.reason as EndReason, consumedBy: ended.consumed_by };
    } else {
      const last = sql.exec<{ reason: string }>('SELECT reason FROM ended ORDER BY ended_at DESC LIMIT 1').toArray()[0];
      if (last && last.reason === 'expired') return { status: 'gone', reason: 'expired' };
    }
    return { status: 'not_found' };
  }

  insert(input: StartInput, r2UploadId: string, now: number, expiresAt: number): void {
    this.host.sql.exec(
      `INSERT INTO session (upload_id, video_id, creator_id, protocol, state, object_key, r2_upload_id, file_size,
         part_size, sha256, metadata, created_at, expires_at, kind, length_deferred, concat, bound_video_id)
         VALUES (?, ?, ?, ?, 'uploading', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.uploadId, input.videoId, input.creatorId, input.protocol, input.objectKey, r2UploadId, input.fileSize,
      input.partSize, input.sha256, input.metadata, now, expiresAt, input.kind ?? 'upload', input.lengthDeferred ? 1 : 0,
      input.concat ? JSON.stringify(input.concat) : null, input.boundVideoId ?? null,
    );
  }

  update(uploadId: string, set: string, ...values: SqlStorageValue[]): void {
    this.host.sql.exec(`UPDATE session SET ${set} WHERE upload_id = ?`, ...values, uploadId);
  }

  storedPart(partNumber: number): StoredPart | null {
    const r = this.host.sql.exec<PartRow>('SELECT * FROM parts WHERE part_number = ?', partNumber).toArray()[0];
    return r ? { partNumber: r.part_number, size: r.size, etag: r.etag } : null;
  }

  parts(): StoredPart[] {
    return this.host.sql
      .exec<PartRow>('SELECT * FROM parts ORDER BY part_number')
      .toArray()
      .map((r) => ({ partNumber: r.part_number, size: r.size, etag: r.etag }));
  }

  partCount(): number {
    return this.host.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM parts').one().n;
  }

  putPart(p: StoredPart): void {
    this.host.sql.exec('INSERT OR REPLACE INTO parts (part_number, size, etag) VALUES (?, ?, ?)', p.partNumber, p.size, p.etag);
  }

  clearParts(): void {
    this.host.sql.exec('DELETE FROM parts');
  }

  /** Drops the session and its parts and leaves a tombstone (inside the caller's transaction). */
  tombstone(uploadId: string, reason: EndReason, consumedBy: string | null, now: number): void {
    const { sql } = this.host;
    sql.exec('DELETE FROM parts');
    sql.exec('DELETE FROM session');
    sql.exec('INSERT OR REPLACE INTO ended (upload_id, reason, ended_at, consumed_by) VALUES (?, ?, ?, ?)', uploadId, reason, now, consumedBy);
    sql.exec('DELETE FROM ended WHERE ended_at < ?', now - TOMBSTONE_KEEP_MS);
  }

  /** tus offset: full parts are contiguous from the start, then the staged tail. */
  offsetOf(row: SessionRow): number {
    if (row.state === 'completed') return row.file_size;
    const stored = this.host.sql.exec<{ n: number | null }>('SELECT SUM(size) AS n FROM parts').one().n ?? 0;
    return stored + (row.protocol === 'tus' ? row.tail_size : 0);
  }

  view(row: SessionRow): SessionView {
    const completed = row.state === 'completed';
    const total = totalParts(row);
    const storedParts = completed ? Array.from({ length: total }, (_, i) => i) : this.parts().map((p) => p.partNumber - 1);
    const offset = this.offsetOf(row);
    return {
      uploadId: row.upload_id,
      videoId: row.video_id,
      creatorId: row.creator_id,
      protocol: row.protocol,
      kind: row.kind,
      state: row.state,
      objectKey: row.object_key,
      fileSize: row.file_size,
      lengthDeferred: row.length_deferred === 1,
      concat: row.concat ? (JSON.parse(row.concat) as ConcatPart[]) : null,
      boundVideoId: row.bound_video_id,
      partSize: row.part_size,
      totalParts: total,
      sha256: row.sha256,
      metadata: row.metadata,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      storedParts,
      offset,
      bytesStored: offset,
      result: completed ? { size: row.result_size ?? row.file_size, sha256: row.result_sha256 ?? '' } : null,
    };
  }

  /** Where a writer puts its bytes (with its lease). */
  target(row: SessionRow, lease: string) {
    return {
      lease,
      objectKey: row.object_key,
      r2UploadId: row.r2_upload_id,
      uploadNonce: uploadNonce(row.upload_id),
      partSize: row.part_size,
      fileSize: row.file_size,
    };
  }
}

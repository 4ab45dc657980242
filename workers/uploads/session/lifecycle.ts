/**
 * Starting and ending a session, and its expiry.
 *
 * Business rules:
 * - One upload at a time per object: starting a different one abandons the current (its parts are aborted); the
 *   chunk API's initiate of the same file again resumes the upload in progress.
 * - Expiry: a session lives `sessionTtlMs` (24 h) from creation. Its alarm then aborts the R2 multipart upload,
 *   deletes every staged object under its prefix and drops the session, leaving a tombstone (late requests get 410).
 *   A completed session is kept until the same deadline so a retried completion or HEAD is answered from it, then
 *   purged the same way. Nothing in R2 is left behind by an abandoned upload.
 */
import { keys } from '../../shared/storage-keys';
import { deleteParts, deletePrefix } from '../../shared/original';
import type { ConcatPart, EndReason, SimpleResult, StartInput, StartResult } from '../session-types';
import { uploadNonce } from '../upload-ids';
import type { SessionHost } from './host';
import type { Leases } from './leases';
import { isMissing, type SessionRow, type SessionStore } from './store';

export class Lifecycle {
  constructor(
    private readonly host: SessionHost,
    private readonly store: SessionStore,
    private readonly leases: Leases,
  ) {}

  async start(input: StartInput): Promise<StartResult> {
    const now = this.host.now();
    const current = this.store.row();
    if (current) {
      const live = current.state === 'uploading' && now < current.expires_at;
      if (
        live &&
        input.protocol === 'chunked' &&
        current.protocol === 'chunked' &&
        current.file_size === input.fileSize &&
        current.part_size === input.partSize &&
        current.sha256 === input.sha256
      ) {
        return { status: 'existing', session: this.store.view(current) };
      }
      await this.end(current, live ? 'replaced' : current.state === 'completed' ? 'purged' : 'expired');
    }
    // A final upload (tus concatenation) writes no bytes: its original is a composite of its partials' objects.
    let r2UploadId = '';
    if (input.kind !== 'final') {
      try {
        const multipart = await this.host.media.createMultipartUpload(input.objectKey, {
          customMetadata: { uploadId: input.uploadId },
          httpMetadata: input.contentType ? { contentType: input.contentType } : undefined,
        });
        r2UploadId = multipart.uploadId;
      } catch (err) {
        console.error('createMultipartUpload failed', err);
        return { status: 'failed', message: 'storage is unavailable, retry later' };
      }
    }
    const expiresAt = now + input.ttlMs;
    this.store.insert(input, r2UploadId, now, expiresAt);
    await this.host.setAlarm(expiresAt);
    return { status: 'created', session: this.store.view(this.store.row()!) };
  }

  /** tus termination, `DELETE /v1/videos/:id/upload`, and the video-deleted hook (uploadId null: whatever is current). */
  async terminate(
    uploadId: string | null,
    reason: 'terminated' | 'video_deleted' | 'concatenated',
    consumedBy: string | null,
    evenIfCompleted = false,
  ): Promise<SimpleResult | { status: 'completed' }> {
    const found = this.store.lookup(uploadId);
    if (isMissing(found)) return found;
    // The chunk API's termination of a completed upload would wipe the record a retried `complete` answers from
    // (its documented idempotent 200), so it is refused there. tus 1.0.0 terminates a finished upload too
    // (`evenIfCompleted`): the upload resource ends (HEAD answers 410 afterwards) while the bytes, which belong to
    // the video now, stay: ending a completed session aborts nothing and deletes only staging objects.
    if (reason === 'terminated' && found.state === 'completed' && !evenIfCompleted) return { status: 'completed' };
    await this.end(found, reason, consumedBy);
    return { status: 'ok' };
  }

  /** The alarm: ends the session at its deadline (an early alarm is moved to the deadline). */
  async onAlarm(): Promise<void> {
    const row = this.store.row();
    if (!row) return;
    if (this.host.now() < row.expires_at) {
      await this.host.setAlarm(row.expires_at);
      return;
    }
    await this.end(row, row.state === 'completed' ? 'purged' : 'expired');
  }

  /**
   * Ends the session: aborts the multipart upload (unless completed), deletes staged bytes, leaves a tombstone.
   * Concatenation changes what the staged bytes are:
   * - a partial ended as `concatenated` was claimed by a final upload: its data object is now a part of that
   *   video's composite original (shared/original.ts), so it stays, and with the tombstone its expiry is gone;
   * - a final upload that ends unfinished (expired, terminated, replaced, failed verification) takes the
   *   partials' objects it may have claimed with it; a completed one leaves them to its original.
   */
  async end(row: SessionRow, reason: EndReason, consumedBy: string | null = null): Promise<void> {
    if (row.kind === 'final' && row.state === 'uploading' && row.concat) {
      await deleteParts(this.host.media, (JSON.parse(row.concat) as ConcatPart[]).map((p) => ({ key: p.objectKey, size: p.size })));
    }
    // (A final upload has no multipart upload: its r2_upload_id is empty.)
    if (row.state === 'uploading' && row.r2_upload_id !== '') {
      try {
        await this.host.media.resumeMultipartUpload(row.object_key, row.r2_upload_id).abort();
      } catch (err) {
        // Already aborted or completed (a crash between R2 and this bookkeeping): nothing is left to abort.
        console.warn(`abort of ${row.upload_id} failed`, err);
      }
    }
    if (!(row.kind === 'partial' && reason === 'concatenated')) {
      await this.deleteStaged(keys.uploadStagingPrefix(row.video_id, uploadNonce(row.upload_id)));
    }
    const now = this.host.now();
    this.host.transaction(() => this.store.tombstone(row.upload_id, reason, consumedBy, now));
    this.leases.clear();
    await this.host.deleteAlarm();
  }

  /** Deletes every object under `prefix` (a session's staging area, or only its staged tails). */
  async deleteStaged(prefix: string): Promise<void> {
    await deletePrefix(this.host.media, prefix);
  }
}

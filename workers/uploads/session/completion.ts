/**
 * Completion: the Worker asks for the parts (`begin`, which takes the whole-session lease once every part is stored
 * and no writer is live), has R2 assemble and verifies the object, then records the result (`finish`) or ends the
 * upload (`fail`: the parts are consumed by the assembly, so the client must restart). A completed session answers
 * a retried completion from its stored result.
 */
import { keys } from '../../shared/storage-keys';
import type { BeginCompleteResult, SimpleResult } from '../session-types';
import { uploadNonce } from '../upload-ids';
import type { SessionHost } from './host';
import type { Leases } from './leases';
import type { Lifecycle } from './lifecycle';
import { isMissing, totalParts, type SessionStore } from './store';

export class Completion {
  constructor(
    private readonly host: SessionHost,
    private readonly store: SessionStore,
    private readonly leases: Leases,
    private readonly lifecycle: Lifecycle,
  ) {}

  begin(uploadId: string | null): BeginCompleteResult {
    const found = this.store.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.state === 'completed') {
      return { status: 'completed', result: { size: found.result_size ?? found.file_size, sha256: found.result_sha256 ?? '' } };
    }
    const parts = this.store.parts();
    const have = new Set(parts.map((p) => p.partNumber));
    const missing: number[] = [];
    // A final upload has no parts of its own: its bytes are its partials' (a composite original).
    if (found.kind !== 'final') for (let n = 1; n <= totalParts(found); n++) if (!have.has(n)) missing.push(n - 1);
    if (missing.length) return { status: 'missing_parts', missing };
    if (this.leases.anyLive()) return { status: 'busy' };
    const lease = this.leases.acquire('complete')!;
    return {
      status: 'ready',
      lease,
      uploadId: found.upload_id,
      kind: found.kind,
      objectKey: found.object_key,
      r2UploadId: found.r2_upload_id,
      parts,
      fileSize: found.file_size,
      sha256: found.sha256,
    };
  }

  async finish(result: { size: number; sha256: string }): Promise<SimpleResult> {
    const found = this.store.lookup(null);
    if (isMissing(found)) return found;
    if (found.state === 'completed') return { status: 'ok' };
    // No lease check: R2 has already assembled the object, so recording that is right even if this object
    // restarted (and forgot the lease) while the Worker was verifying.
    this.host.transaction(() => {
      this.store.update(
        found.upload_id,
        `state = 'completed', result_size = ?, result_sha256 = ?, tail_key = NULL, tail_size = 0`,
        result.size,
        result.sha256,
      );
      this.store.clearParts();
    });
    this.leases.drop('complete');
    // Staged tails only: a completed partial's assembled object stays (under the same prefix) until it is
    // concatenated or expires.
    await this.lifecycle.deleteStaged(keys.uploadStagedTailPrefix(found.video_id, uploadNonce(found.upload_id)));
    return { status: 'ok' };
  }

  /** The assembled object failed verification: the parts are consumed, so the upload ends and must restart. */
  async fail(lease: string): Promise<SimpleResult> {
    const found = this.store.lookup(null);
    if (isMissing(found)) return found;
    if (!this.leases.owns('complete', lease)) return { status: 'lease_lost' };
    await this.lifecycle.end(found, 'verification_failed');
    return { status: 'ok' };
  }
}

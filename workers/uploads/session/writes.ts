/**
 * Writing bytes: the Worker streams them to R2 and reports each stored part here. A write starts with `begin…`
 * (checks and a lease) and ends with `commit`, which changes durable state only when it extends the state the write
 * started from.
 *
 * Business rules:
 * - Idempotency (chunk API): a chunk that is already stored is not written again; its first ETag is kept.
 * - tus is sequential: a PATCH must start at the current offset, and its commit must extend exactly that offset.
 * - Deferred length (tus creation-defer-length): until declared, `file_size` holds the largest length accepted, so
 *   every part is a full part; the first PATCH that declares it sets it, once.
 * - tus concatenation: a partial upload is bound to one video, at most (`bind`); only its own creator may use it
 *   (checked by the caller, which knows who asks).
 */
import type { BeginChunkResult, BeginPatchResult, BindResult, CommitInput, CommitResult, SimpleResult } from '../session-types';
import type { SessionHost } from './host';
import type { Leases } from './leases';
import { expectedPartSize, isMissing, totalParts, type SessionStore } from './store';

export class Writes {
  constructor(
    private readonly host: SessionHost,
    private readonly store: SessionStore,
    private readonly leases: Leases,
  ) {}

  beginChunk(index: number): BeginChunkResult {
    const found = this.store.lookup(null);
    if (isMissing(found)) return found;
    if (found.protocol !== 'chunked') return { status: 'wrong_protocol', protocol: found.protocol };
    if (found.state === 'completed') return { status: 'completed' };
    const stored = this.store.storedPart(index + 1);
    if (stored) return { status: 'stored', etag: stored.etag, size: stored.size };
    if (this.leases.isHeld('complete')) return { status: 'busy' };
    const lease = this.leases.acquire(`chunk:${index}`);
    if (!lease) return { status: 'busy' };
    return { status: 'ok', ...this.store.target(found, lease) };
  }

  /** A tus write at `offset`; `declaredLength` (the PATCH's Upload-Length) sets a deferred length, once. */
  beginPatch(uploadId: string, offset: number, declaredLength: number | null): BeginPatchResult {
    let found = this.store.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.protocol !== 'tus') return { status: 'wrong_protocol', protocol: found.protocol };
    if (found.state === 'completed') return { status: 'completed' };
    if (this.leases.isHeld('complete')) return { status: 'busy' };
    const current = this.store.offsetOf(found);
    if (offset !== current) return { status: 'offset_mismatch', offset: current };
    if (declaredLength !== null) {
      if (!found.length_deferred && declaredLength !== found.file_size) return { status: 'length_mismatch', length: found.file_size };
      if (found.length_deferred && (declaredLength < current || declaredLength > found.file_size)) {
        return { status: 'length_mismatch', length: found.file_size };
      }
    }
    const lease = this.leases.acquire('patch');
    if (!lease) return { status: 'busy' };
    if (declaredLength !== null && found.length_deferred) {
      this.store.update(found.upload_id, 'file_size = ?, length_deferred = 0', declaredLength);
      found = this.store.row()!;
    }
    const tail = found.tail_key ? { key: found.tail_key, size: found.tail_size } : null;
    return { status: 'ok', offset: current, tail, ...this.store.target(found, lease) };
  }

  /** Binds a partial upload to the video of a final upload (or checks it is already bound to it). */
  bind(uploadId: string, videoId: string): BindResult {
    const found = this.store.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.kind !== 'partial') return { status: 'refused', reason: 'not a partial upload (Upload-Concat: partial)' };
    if (found.bound_video_id !== null && found.bound_video_id !== videoId) return { status: 'refused', reason: 'it belongs to another video' };
    if (found.bound_video_id === null) this.store.update(found.upload_id, 'bound_video_id = ?', videoId);
    return { status: 'ok', session: this.store.view(this.store.row()!) };
  }

  renewLease(lease: string): SimpleResult {
    return this.leases.renew(lease) ? { status: 'ok' } : { status: 'lease_lost' };
  }

  async commit(uploadId: string | null, input: CommitInput): Promise<CommitResult> {
    const found = this.store.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.state === 'completed') return { status: 'completed' };
    const total = totalParts(found);
    for (const part of input.parts) {
      if (part.partNumber < 1 || part.partNumber > total || part.size !== expectedPartSize(found, part.partNumber)) {
        throw new Error(`commit of an invalid part ${part.partNumber} (${part.size} bytes) for ${found.upload_id}`);
      }
    }
    let staleTail: string | null = null;
    if (found.protocol === 'tus') {
      // tus is sequential: the commit must extend exactly the state its PATCH started from.
      const offset = this.store.offsetOf(found);
      if (input.fromOffset !== offset) return { status: 'conflict', offset };
      const storedCount = this.store.partCount();
      const contiguous = input.parts.every((p, i) => p.partNumber === storedCount + 1 + i);
      const tail = input.tail ?? null;
      if (!contiguous || (tail && tail.size >= found.part_size)) throw new Error(`non-contiguous tus commit for ${found.upload_id}`);
      this.host.transaction(() => {
        for (const p of input.parts) this.store.putPart(p);
        this.store.update(found.upload_id, 'tail_key = ?, tail_size = ?', tail?.key ?? null, tail?.size ?? 0);
      });
      if (found.tail_key && found.tail_key !== tail?.key) staleTail = found.tail_key;
    } else {
      // Chunk API: parts are independent. Normally the lease makes a part single-writer; if two writers of one
      // part still commit (a lease lost to an object restart), the later commit wins, as the later uploadPart did.
      this.host.transaction(() => {
        for (const p of input.parts) this.store.putPart(p);
      });
    }
    if (staleTail) await this.host.media.delete(staleTail).catch((err) => console.warn('deleting a staged tail failed', err));
    const etags: Record<number, string> = {};
    for (const p of input.parts) etags[p.partNumber] = p.etag;
    return { status: 'ok', offset: this.store.offsetOf(this.store.row()!), storedParts: this.store.partCount(), etags };
  }
}

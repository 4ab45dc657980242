/**
 * `UploadSession`: the Durable Object (SQLite-backed) that owns the upload of one video.
 *
 * One instance per video (named by the video id) holds at most one upload at a time; each upload has its own id
 * (`{videoId}-up_…`), so a stale tus URL of an ended upload is recognised (410) and never aliases a newer one.
 * The object owns the R2 multipart upload id, the stored parts and their ETags, the tus offset and staged tail,
 * and the expiry. Bytes never pass through it: the Worker streams them to R2 and reports each stored part here.
 *
 * Business rules that live here:
 * - Expiry: a session lives `sessionTtlMs` (24 h) from creation. Its alarm then aborts the R2 multipart upload,
 *   deletes every staged object under its prefix and drops the session, leaving a tombstone (so late requests
 *   get 410). A completed session is kept until the same deadline so a retried completion or HEAD is answered
 *   from it, then purged the same way. Nothing in R2 is left behind by an abandoned upload.
 * - Serialisation: writers take a lease first (per chunk for the chunk API, per upload for tus PATCH, the whole
 *   session for completion). A second writer for the same slot gets `busy` (HTTP 409). Leases live in memory and
 *   expire after `writeLeaseMs` unless the streaming Worker renews them, so a crashed Worker blocks no one for
 *   long, and a restarted object (wrangler dev restart) starts with none: the requests that held them died too.
 *   Durable state (parts, offset, tail) is only changed by a commit, and a commit is checked against that state
 *   (tus: the offset it started from), not the lease, so even a writer whose lease lapsed cannot corrupt it.
 * - Idempotency: a chunk that is already stored is not written again; its first ETag is kept.
 * - tus concatenation: a partial upload lives in an object of its own (see `UploadKind`); it is bound to one
 *   video, at most, and expires like any upload, its assembled bytes with it. A final upload records its partials
 *   (key and size) when it is created, so copying them needs no other object.
 * - Deferred length (tus creation-defer-length): until declared, `file_size` holds the largest length accepted,
 *   so every part is a full part; the first PATCH that declares it sets it, once.
 *
 * Schema: the `session` table gained columns after it first shipped; `migrate()` adds missing ones to objects
 * created by older code, and `meta.schema_version` records how far an object has been migrated.
 */
import { DurableObject } from 'cloudflare:workers';
import { loadConfig } from '../shared/config';
import { newId, runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import type {
  BindResult,
  ConcatPart,
  UploadKind,
  BeginChunkResult,
  BeginCompleteResult,
  BeginPatchResult,
  CommitInput,
  CommitResult,
  EndReason,
  InfoResult,
  Missing,
  SessionView,
  SimpleResult,
  StagedTail,
  StartInput,
  StartResult,
  StoredPart,
} from './session-types';
import { uploadNonce } from './upload-ids';

interface SessionRow extends Record<string, SqlStorageValue> {
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

interface Lease {
  token: string;
  until: number;
}

const TOMBSTONE_KEEP_MS = 30 * 24 * 3600_000;
const SCHEMA_VERSION = 3;
/** Columns added by schema version 2 (tus concatenation and deferred length). */
const V2_COLUMNS: Array<[string, string]> = [
  ['kind', "TEXT NOT NULL DEFAULT 'upload'"],
  ['length_deferred', 'INTEGER NOT NULL DEFAULT 0'],
  ['concat', 'TEXT'],
  ['bound_video_id', 'TEXT'],
];

export class UploadSession extends DurableObject<Env> {
  private readonly leases = new Map<string, Lease>();
  private readonly leaseMs: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.leaseMs = loadConfig(env as unknown as Record<string, unknown>).uploads.writeLeaseMs;
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS session (
      upload_id TEXT PRIMARY KEY, video_id TEXT NOT NULL, creator_id TEXT NOT NULL, protocol TEXT NOT NULL,
      state TEXT NOT NULL, object_key TEXT NOT NULL, r2_upload_id TEXT NOT NULL, file_size INTEGER NOT NULL,
      part_size INTEGER NOT NULL, sha256 TEXT, metadata TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      tail_key TEXT, tail_size INTEGER NOT NULL DEFAULT 0, result_size INTEGER, result_sha256 TEXT)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS parts (
      part_number INTEGER PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS ended (
      upload_id TEXT PRIMARY KEY, reason TEXT NOT NULL, ended_at INTEGER NOT NULL)`);
    this.migrate();
  }

  private migrate(): void {
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    const version = sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]?.value ?? 1;
    if (version >= SCHEMA_VERSION) return;
    const have = new Set(sql.exec<{ name: string }>('PRAGMA table_info(session)').toArray().map((c) => c.name));
    for (const [name, type] of V2_COLUMNS) if (!have.has(name)) sql.exec(`ALTER TABLE session ADD COLUMN ${name} ${type}`);
    // Version 3: a tombstone of a concatenated partial names the final upload that consumed it.
    const endedHave = new Set(sql.exec<{ name: string }>('PRAGMA table_info(ended)').toArray().map((c) => c.name));
    if (!endedHave.has('consumed_by')) sql.exec('ALTER TABLE ended ADD COLUMN consumed_by TEXT');
    sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", SCHEMA_VERSION);
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  async info(uploadId: string | null): Promise<InfoResult> {
    const found = this.lookup(uploadId);
    if (isMissing(found)) return found;
    return { status: 'ok', session: this.view(found) };
  }

  // ---- creation and termination -----------------------------------------------------------------------------

  async start(input: StartInput): Promise<StartResult> {
    const now = runtime().now();
    const current = this.row();
    if (current) {
      const live = current.state === 'uploading' && now < current.expires_at;
      // The chunk API's initiate is idempotent: the same file again resumes the upload in progress.
      if (
        live &&
        input.protocol === 'chunked' &&
        current.protocol === 'chunked' &&
        current.file_size === input.fileSize &&
        current.part_size === input.partSize &&
        current.sha256 === input.sha256
      ) {
        return { status: 'existing', session: this.view(current) };
      }
      // A video has one upload at a time: starting a different one abandons the old (its parts are aborted).
      await this.end(current, live ? 'replaced' : current.state === 'completed' ? 'purged' : 'expired');
    }
    let r2UploadId: string;
    const objectKey = input.objectKey;
    try {
      const multipart = await this.env.MEDIA.createMultipartUpload(objectKey, {
        customMetadata: { uploadId: input.uploadId },
        httpMetadata: input.contentType ? { contentType: input.contentType } : undefined,
      });
      r2UploadId = multipart.uploadId;
    } catch (err) {
      console.error('createMultipartUpload failed', err);
      return { status: 'failed', message: 'storage is unavailable, retry later' };
    }
    const expiresAt = now + input.ttlMs;
    this.ctx.storage.sql.exec(
      `INSERT INTO session (upload_id, video_id, creator_id, protocol, state, object_key, r2_upload_id, file_size,
         part_size, sha256, metadata, created_at, expires_at, kind, length_deferred, concat, bound_video_id)
         VALUES (?, ?, ?, ?, 'uploading', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      input.uploadId, input.videoId, input.creatorId, input.protocol, objectKey, r2UploadId, input.fileSize,
      input.partSize, input.sha256, input.metadata, now, expiresAt, input.kind ?? 'upload', input.lengthDeferred ? 1 : 0,
      input.concat ? JSON.stringify(input.concat) : null, input.boundVideoId ?? null,
    );
    await this.ctx.storage.setAlarm(expiresAt);
    return { status: 'created', session: this.view(this.row()!) };
  }

  /** tus termination, `DELETE /v1/videos/:id/upload`, and the video-deleted hook (uploadId null: whatever is current). */
  async terminate(
    uploadId: string | null,
    reason: 'terminated' | 'video_deleted' | 'concatenated',
    consumedBy: string | null = null,
  ): Promise<SimpleResult | { status: 'completed' }> {
    const found = this.lookup(uploadId);
    if (isMissing(found)) return found;
    // A client's termination of a completed upload would wipe the record a retried `complete` answers from (its
    // documented idempotent 200): the upload is over, the bytes belong to the video now. Only deleting the video
    // (reason `video_deleted`) or consuming a finished partial (`concatenated`) ends a completed session.
    if (reason === 'terminated' && found.state === 'completed') return { status: 'completed' };
    await this.end(found, reason, consumedBy);
    return { status: 'ok' };
  }

  override async alarm(): Promise<void> {
    const row = this.row();
    if (!row) return;
    if (runtime().now() < row.expires_at) {
      await this.ctx.storage.setAlarm(row.expires_at);
      return;
    }
    await this.end(row, row.state === 'completed' ? 'purged' : 'expired');
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  async beginChunk(index: number): Promise<BeginChunkResult> {
    const found = this.lookup(null);
    if (isMissing(found)) return found;
    if (found.protocol !== 'chunked') return { status: 'wrong_protocol', protocol: found.protocol };
    if (found.state === 'completed') return { status: 'completed' };
    const stored = this.ctx.storage.sql.exec<PartRow>('SELECT * FROM parts WHERE part_number = ?', index + 1).toArray()[0];
    if (stored) return { status: 'stored', etag: stored.etag, size: stored.size };
    if (this.held('complete')) return { status: 'busy' };
    const lease = this.acquire(`chunk:${index}`);
    if (!lease) return { status: 'busy' };
    return { status: 'ok', ...this.target(found, lease) };
  }

  /**
   * A tus write at `offset` (a PATCH, or the copy of a final upload's partials). `declaredLength`: the PATCH's
   * Upload-Length, which sets a deferred length (once) and must otherwise equal the length already set.
   */
  async beginPatch(uploadId: string, offset: number, declaredLength: number | null = null): Promise<BeginPatchResult> {
    let found = this.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.protocol !== 'tus') return { status: 'wrong_protocol', protocol: found.protocol };
    if (found.state === 'completed') return { status: 'completed' };
    if (this.held('complete')) return { status: 'busy' };
    const current = this.offsetOf(found);
    if (offset !== current) return { status: 'offset_mismatch', offset: current };
    if (declaredLength !== null) {
      if (!found.length_deferred && declaredLength !== found.file_size) return { status: 'length_mismatch', length: found.file_size };
      if (found.length_deferred && (declaredLength < current || declaredLength > found.file_size)) {
        return { status: 'length_mismatch', length: found.file_size };
      }
    }
    const lease = this.acquire('patch');
    if (!lease) return { status: 'busy' };
    if (declaredLength !== null && found.length_deferred) {
      this.ctx.storage.sql.exec('UPDATE session SET file_size = ?, length_deferred = 0 WHERE upload_id = ?', declaredLength, found.upload_id);
      found = this.row()!;
    }
    const tail = found.tail_key ? { key: found.tail_key, size: found.tail_size } : null;
    return { status: 'ok', offset: current, tail, ...this.target(found, lease) };
  }

  /**
   * Binds a partial upload to the video of a final upload (or checks it is already bound to it). A partial serves
   * one video only, and only its own creator (checked by the caller, which knows who asks).
   */
  async bind(uploadId: string, videoId: string): Promise<BindResult> {
    const found = this.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.kind !== 'partial') return { status: 'refused', reason: 'not a partial upload (Upload-Concat: partial)' };
    if (found.bound_video_id !== null && found.bound_video_id !== videoId) {
      return { status: 'refused', reason: 'it belongs to another video' };
    }
    if (found.bound_video_id === null) this.ctx.storage.sql.exec('UPDATE session SET bound_video_id = ? WHERE upload_id = ?', videoId, found.upload_id);
    return { status: 'ok', session: this.view(this.row()!) };
  }

  async renewLease(lease: string): Promise<SimpleResult> {
    const now = runtime().now();
    for (const held of this.leases.values()) {
      if (held.token === lease) {
        held.until = now + this.leaseMs;
        return { status: 'ok' };
      }
    }
    return { status: 'lease_lost' };
  }

  async release(lease: string): Promise<void> {
    for (const [slot, held] of this.leases) if (held.token === lease) this.leases.delete(slot);
  }

  async commit(uploadId: string | null, input: CommitInput): Promise<CommitResult> {
    const found = this.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.state === 'completed') return { status: 'completed' };
    const totalParts = Math.ceil(found.file_size / found.part_size);
    for (const part of input.parts) {
      const expected = expectedPartSize(found, part.partNumber);
      if (part.partNumber < 1 || part.partNumber > totalParts || part.size !== expected) {
        throw new Error(`commit of an invalid part ${part.partNumber} (${part.size} bytes) for ${found.upload_id}`);
      }
    }
    let staleTail: string | null = null;
    if (found.protocol === 'tus') {
      // tus is sequential: the commit must extend exactly the state its PATCH started from.
      const offset = this.offsetOf(found);
      if (input.fromOffset !== offset) return { status: 'conflict', offset };
      const storedCount = this.partCount();
      const contiguous = input.parts.every((p, i) => p.partNumber === storedCount + 1 + i);
      const tail = input.tail ?? null;
      if (!contiguous || (tail && tail.size >= found.part_size)) throw new Error(`non-contiguous tus commit for ${found.upload_id}`);
      this.ctx.storage.transactionSync(() => {
        for (const p of input.parts) this.putPart(p);
        this.ctx.storage.sql.exec('UPDATE session SET tail_key = ?, tail_size = ? WHERE upload_id = ?', tail?.key ?? null, tail?.size ?? 0, found.upload_id);
      });
      if (found.tail_key && found.tail_key !== tail?.key) staleTail = found.tail_key;
    } else {
      // Chunk API: parts are independent. Normally the lease makes a part single-writer; if two writers of one
      // part still commit (a lease lost to an object restart), the later commit wins, as the later uploadPart did.
      this.ctx.storage.transactionSync(() => {
        for (const p of input.parts) this.putPart(p);
      });
    }
    if (staleTail) await this.env.MEDIA.delete(staleTail).catch((err) => console.warn('deleting a staged tail failed', err));
    const after = this.row()!;
    const etags: Record<number, string> = {};
    for (const p of input.parts) etags[p.partNumber] = p.etag;
    return { status: 'ok', offset: this.offsetOf(after), storedParts: this.partCount(), etags };
  }

  // ---- completion ---------------------------------------------------------------------------------------------

  async beginComplete(uploadId: string | null): Promise<BeginCompleteResult> {
    const found = this.lookup(uploadId);
    if (isMissing(found)) return found;
    if (found.state === 'completed') {
      return { status: 'completed', result: { size: found.result_size ?? found.file_size, sha256: found.result_sha256 ?? '' } };
    }
    const parts = this.parts();
    const have = new Set(parts.map((p) => p.partNumber));
    const missing: number[] = [];
    const totalParts = Math.ceil(found.file_size / found.part_size);
    for (let n = 1; n <= totalParts; n++) if (!have.has(n)) missing.push(n - 1);
    if (missing.length) return { status: 'missing_parts', missing };
    if (this.leases.size > 0 && [...this.leases.values()].some((l) => l.until > runtime().now())) return { status: 'busy' };
    const lease = this.acquire('complete')!;
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

  async finishComplete(_lease: string, result: { size: number; sha256: string }): Promise<SimpleResult> {
    const found = this.lookup(null);
    if (isMissing(found)) return found;
    if (found.state === 'completed') return { status: 'ok' };
    // No lease check: R2 has already assembled the object, so recording that is right even if this object
    // restarted (and forgot the lease) while the Worker was verifying.
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        `UPDATE session SET state = 'completed', result_size = ?, result_sha256 = ?, tail_key = NULL, tail_size = 0 WHERE upload_id = ?`,
        result.size, result.sha256, found.upload_id,
      );
      this.ctx.storage.sql.exec('DELETE FROM parts');
    });
    this.leases.delete('complete');
    // Staged tails only: a completed partial's assembled object stays (under the same prefix) until it is
    // concatenated or expires.
    await this.deleteStaged(found, keys.uploadStagedTailPrefix(found.video_id, uploadNonce(found.upload_id)));
    return { status: 'ok' };
  }

  /** The assembled object failed verification: the parts are consumed, so the upload ends and must restart. */
  async failComplete(lease: string): Promise<SimpleResult> {
    const found = this.lookup(null);
    if (isMissing(found)) return found;
    if (!this.ownsSlot('complete', lease)) return { status: 'lease_lost' };
    await this.end(found, 'verification_failed');
    return { status: 'ok' };
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private row(): SessionRow | null {
    return this.ctx.storage.sql.exec<SessionRow>('SELECT * FROM session LIMIT 1').toArray()[0] ?? null;
  }

  /** The current session if it matches `uploadId` (null: any) and is usable; otherwise why not (404 / 410). */
  private lookup(uploadId: string | null): SessionRow | Missing {
    const row = this.row();
    if (row && (uploadId === null || row.upload_id === uploadId)) {
      if (row.state === 'uploading' && runtime().now() >= row.expires_at) return { status: 'gone', reason: 'expired' };
      return row;
    }
    if (uploadId !== null) {
      const ended = this.ctx.storage.sql
        .exec<{ reason: string; consumed_by: string | null }>('SELECT reason, consumed_by FROM ended WHERE upload_id = ?', uploadId)
        .toArray()[0];
      if (ended) return { status: 'gone', reason: ended.reason as EndReason, consumedBy: ended.consumed_by };
    } else {
      const last = this.ctx.storage.sql
        .exec<{ reason: string }>('SELECT reason FROM ended ORDER BY ended_at DESC LIMIT 1')
        .toArray()[0];
      if (last && last.reason === 'expired') return { status: 'gone', reason: 'expired' };
    }
    return { status: 'not_found' };
  }

  private parts(): StoredPart[] {
    return this.ctx.storage.sql
      .exec<PartRow>('SELECT * FROM parts ORDER BY part_number')
      .toArray()
      .map((r) => ({ partNumber: r.part_number, size: r.size, etag: r.etag }));
  }

  private partCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM parts').one().n;
  }

  private putPart(p: StoredPart): void {
    this.ctx.storage.sql.exec('INSERT OR REPLACE INTO parts (part_number, size, etag) VALUES (?, ?, ?)', p.partNumber, p.size, p.etag);
  }

  /** tus offset: full parts are contiguous from the start, then the staged tail. */
  private offsetOf(row: SessionRow): number {
    if (row.state === 'completed') return row.file_size;
    const stored = this.ctx.storage.sql.exec<{ n: number | null }>('SELECT SUM(size) AS n FROM parts').one().n ?? 0;
    return stored + (row.protocol === 'tus' ? row.tail_size : 0);
  }

  private view(row: SessionRow): SessionView {
    const parts = row.state === 'completed' ? [] : this.parts();
    const totalParts = Math.ceil(row.file_size / row.part_size);
    const storedParts = row.state === 'completed' ? Array.from({ length: totalParts }, (_, i) => i) : parts.map((p) => p.partNumber - 1);
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
      totalParts,
      sha256: row.sha256,
      metadata: row.metadata,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      storedParts,
      offset,
      bytesStored: offset,
      result: row.state === 'completed' ? { size: row.result_size ?? row.file_size, sha256: row.result_sha256 ?? '' } : null,
    };
  }

  private target(row: SessionRow, lease: string) {
    return {
      lease,
      objectKey: row.object_key,
      r2UploadId: row.r2_upload_id,
      uploadNonce: uploadNonce(row.upload_id),
      partSize: row.part_size,
      fileSize: row.file_size,
    };
  }

  private held(slot: string): boolean {
    const lease = this.leases.get(slot);
    return !!lease && lease.until > runtime().now();
  }

  private ownsSlot(slot: string, token: string): boolean {
    return this.leases.get(slot)?.token === token;
  }

  private acquire(slot: string): string | null {
    if (this.held(slot)) return null;
    const token = newId('lease');
    this.leases.set(slot, { token, until: runtime().now() + this.leaseMs });
    return token;
  }

  private async deleteStaged(row: SessionRow, prefix = keys.uploadStagingPrefix(row.video_id, uploadNonce(row.upload_id))): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.env.MEDIA.list({ prefix, cursor });
      if (page.objects.length) await this.env.MEDIA.delete(page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }

  /** Ends the session: aborts the multipart upload (unless completed), deletes staged bytes, leaves a tombstone. */
  private async end(row: SessionRow, reason: EndReason, consumedBy: string | null = null): Promise<void> {
    if (row.state === 'uploading') {
      try {
        await this.env.MEDIA.resumeMultipartUpload(row.object_key, row.r2_upload_id).abort();
      } catch (err) {
        // Already aborted or completed (a crash between R2 and this bookkeeping): nothing is left to abort.
        console.warn(`abort of ${row.upload_id} failed`, err);
      }
    }
    await this.deleteStaged(row);
    const now = runtime().now();
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec('DELETE FROM parts');
      this.ctx.storage.sql.exec('DELETE FROM session');
      this.ctx.storage.sql.exec(
        'INSERT OR REPLACE INTO ended (upload_id, reason, ended_at, consumed_by) VALUES (?, ?, ?, ?)',
        row.upload_id, reason, now, consumedBy,
      );
      this.ctx.storage.sql.exec('DELETE FROM ended WHERE ended_at < ?', now - TOMBSTONE_KEEP_MS);
    });
    this.leases.clear();
    await this.ctx.storage.deleteAlarm();
  }
}

function isMissing(found: SessionRow | Missing): found is Missing {
  return !('upload_id' in found);
}

function expectedPartSize(row: SessionRow, partNumber: number): number {
  const start = (partNumber - 1) * row.part_size;
  return Math.max(0, Math.min(row.part_size, row.file_size - start));
}

/**
 * `UploadSession`: the Durable Object (SQLite-backed) that owns the upload of one video.
 *
 * One instance per video (named by the video id) holds at most one upload at a time; each upload has its own id
 * (`{videoId}-up_…`), so a stale tus URL of an ended upload is recognised (410) and never aliases a newer one. A tus
 * partial upload (concatenation) lives in an object of its own, named by its owner id (see `UploadKind`). The object
 * owns the R2 multipart upload id, the stored parts and their ETags, the tus offset and staged tail, and the expiry.
 * Bytes never pass through it: the Worker streams them to R2 and reports each stored part here.
 *
 * This class is the RPC surface and the wiring; the rules live in `session/`, each part over the narrow
 * `SessionHost` (SQL, transaction, clock, media bucket, alarm):
 * - `store.ts`: the session row, its parts and the tombstones of ended uploads; the view the Worker sees;
 * - `leases.ts`: in-memory write leases (one writer per chunk, per tus upload, or for completion);
 * - `writes.ts`: begin/commit of chunk and tus writes, deferred length, binding a tus partial to a video;
 * - `completion.ts`: begin/finish/fail of the assembly;
 * - `lifecycle.ts`: start, termination, and the expiry the alarm enforces;
 * - `schema.ts`: the tables, by schema version, migrated in `blockConcurrencyWhile` before any request.
 */
import { meterEnv } from '../metering/metered-env';
import { DurableObject } from 'cloudflare:workers';
import { loadConfig } from '../shared/config';
import { migrateSchema } from '../shared/do-schema';
import { runtime } from '../shared/runtime';
import { Completion } from './session/completion';
import type { SessionHost } from './session/host';
import { Leases } from './session/leases';
import { Lifecycle } from './session/lifecycle';
import { sessionSchema } from './session/schema';
import { isMissing, SessionStore } from './session/store';
import { Writes } from './session/writes';
import type {
  BeginChunkResult,
  BeginCompleteResult,
  BeginPatchResult,
  BindResult,
  CommitInput,
  CommitResult,
  InfoResult,
  SimpleResult,
  StartInput,
  StartResult,
} from './session-types';

export class UploadSession extends DurableObject<Env> {
  private readonly store: SessionStore;
  private readonly lifecycle: Lifecycle;
  private readonly writes: Writes;
  private readonly completion: Completion;
  private readonly leases: Leases;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meterEnv(env));
    const host: SessionHost = {
      sql: ctx.storage.sql,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: () => runtime().now(),
      media: this.env.MEDIA,
      setAlarm: (at) => ctx.storage.setAlarm(at),
      deleteAlarm: () => ctx.storage.deleteAlarm(),
    };
    this.leases = new Leases(loadConfig(env).uploads.writeLeaseMs, host.now);
    this.store = new SessionStore(host);
    this.lifecycle = new Lifecycle(host, this.store, this.leases);
    this.writes = new Writes(host, this.store, this.leases);
    this.completion = new Completion(host, this.store, this.leases, this.lifecycle);
    void ctx.blockConcurrencyWhile(async () => {
      migrateSchema(ctx.storage, sessionSchema);
    });
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  async info(uploadId: string | null): Promise<InfoResult> {
    const found = this.store.lookup(uploadId);
    return isMissing(found) ? found : { status: 'ok', session: this.store.view(found) };
  }

  // ---- creation and termination -----------------------------------------------------------------------------

  async start(input: StartInput): Promise<StartResult> {
    return this.lifecycle.start(input);
  }

  /**
   * tus termination (`evenIfCompleted`: tus 1.0.0 terminates a finished upload too), `DELETE /v1/videos/:id/upload`,
   * and the video-deleted hook (uploadId null: whatever is current).
   */
  async terminate(
    uploadId: string | null,
    reason: 'terminated' | 'video_deleted' | 'concatenated',
    consumedBy: string | null = null,
    evenIfCompleted = false,
  ): Promise<SimpleResult | { status: 'completed' }> {
    return this.lifecycle.terminate(uploadId, reason, consumedBy, evenIfCompleted);
  }

  override async alarm(): Promise<void> {
    await this.lifecycle.onAlarm();
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  async beginChunk(index: number): Promise<BeginChunkResult> {
    return this.writes.beginChunk(index);
  }

  /**
   * A tus write at `offset` (a PATCH or a creation POST's data). `declaredLength`: the PATCH's
   * Upload-Length, which sets a deferred length (once) and must otherwise equal the length already set.
   */
  async beginPatch(uploadId: string, offset: number, declaredLength: number | null = null): Promise<BeginPatchResult> {
    return this.writes.beginPatch(uploadId, offset, declaredLength);
  }

  /** Binds a partial upload to the video of a final upload (or checks it is already bound to it). */
  async bind(uploadId: string, videoId: string): Promise<BindResult> {
    return this.writes.bind(uploadId, videoId);
  }

  async renewLease(lease: string): Promise<SimpleResult> {
    return this.writes.renewLease(lease);
  }

  async release(lease: string): Promise<void> {
    this.leases.release(lease);
  }

  async commit(uploadId: string | null, input: CommitInput): Promise<CommitResult> {
    return this.writes.commit(uploadId, input);
  }

  // ---- completion ---------------------------------------------------------------------------------------------

  async beginComplete(uploadId: string | null): Promise<BeginCompleteResult> {
    return this.completion.begin(uploadId);
  }

  /** Records the verified result (the completion lease is not needed here: see completion.ts). */
  async finishComplete(result: { size: number; sha256: string }): Promise<SimpleResult> {
    return this.completion.finish(result);
  }

  /** The assembled object failed verification: the parts are consumed, so the upload ends and must restart. */
  async failComplete(lease: string): Promise<SimpleResult> {
    return this.completion.fail(lease);
  }
}

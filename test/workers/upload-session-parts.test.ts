/**
 * The UploadSession's parts on their own (workers/uploads/session/), over a real session object's SQLite store
 * through the `SessionHost` interface, with a clock the test moves and a media bucket that can fail.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { Completion } from '../../workers/uploads/session/completion';
import type { SessionHost } from '../../workers/uploads/session/host';
import { Leases } from '../../workers/uploads/session/leases';
import { Lifecycle } from '../../workers/uploads/session/lifecycle';
import { SessionStore } from '../../workers/uploads/session/store';
import { Writes } from '../../workers/uploads/session/writes';
import type { StartInput } from '../../workers/uploads/session-types';
import { newUploadId } from '../../workers/uploads/upload-ids';

const PART = 5 * 1024 * 1024;
const T0 = Date.UTC(2026, 0, 21, 9, 0);
let next = 0;

interface Parts {
  host: SessionHost;
  clock: { t: number };
  alarms: (number | null)[];
  store: SessionStore;
  leases: Leases;
  lifecycle: Lifecycle;
  writes: Writes;
  completion: Completion;
}

/** Runs `fn` inside a session object nobody else uses, with the parts wired over `media` (R2 unless replaced). */
function withParts<R>(fn: (p: Parts) => Promise<R> | R, media: R2Bucket = env.MEDIA): Promise<R> {
  const stub = env.UPLOAD_SESSION.get(env.UPLOAD_SESSION.idFromName(`parts-${++next}`));
  return runInDurableObject(stub, (_i, state) => {
    const clock = { t: T0 };
    const alarms: (number | null)[] = [];
    const host: SessionHost = {
      sql: state.storage.sql,
      transaction: (f) => state.storage.transactionSync(f),
      now: () => clock.t,
      media,
      setAlarm: async (at) => void alarms.push(at),
      deleteAlarm: async () => void alarms.push(null),
    };
    const store = new SessionStore(host);
    const leases = new Leases(30_000, host.now);
    const lifecycle = new Lifecycle(host, store, leases);
    const writes = new Writes(host, store, leases);
    return fn({ host, clock, alarms, store, leases, lifecycle, writes, completion: new Completion(host, store, leases, lifecycle) });
  });
}

const input = (over: Partial<StartInput> = {}): StartInput => {
  const videoId = `vid_parts${String(next).padStart(8, '0')}`;
  return {
    uploadId: newUploadId(videoId),
    videoId,
    creatorId: 'cr_parts',
    protocol: 'tus',
    objectKey: `originals/${videoId}/original`,
    fileSize: 2 * PART + 10,
    partSize: PART,
    sha256: null,
    metadata: null,
    contentType: null,
    ttlMs: 3_600_000,
    ...over,
  };
};

describe('Leases', () => {
  it('one holder per slot until it lapses; renew extends, release frees, a lapsed token is lost', () => {
    let now = 0;
    const leases = new Leases(1000, () => now);
    const a = leases.acquire('patch')!;
    expect(leases.acquire('patch')).toBeNull();
    expect(leases.anyLive()).toBe(true);
    now = 900;
    expect(leases.renew(a)).toBe(true);
    now = 1800;
    expect(leases.acquire('patch')).toBeNull(); // renewed to 1900
    now = 1901;
    const b = leases.acquire('patch')!;
    expect(b).not.toBe(a);
    expect(leases.renew(a)).toBe(false);
    expect(leases.owns('patch', b)).toBe(true);
    leases.release(b);
    expect(leases.anyLive()).toBe(false);
  });
});

describe('session parts', () => {
  it('tus: writes are sequential from the offset; a commit must extend the state it started from', () =>
    withParts(async ({ lifecycle, writes, store, alarms }) => {
      const i = input();
      const started = await lifecycle.start(i);
      expect(started).toMatchObject({ status: 'created', session: { offset: 0, totalParts: 3 } });
      expect(alarms).toEqual([T0 + i.ttlMs]);
      expect(writes.beginPatch(i.uploadId, 5, null)).toEqual({ status: 'offset_mismatch', offset: 0 });
      expect(writes.beginPatch(i.uploadId, 0, 123)).toEqual({ status: 'length_mismatch', length: i.fileSize });
      const begun = writes.beginPatch(i.uploadId, 0, null);
      expect(begun).toMatchObject({ status: 'ok', offset: 0, tail: null });
      expect(writes.beginPatch(i.uploadId, 0, null)).toEqual({ status: 'busy' });
      const part = { partNumber: 1, size: PART, etag: 'e1' };
      expect(await writes.commit(i.uploadId, { lease: 'test', fromOffset: 0, parts: [part] })).toMatchObject({ status: 'ok', offset: PART, storedParts: 1 });
      // A second commit from the old offset is a conflict, not a duplicate part.
      expect(await writes.commit(i.uploadId, { lease: 'test', fromOffset: 0, parts: [part] })).toEqual({ status: 'conflict', offset: PART });
      await expect(writes.commit(i.uploadId, { lease: 'test', fromOffset: PART, parts: [{ partNumber: 3, size: 10, etag: 'e3' }] })).rejects.toThrow(/non-contiguous/);
      expect(store.parts()).toEqual([part]);
    }));

  it('a deferred length is set once by a PATCH, between the offset and the bound', () =>
    withParts(async ({ lifecycle, writes, leases }) => {
      const i = input({ lengthDeferred: true, fileSize: 10 * PART });
      await lifecycle.start(i);
      const first = writes.beginPatch(i.uploadId, 0, 20 * PART);
      expect(first).toEqual({ status: 'length_mismatch', length: 10 * PART });
      const ok = writes.beginPatch(i.uploadId, 0, PART + 7);
      expect(ok).toMatchObject({ status: 'ok', fileSize: PART + 7 });
      if (ok.status === 'ok') leases.release(ok.lease);
      expect(writes.beginPatch(i.uploadId, 0, PART + 8)).toEqual({ status: 'length_mismatch', length: PART + 7 });
    }));

  it('completion waits for every part and every writer, then records the result and answers retries from it', () =>
    withParts(async ({ lifecycle, writes, completion, store, leases }) => {
      const i = input({ protocol: 'chunked', fileSize: PART + 10 });
      await lifecycle.start(i);
      expect(completion.begin(null)).toEqual({ status: 'missing_parts', missing: [0, 1] });
      const w = writes.beginChunk(0);
      expect(w).toMatchObject({ status: 'ok' });
      await writes.commit(null, { lease: 'test', fromOffset: 0, parts: [{ partNumber: 1, size: PART, etag: 'e1' }] });
      expect(writes.beginChunk(0)).toEqual({ status: 'stored', etag: 'e1', size: PART });
      await writes.commit(null, { lease: 'test', fromOffset: 0, parts: [{ partNumber: 2, size: 10, etag: 'e2' }] });
      expect(completion.begin(null)).toEqual({ status: 'busy' }); // chunk 0's writer still holds its lease
      if (w.status === 'ok') leases.release(w.lease);
      const ready = completion.begin(null);
      expect(ready).toMatchObject({ status: 'ready', parts: [{ partNumber: 1 }, { partNumber: 2 }] });
      expect(await completion.finish({ size: PART + 10, sha256: 'abc' })).toEqual({ status: 'ok' });
      expect(completion.begin(null)).toEqual({ status: 'completed', result: { size: PART + 10, sha256: 'abc' } });
      expect(store.partCount()).toBe(0);
      // A client's termination of a completed upload keeps the record.
      expect(await lifecycle.terminate(null, 'terminated', null)).toEqual({ status: 'completed' });
    }));

  it('a storage failure at start creates nothing; expiry by the alarm leaves a tombstone even when abort fails', async () => {
    const broken = {
      ...env.MEDIA,
      createMultipartUpload: async () => {
        throw new Error('R2 down');
      },
    } as unknown as R2Bucket;
    await withParts(async ({ lifecycle, store }) => {
      expect(await lifecycle.start(input())).toEqual({ status: 'failed', message: 'storage is unavailable, retry later' });
      expect(store.row()).toBeNull();
    }, broken);

    const abortFails = {
      createMultipartUpload: (key: string, o: R2MultipartOptions) => env.MEDIA.createMultipartUpload(key, o),
      resumeMultipartUpload: () => ({ abort: async () => Promise.reject(new Error('already gone')) }),
      list: (o: R2ListOptions) => env.MEDIA.list(o),
      delete: (k: string | string[]) => env.MEDIA.delete(k),
    } as unknown as R2Bucket;
    await withParts(async ({ lifecycle, store, clock, alarms }) => {
      const i = input();
      await lifecycle.start(i);
      clock.t = T0 + 1000;
      await lifecycle.onAlarm(); // early: moved to the deadline
      expect(alarms).toEqual([T0 + i.ttlMs, T0 + i.ttlMs]);
      expect(store.lookup(i.uploadId)).toMatchObject({ upload_id: i.uploadId });
      clock.t = T0 + i.ttlMs;
      expect(store.lookup(i.uploadId)).toEqual({ status: 'gone', reason: 'expired' });
      await lifecycle.onAlarm();
      expect(store.row()).toBeNull();
      expect(store.lookup(i.uploadId)).toEqual({ status: 'gone', reason: 'expired', consumedBy: null });
      expect(alarms.at(-1)).toBeNull();
    }, abortFails);
  });
});

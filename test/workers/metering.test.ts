/**
 * Operation metering (workers/metering) in workerd with the real bindings: each wrapped binding counts exactly the
 * operations a scripted workload makes, by price class (R2 puts, lists and multipart steps are class A, gets and
 * heads class B, deletes free; D1 rows from each answer's meta; queue messages per 64 KB; one request per Durable
 * Object stub call); N segment requests through the playback route count N, cache hits apart from misses; the
 * isolate writes its counts at most once a minute, in one statement, and a failed write loses nothing.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { meterBucket, meterDatabase, meterNamespace, meterQueue } from '../../workers/metering/metered-env';
import { takeOperations, countOperation, type OperationCounts, type OperationKind } from '../../workers/metering/operations';
import { FLUSH_INTERVAL_MS, flushOperations, readOperations } from '../../workers/metering/store';
import { setRuntime } from '../../workers/shared/runtime';
import { api } from './helpers';
import { playableVideo, signedBase, signedMasterPath } from './playback-fixtures';

/** A counter of its own, so a test sees only what its workload counted. */
function tally() {
  const counts: OperationCounts = {};
  const count = (kind: OperationKind, amount = 1) => {
    counts[kind] = (counts[kind] ?? 0) + amount;
  };
  return { counts, count };
}

const internal = { Authorization: `Bearer ${env.INTERNAL_TOKEN}` };

async function operationsNow(): Promise<OperationCounts> {
  expect((await api('/internal/operations/flush', { method: 'POST', headers: internal })).status).toBe(200);
  const res = await api(`/internal/operations?from=0&to=${Date.now() + 120_000}`, { headers: internal });
  expect(res.status).toBe(200);
  return (await res.json<{ counts: OperationCounts }>()).counts;
}

let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

describe('metered bindings', () => {
  it('R2: puts, lists and multipart steps are class A, gets and heads class B, deletes apart', async () => {
    const { counts, count } = tally();
    const bucket = meterBucket(env.MEDIA, count);
    for (let i = 0; i < 5; i++) await bucket.put(`metering/object-${i}`, `bytes ${i}`);
    for (let i = 0; i < 3; i++) expect(await (await bucket.get(`metering/object-${i}`))?.text()).toBe(`bytes ${i}`);
    expect(await bucket.head('metering/object-4')).not.toBeNull();
    expect((await bucket.list({ prefix: 'metering/' })).objects).toHaveLength(5);
    const upload = await bucket.createMultipartUpload('metering/multipart');
    const parts = [await upload.uploadPart(1, new Uint8Array(5 * 1024 * 1024)), await upload.uploadPart(2, 'tail')];
    await upload.complete(parts);
    await bucket.delete(['metering/object-0', 'metering/object-1']);
    await bucket.delete('metering/multipart');
    expect(counts).toEqual({ 'r2.class_a': 5 + 1 + 4, 'r2.class_b': 3 + 1, 'r2.deletes': 3 });
  });

  it('D1: rows read and written from each answer, batches per statement, answers without meta by their rows', async () => {
    const { counts, count } = tally();
    const db = meterDatabase(env.DB, count);
    await db.prepare('CREATE TABLE IF NOT EXISTS metering_probe (n INTEGER)').run();
    const before = { ...counts };
    await db.prepare('INSERT INTO metering_probe (n) VALUES (?), (?), (?)').bind(1, 2, 3).run();
    expect(counts['d1.rows_written']! - (before['d1.rows_written'] ?? 0)).toBe(3);
    const all = await db.prepare('SELECT n FROM metering_probe WHERE n >= ?').bind(2).all();
    expect(all.results).toHaveLength(2);
    expect(counts['d1.rows_read']! - (before['d1.rows_read'] ?? 0)).toBe(all.meta.rows_read);
    const [a, b] = await db.batch([db.prepare('INSERT INTO metering_probe (n) VALUES (4)'), db.prepare('SELECT COUNT(*) AS c FROM metering_probe')]);
    expect(a!.meta.rows_written).toBe(1);
    expect(b!.results).toEqual([{ c: 4 }]);
    const raw = await db.prepare('SELECT n FROM metering_probe').raw();
    expect(raw).toHaveLength(4);
    // CREATE, INSERT, SELECT, two batched statements, the raw SELECT.
    expect(counts['d1.queries']).toBe(6);
    expect(counts['d1.rows_written']! - (before['d1.rows_written'] ?? 0)).toBe(4);
  });

  it('Queues: one message per 64 KB sent', async () => {
    const { counts, count } = tally();
    const queue = meterQueue(env.MEDIA_QUEUE, count);
    // Not a download job: the consumer acknowledges it as malformed.
    await queue.send({ metering: 'probe' } as never);
    await queue.sendBatch([{ body: { metering: 'a' } }, { body: { metering: 'x'.repeat(70_000) } }] as never);
    expect(counts).toEqual({ 'queue.messages': 1 + 1 + 2 });
  });

  it('Durable Objects: one request per stub call, with the time the caller waited', async () => {
    const { counts, count } = tally();
    const ns = meterNamespace(env.LIVE_INPUT, count);
    const stub = ns.get(ns.idFromName('metering-probe'));
    expect(await stub.describe()).toMatchObject({ videoId: null });
    await stub.describe();
    expect(counts['do.requests']).toBe(2);
    expect(counts['do.wall_ms']).toBeGreaterThanOrEqual(0);
  });
});

describe('counted at the edge', () => {
  it('N segment requests count N, the first a miss and the rest cache hits', async () => {
    const video = await playableVideo({ rungs: [{ name: '240p', height: 240, durations: [6, 6, 6] }] });
    const base = signedBase(await signedMasterPath(video.id));
    const before = await operationsNow();
    const N = 7;
    const statuses: string[] = [];
    for (let i = 0; i < N; i++) {
      const res = await api(`${base}240p/segment_0001.ts`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      statuses.push(res.headers.get('X-Cache')!);
    }
    const after = await operationsNow();
    const delta = (kind: OperationKind) => (after[kind] ?? 0) - (before[kind] ?? 0);
    expect(statuses).toEqual(['MISS', ...Array(N - 1).fill('HIT')]);
    expect(delta('cache.misses')).toBe(1);
    expect(delta('cache.hits')).toBe(N - 1);
    // The miss read R2 once (class B); the hits did not.
    expect(delta('r2.class_b')).toBe(1);
    // N segment requests, and two of the test's own: the first read (counted after the first flush) and the second
    // flush (counted before it writes).
    expect(delta('worker.requests')).toBe(N + 2);
  });
});

describe('the operations route', () => {
  it('refuses a range that is not milliseconds, or ends before it starts, and asks for the internal token', async () => {
    for (const q of ['from=yesterday', 'from=-5', 'from=1.5', 'from=100&to=50', 'from=100&to=100']) {
      const res = await api(`/internal/operations?${q}`, { headers: internal });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe('bad_request');
    }
    expect((await api('/internal/operations')).status).toBe(401);
    expect((await api('/internal/operations/flush', { method: 'POST' })).status).toBe(401);
  });
});

describe('the flush', () => {
  it('writes at most once a minute, in one statement', async () => {
    let now = Date.now() + 10 * FLUSH_INTERVAL_MS;
    restore = setRuntime({ now: () => now });
    const statements: string[] = [];
    const spy = new Proxy(env.DB, {
      get(target, prop) {
        const value = (target as unknown as Record<string | symbol, unknown>)[prop];
        if (prop === 'prepare') return (query: string) => (statements.push(query), target.prepare(query));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    countOperation('r2.class_a', 3);
    countOperation('cache.hits', 5);
    expect(await flushOperations(spy)).toBe(true);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^insert into "operations_minutely"/);
    countOperation('r2.class_a', 1);
    now += FLUSH_INTERVAL_MS - 1;
    expect(await flushOperations(spy)).toBe(false);
    expect(statements).toHaveLength(1);
    now += 1;
    expect(await flushOperations(spy)).toBe(true);
    expect(statements).toHaveLength(2);
  });

  it('a failed write loses nothing: the counts go to the next flush', async () => {
    let now = Date.now() + 100 * FLUSH_INTERVAL_MS;
    restore = setRuntime({ now: () => now });
    takeOperations();
    const broken = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'prepare') return () => {
          throw new Error('D1 is unavailable');
        };
        const value = (target as unknown as Record<string | symbol, unknown>)[prop];
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    countOperation('d1.rows_written', 11);
    expect(await flushOperations(broken)).toBe(false);
    now += FLUSH_INTERVAL_MS;
    expect(await flushOperations(env.DB)).toBe(true);
    const minute = Math.floor(now / 60_000) * 60_000;
    expect(await readOperations(env.DB, minute, minute + 60_000)).toEqual({ 'd1.rows_written': 11 });
  });
});

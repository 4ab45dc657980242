/**
 * The hourly flush, shard side: `pending` holds exact views per hour since the last flush, `flush_batch` the
 * numbered snapshot being applied to D1 (see ../flush.ts for the D1 side and why it is exactly once).
 *
 * A flush snapshots `pending` into batch `seq` and resets it in one local transaction (new views go to fresh
 * `pending` rows), applies the batch to D1, then deletes it; a crash in between leaves the batch, which the next
 * flush replays (a no-op in D1). The alarm flushes at the end of the oldest pending hour plus a per-shard jitter;
 * after a failure it retries in `RETRY_FLUSH_MS`, and a batch found after a restart is retried at once. The shard
 * registers itself in D1 when a pending period starts, so the hourly cron can flush it if its alarm never runs.
 *
 * The same batch carries the shard's QoE differences (qoe-ledger.ts): one flush, one sequence number and one D1
 * batch for views and quality of experience, so both are exactly once by the same guard.
 */
import { applyFlush, registerPending, unregisterPending, type FlushBatch } from '../flush';
import type { HllState } from './hll-state';
import { HOUR_MS, hourBucket, type AlarmTask, type CounterHost, type Meta } from './host';
import type { QoeLedger } from './qoe-ledger';
import { errorMessage, type FlushResult, type QoeSnapshot, type ShardIdentity, type ShardSnapshot } from './types';

const RETRY_FLUSH_MS = 30_000;

/** The D1 side of a flush, as the flusher uses it. */
export interface FlushTarget {
  apply(batch: FlushBatch): Promise<void>;
  register(id: ShardIdentity, generation: number, now: number): Promise<void>;
  unregister(id: ShardIdentity, generation: number): Promise<void>;
}

export const d1FlushTarget = (db: D1Database): FlushTarget => ({
  apply: (batch) => applyFlush(db, batch),
  register: (id, generation, now) => registerPending(db, id.videoId, id.shardIndex, generation, now),
  unregister: (id, generation) => unregisterPending(db, id.videoId, id.shardIndex, generation),
});

export class Flusher implements AlarmTask {
  /** Whether this pending period is registered in D1 (memory only: after a restart we simply register again). */
  private registered = false;
  private running: Promise<FlushResult> | null = null;
  /** After a failed flush, when to try again (runtime clock). */
  private retryAt = 0;

  constructor(
    private readonly host: CounterHost,
    private readonly meta: Meta,
    private readonly hll: HllState,
    private readonly qoe: QoeLedger,
    private readonly target: FlushTarget,
    private readonly identity: () => ShardIdentity | null,
  ) {}

  /** Adds a counted view to its hour (inside the caller's transaction). */
  add(hour: number, increment: number): void {
    this.host.sql.exec(
      'INSERT INTO pending (hour, views) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET views = views + excluded.views',
      hour,
      increment,
    );
  }

  /** After a counted view: registers the pending period in D1 once (a failure is logged; the alarm still flushes). */
  async ensureRegistered(id: ShardIdentity, now: number): Promise<void> {
    if (this.registered) return;
    this.registered = true;
    const generation = (this.meta.num('generation') ?? 0) + 1;
    this.meta.set('generation', generation);
    await this.target.register(id, generation, now).catch((err) => {
      this.registered = false;
      console.error('registering pending shard failed (its alarm still flushes it)', err);
    });
  }

  /** One flush at a time: a second caller shares the running one instead of racing it for the same batch. */
  flush(): Promise<FlushResult> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async onAlarm(now: number): Promise<void> {
    const due = this.nextDue();
    if (due !== null && due <= now) await this.flush();
  }

  /**
   * The oldest pending hour's end (or the end of the hour the oldest QoE change arrived in) plus this shard's jitter,
   * not before a retry after a failure; a stuck batch's retry time.
   */
  nextDue(): number | null {
    const sql = this.host.sql;
    if (this.batchSeq() !== null) return this.retryAt;
    const oldest = sql.exec<{ h: number | null }>('SELECT MIN(hour) AS h FROM pending').one().h;
    const views = oldest === null ? null : oldest * 1000 + HOUR_MS;
    const qoe = this.qoe.dueAt();
    if (views === null && qoe === null) return null;
    const id = this.identity();
    const jitter = id ? (id.shardIndex * 7919) % (this.host.config.views.flushJitterMs + 1) : 0;
    return Math.max(Math.min(views ?? Infinity, qoe ?? Infinity) + jitter, this.retryAt);
  }

  /** The batch being applied (views, QoE or both), or null. */
  private batchSeq(): number | null {
    return this.host.sql.exec<{ s: number | null }>('SELECT MIN(seq) AS s FROM (SELECT seq FROM flush_batch UNION ALL SELECT seq FROM qoe_flush_batch)').one().s;
  }

  /** Unflushed QoE for live reports: the pending differences and the batch D1 may not have yet. */
  qoeSnapshot(): QoeSnapshot {
    const seq = this.batchSeq();
    const cells = seq === null ? [] : this.qoe.batchCells(seq);
    return { pending: this.qoe.pendingCells(), inflight: seq !== null && cells.length > 0 ? { seq, cells } : null };
  }

  /** Unflushed views for stats. */
  snapshot(): Pick<ShardSnapshot, 'pendingViews' | 'inflight' | 'hours'> {
    const sql = this.host.sql;
    const pending = sql.exec<{ hour: number; views: number }>('SELECT hour, views FROM pending ORDER BY hour').toArray();
    const inflight = sql
      .exec<{ seq: number; views: number }>('SELECT seq, SUM(views) AS views FROM flush_batch GROUP BY seq ORDER BY seq LIMIT 1')
      .toArray()[0];
    const inflightHours = inflight
      ? sql.exec<{ hour: number; views: number }>('SELECT hour, views FROM flush_batch WHERE seq = ? ORDER BY hour', inflight.seq).toArray()
      : [];
    return {
      pendingViews: pending.reduce((sum, r) => sum + r.views, 0),
      inflight: inflight ? { seq: inflight.seq, views: inflight.views, hours: inflightHours } : null,
      hours: pending.map((r) => ({ hour: r.hour, views: r.views, uniques: this.hll.hourUniques(r.hour) })),
    };
  }

  private async run(): Promise<FlushResult> {
    const id = this.identity();
    if (!id) return { status: 'ok', seq: null, views: 0 };
    const { sql } = this.host;
    try {
      let seq = this.batchSeq();
      if (seq === null) {
        const generation = this.meta.num('generation') ?? 0;
        seq = this.snapshotPending(generation);
        if (seq === null) {
          await this.target.unregister(id, generation);
          return { status: 'ok', seq: null, views: 0 };
        }
      }
      const rows = sql
        .exec<{ hour: number; views: number; uniques: number; generation: number }>('SELECT hour, views, uniques, generation FROM flush_batch WHERE seq = ? ORDER BY hour', seq)
        .toArray();
      const hours = rows.map(({ hour, views, uniques }) => ({ hour, views, uniques }));
      const qoe = this.qoe.batchCells(seq);
      const now = this.host.now();
      const generation = rows[0]?.generation ?? this.meta.num('batch_generation') ?? 0;
      await this.target.apply({ ...id, seq, generation, hours, qoe, now });
      this.clearBatch(seq, hours, now);
      return { status: 'ok', seq, views: hours.reduce((s, h) => s + h.views, 0) };
    } catch (err) {
      this.retryAt = this.host.now() + RETRY_FLUSH_MS;
      console.error('ViewCounter flush failed; the batch stays and is retried', err);
      return { status: 'failed', error: errorMessage(err) };
    }
  }

  /**
   * Moves `pending` and the QoE differences into a new batch in one local transaction; returns its seq, or null when
   * nothing is pending.
   */
  private snapshotPending(generation: number): number | null {
    const { sql } = this.host;
    const pending = sql.exec<{ hour: number; views: number }>('SELECT hour, views FROM pending ORDER BY hour').toArray();
    if (pending.length === 0 && this.qoe.dueAt() === null) return null;
    const seq = this.meta.num('next_seq') ?? 1;
    const cells = this.host.transaction(() => {
      for (const p of pending) {
        sql.exec(
          'INSERT INTO flush_batch (seq, hour, views, uniques, generation) VALUES (?, ?, ?, ?, ?)',
          seq,
          p.hour,
          p.views,
          this.hll.hourUniques(p.hour),
          generation,
        );
      }
      sql.exec('DELETE FROM pending');
      const qoeCells = this.qoe.snapshotInto(seq);
      this.meta.set('next_seq', seq + 1);
      this.meta.set('batch_generation', generation);
      return qoeCells;
    });
    this.registered = false;
    // QoE records that changed nothing (a record equal to the one flushed) leave an empty batch: nothing to apply.
    if (pending.length === 0 && cells === 0) return null;
    return seq;
  }

  /** The batch is in D1: drop it, and the registers of closed hours it finished. */
  private clearBatch(seq: number, hours: { hour: number }[], now: number): void {
    const { sql } = this.host;
    this.host.transaction(() => {
      sql.exec('DELETE FROM flush_batch WHERE seq = ?', seq);
      this.qoe.clearBatch(seq);
      const currentHour = hourBucket(now);
      for (const h of hours) {
        const stillPending = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pending WHERE hour = ?', h.hour).one().n;
        if (h.hour < currentHour && stillPending === 0) this.hll.dropHour(h.hour);
      }
    });
  }
}

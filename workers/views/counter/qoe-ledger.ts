/**
 * QoE in a ViewCounter shard: the latest record of each playback session routed here, and what the hourly flush
 * owes D1 for them.
 *
 * A player sends a session's figures when the page is hidden or closed, so one session can send several records
 * (numbered by `seq`), each replacing the one before. The ledger keeps each session's latest record and the record
 * last flushed; a flush ships the difference (new minus flushed) per (session hour, country, browser, OS) cell,
 * which is an additive delta, so the D1 side stays a guarded sum like the view counts (../flush.ts). A session whose
 * hour was already flushed and then sends a better record therefore corrects its hour instead of counting twice.
 *
 * A changed session is due in the flush at the end of the hour it changed in (not its own hour), so late records
 * are batched hourly too. Rows are kept until their playback session can no longer send (its TTL) and are swept by
 * the alarm once flushed.
 */
import { addSums, emptySums, isZero, sessionSums, sumsFromJson, sumsToJson, type QoeSums, type SessionMetrics, type SumsJson } from '../qoe/sketch';
import { HOUR_MS, hourBucket, type AlarmTask, type CounterHost } from './host';
import type { QoeCell, QoeRecordInput, QoeRecordOutcome } from './types';

type CellKey = {
  hour: number;
  country: string;
  browser: string;
  os: string;
};

const keyOf = (c: CellKey): string => JSON.stringify([c.hour, c.country, c.browser, c.os]);

export class QoeLedger implements AlarmTask {
  private lastSweep = 0;

  constructor(private readonly host: CounterHost) {}

  /** Takes a session's record unless an equal or later one is here, or the session sent too many. */
  record(input: QoeRecordInput, now: number): QoeRecordOutcome {
    const sql = this.host.sql;
    const existing = sql.exec<{ seq: number; updates: number }>('SELECT seq, updates FROM qoe_sessions WHERE session = ?', input.sessionId).toArray()[0];
    if (existing && existing.seq >= input.seq) return 'stale';
    if (existing && existing.updates >= this.host.config.views.qoe.maxUpdatesPerSession) return 'too_many_updates';
    const { dimensions: d } = input;
    sql.exec(
      `INSERT INTO qoe_sessions (session, hour, country, browser, os, seq, record, flushed, dirty_hour, updates, expires_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, 1, ?9)
       ON CONFLICT (session) DO UPDATE SET seq = excluded.seq, record = excluded.record,
         dirty_hour = COALESCE(qoe_sessions.dirty_hour, excluded.dirty_hour), updates = qoe_sessions.updates + 1`,
      input.sessionId,
      input.hour,
      d.country,
      d.browser,
      d.os,
      input.seq,
      JSON.stringify(input.metrics),
      hourBucket(now),
      input.sessionExpiresAt,
    );
    return 'accepted';
  }

  /** When the changed sessions are due in a flush: the end of the oldest hour one of them changed in. */
  dueAt(): number | null {
    const oldest = this.host.sql.exec<{ h: number | null }>('SELECT MIN(dirty_hour) AS h FROM qoe_sessions WHERE dirty_hour IS NOT NULL').one().h;
    return oldest === null ? null : oldest * 1000 + HOUR_MS;
  }

  /** The unflushed difference of every changed session, per cell (for a flush batch, or live reports). */
  pendingCells(): QoeCell[] {
    const rows = this.host.sql
      .exec<CellKey & { record: string; flushed: string | null }>('SELECT hour, country, browser, os, record, flushed FROM qoe_sessions WHERE dirty_hour IS NOT NULL')
      .toArray();
    const cells = new Map<string, CellKey & { sums: QoeSums }>();
    for (const row of rows) {
      const key = keyOf(row);
      const cell = cells.get(key) ?? { hour: row.hour, country: row.country, browser: row.browser, os: row.os, sums: emptySums() };
      addSums(cell.sums, sessionSums(JSON.parse(row.record) as SessionMetrics));
      if (row.flushed !== null) addSums(cell.sums, sessionSums(JSON.parse(row.flushed) as SessionMetrics), -1);
      cells.set(key, cell);
    }
    return [...cells.values()].filter((c) => !isZero(c.sums)).map(({ sums, ...key }) => ({ ...key, sums: sumsToJson(sums) }));
  }

  /** Inside the flusher's snapshot transaction: moves the pending differences into batch `seq`. */
  snapshotInto(seq: number): number {
    const cells = this.pendingCells();
    const sql = this.host.sql;
    for (const c of cells) {
      sql.exec('INSERT INTO qoe_flush_batch (seq, hour, country, browser, os, delta) VALUES (?, ?, ?, ?, ?, ?)', seq, c.hour, c.country, c.browser, c.os, JSON.stringify(c.sums));
    }
    sql.exec('UPDATE qoe_sessions SET flushed = record, dirty_hour = NULL WHERE dirty_hour IS NOT NULL');
    return cells.length;
  }

  /** The cells of batch `seq`. */
  batchCells(seq: number): QoeCell[] {
    return this.host.sql
      .exec<CellKey & { delta: string }>('SELECT hour, country, browser, os, delta FROM qoe_flush_batch WHERE seq = ? ORDER BY hour', seq)
      .toArray()
      .map(({ delta, ...key }) => ({ ...key, sums: JSON.parse(delta) as SumsJson }));
  }

  clearBatch(seq: number): void {
    this.host.sql.exec('DELETE FROM qoe_flush_batch WHERE seq = ?', seq);
  }

  async onAlarm(now: number): Promise<void> {
    if (now - this.lastSweep < this.host.config.views.dedupSweepIntervalMs) return;
    this.host.sql.exec('DELETE FROM qoe_sessions WHERE expires_at <= ? AND dirty_hour IS NULL', now);
    this.lastSweep = now;
  }

  /** The first flushed session to sweep, but not before the sweep interval since the last sweep. */
  nextDue(): number | null {
    const first = this.host.sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM qoe_sessions WHERE dirty_hour IS NULL').one().t;
    return first === null ? null : Math.max(first, this.lastSweep + this.host.config.views.dedupSweepIntervalMs);
  }
}

/** Sums of cells as the D1 side and reports read them. */
export const cellSums = (c: QoeCell): QoeSums => sumsFromJson(c.sums);

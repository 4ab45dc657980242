/**
 * Leased work: the one implementation of the job-row state machine that transcode units (`transcode_jobs`) and MP4
 * downloads (`media_downloads`) share. Each table has its own repository module (the only writer of its rows) that
 * calls these transitions with the row's key:
 *
 *   PENDING ──claim──▶ PROCESSING ──complete──▶ COMPLETED
 *      ▲                  │  │
 *      └──── release ─────┘  └──fail──▶ FAILED        (and CANCELLED when the video is deleted)
 *
 * - `claim` is a compare-and-set: it succeeds for a PENDING row, or for a PROCESSING row whose lease has lapsed
 *   (its worker crashed: the work is taken over and redone). `attempts` counts claims; `startedAt` identifies the
 *   claim, so every later write of a run (heartbeat, completion, release) applies only while that run still owns the
 *   row, and a run that was taken over cannot complete it.
 * - `heartbeat` records progress and extends the lease while the work makes progress.
 * - `release` (a transient failure) puts the row back to PENDING with the error kept for display; the caller
 *   retries its message with `backoffSeconds`.
 * - `fail` ends a row that can never succeed; `cancel` ends every unfinished row of a deleted video.
 * Every transition goes through `db` and returns whether it applied; callers invalidate what they cache.
 */
import { and, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Db } from './db';
import { runtime } from './runtime';

export type LeaseStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

/** The columns a leased table has, under these property names. */
export interface LeaseColumns {
  status: SQLiteColumn;
  attempts: SQLiteColumn;
  error: SQLiteColumn;
  leaseUntil: SQLiteColumn;
  progress: SQLiteColumn;
  updatedAt: SQLiteColumn;
  startedAt: SQLiteColumn;
  completedAt: SQLiteColumn;
}

export type LeasedTable = SQLiteTable & LeaseColumns;

/** A claimed row as the transitions need it: its key condition and the claim's identity. */
export interface Claim {
  startedAt: number | null;
}

export type ClaimOutcome<Row> = { status: 'claimed'; row: Row } | { status: 'completed' } | { status: 'failed' } | { status: 'busy'; leaseRemainingMs: number };

/** Retry delay after `attempts` tries: `base · 2^(attempts-1)` seconds, capped at `max`. */
export function backoffSeconds(attempts: number, baseSec: number, maxSec: number): number {
  return Math.min(maxSec, Math.round(baseSec * 2 ** Math.max(0, attempts - 1)));
}

const ERROR_MAX = 1000;

export function leasedWork<T extends LeasedTable, Row extends Claim>(table: T) {
  const t: LeaseColumns = table;
  // drizzle types `set()` per table; the columns above exist on every leased table under these names.
  const set = (values: Record<string, unknown>) => values as never;
  const owned = (key: SQL | undefined, claim: Claim) => and(key, eq(t.status, 'PROCESSING'), claim.startedAt === null ? sql`1 = 1` : eq(t.startedAt, claim.startedAt));

  return {
    /** PENDING (or PROCESSING with a lapsed lease) → PROCESSING for a new run; otherwise what stands in the way. */
    async claim(db: Db, key: SQL | undefined, leaseMs: number): Promise<ClaimOutcome<Row>> {
      const now = runtime().now();
      const [row] = (await db
        .update(table)
        .set(set({ status: 'PROCESSING', attempts: sql`${t.attempts} + 1`, leaseUntil: now + leaseMs, startedAt: now, progress: 0, updatedAt: now }))
        .where(and(key, or(eq(t.status, 'PENDING'), and(eq(t.status, 'PROCESSING'), lt(t.leaseUntil, now)))))
        .returning()) as unknown as Row[];
      if (row) return { status: 'claimed', row };
      const current = (await db.select().from(table as SQLiteTable).where(key).get()) as (Row & { status: LeaseStatus; leaseUntil: number | null }) | undefined;
      if (!current || current.status === 'COMPLETED') return { status: 'completed' };
      if (current.status === 'FAILED' || current.status === 'CANCELLED') return { status: 'failed' };
      return { status: 'busy', leaseRemainingMs: Math.max(0, (current.leaseUntil ?? now) - now) };
    },

    /** Progress and a longer lease, only while this run owns the row. */
    async heartbeat(db: Db, key: SQL | undefined, claim: Claim, progress: number, leaseMs: number): Promise<boolean> {
      const now = runtime().now();
      const updated = await db
        .update(table)
        .set(set({ progress: Math.max(0, Math.min(1, progress)), leaseUntil: now + leaseMs, updatedAt: now }))
        .where(owned(key, claim))
        .returning();
      return updated.length > 0;
    },

    /** PROCESSING → COMPLETED for this run only (a completion delivered twice counts once), with extra columns. */
    async complete(db: Db, key: SQL | undefined, claim: Claim, extra: Record<string, unknown> = {}): Promise<boolean> {
      const now = runtime().now();
      const done = await db
        .update(table)
        .set(set({ ...extra, status: 'COMPLETED', progress: 1, error: null, leaseUntil: null, completedAt: now, updatedAt: now }))
        .where(owned(key, claim))
        .returning();
      return done.length > 0;
    },

    /** Transient failure: PROCESSING → PENDING for this run only, keeping the error for display. */
    async release(db: Db, key: SQL | undefined, claim: Claim, error: string): Promise<boolean> {
      const released = await db
        .update(table)
        .set(set({ status: 'PENDING', error: error.slice(0, ERROR_MAX), leaseUntil: null, updatedAt: runtime().now() }))
        .where(owned(key, claim))
        .returning();
      return released.length > 0;
    },

    /** An unfinished row (PENDING or PROCESSING, whoever runs it) → FAILED for good. */
    async fail(db: Db, key: SQL | undefined, error: string): Promise<boolean> {
      const now = runtime().now();
      const failed = await db
        .update(table)
        .set(set({ status: 'FAILED', error: error.slice(0, ERROR_MAX), leaseUntil: null, completedAt: now, updatedAt: now }))
        .where(and(key, inArray(t.status, ['PENDING', 'PROCESSING'])))
        .returning();
      return failed.length > 0;
    },

    /** Every unfinished row matching `key` → CANCELLED (its video was deleted); returns how many. */
    async cancel(db: Db, key: SQL | undefined, reason: string): Promise<number> {
      return (await this.cancelStatement(db, key, reason).returning()).length;
    },

    /** `cancel` as an unexecuted statement, for a `db.batch` that must end rows in the same transaction as a write. */
    cancelStatement(db: Db, key: SQL | undefined, reason: string) {
      const now = runtime().now();
      return db
        .update(table)
        .set(set({ status: 'CANCELLED', error: reason.slice(0, ERROR_MAX), leaseUntil: null, completedAt: now, updatedAt: now }))
        .where(and(key, inArray(t.status, ['PENDING', 'PROCESSING'])));
    },
  };
}

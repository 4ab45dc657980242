/**
 * `operations_minutely`, the platform's own operation counts per UTC minute (operations.ts says what each kind
 * counts): this module is its only writer. An isolate adds what it counted in ONE batched upsert, at most once a
 * minute (`flushOperations`, called after requests and after counted operations); a failed write puts the counts
 * back for the next flush, so nothing is lost but what an evicted isolate held. The flush goes through the raw D1
 * binding, never the counting one: its own write (one query, one row per kind) is not counted as workload.
 */
import { and, gte, lt, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import * as schema from '../../schema/schema';
import { runtime } from '../shared/runtime';
import { flushGate } from '../shared/shared-work';
import { hasPendingOperations, restoreOperations, takeOperations, type OperationCounts, type OperationKind } from './operations';

export const FLUSH_INTERVAL_MS = 60_000;

let lastFlush = 0;
const gate = flushGate();

const minuteOf = (ms: number) => Math.floor(ms / 60_000);

/**
 * Adds this isolate's pending counts to D1 when a minute has passed since its last flush (or `force`). Resolves
 * true when a write happened; never rejects. While another request's flush runs, a flush is skipped (its promise
 * is that request's: shared/shared-work.ts); a forced one waits for it, bounded, and then writes what is left.
 */
export async function flushOperations(db: D1Database, force = false): Promise<boolean> {
  if (!(await gate.mayStart(force))) return false;
  const now = runtime().now();
  if (!hasPendingOperations() || (!force && now - lastFlush < FLUSH_INTERVAL_MS)) return false;
  lastFlush = now;
  const counts = takeOperations();
  return gate.run(
    (async () => {
      try {
        const rows = (Object.entries(counts) as [OperationKind, number][]).map(([kind, amount]) => ({ minute: minuteOf(now), kind, amount }));
        await drizzle(db, { schema })
          .insert(schema.operationsMinutely)
          .values(rows)
          .onConflictDoUpdate({ target: [schema.operationsMinutely.minute, schema.operationsMinutely.kind], set: { amount: sql`${schema.operationsMinutely.amount} + excluded.amount` } });
        return true;
      } catch (err) {
        restoreOperations(counts);
        console.error('operations flush failed; kept for the next one', err);
        return false;
      }
    })(),
  );
}

/** The counts of the minutes in [fromMs, toMs), summed per kind. */
export async function readOperations(db: D1Database, fromMs: number, toMs: number): Promise<OperationCounts> {
  const t = schema.operationsMinutely;
  const rows = await drizzle(db, { schema })
    .select({ kind: t.kind, amount: sql<number>`SUM(${t.amount})` })
    .from(t)
    .where(and(gte(t.minute, minuteOf(fromMs)), lt(t.minute, Math.ceil(toMs / 60_000))))
    .groupBy(t.kind)
    .all();
  return Object.fromEntries(rows.map((r) => [r.kind, r.amount])) as OperationCounts;
}

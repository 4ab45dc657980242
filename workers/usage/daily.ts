/** `usage_daily`: this module is its only writer (the edge's delivered seconds, the hourly stored snapshot). */
import { sql } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import type { StoredTotals } from './stored';

const table = schema.usageDaily;

type Statement = ReturnType<typeof upsertDelivered>;

function upsertDelivered(db: Db, creatorId: string, day: string, seconds: number, now: number) {
  return db
    .insert(table)
    .values({ creatorId, day, secondsDelivered: seconds, updatedAt: now })
    .onConflictDoUpdate({ target: [table.creatorId, table.day], set: { secondsDelivered: sql`${table.secondsDelivered} + ${seconds}`, updatedAt: now } });
}

function upsertStored(db: Db, creatorId: string, day: string, t: StoredTotals, now: number) {
  return db
    .insert(table)
    .values({ creatorId, day, minutesStored: t.minutesStored, bytesStored: t.bytesStored, updatedAt: now })
    .onConflictDoUpdate({ target: [table.creatorId, table.day], set: { minutesStored: t.minutesStored, bytesStored: t.bytesStored, updatedAt: now } });
}

async function inBatches(db: Db, statements: Statement[]): Promise<void> {
  for (let i = 0; i < statements.length; i += 50) {
    const chunk = statements.slice(i, i + 50);
    if (chunk.length > 0) await db.batch(chunk as [Statement, ...Statement[]]);
  }
}

/** Adds delivered seconds per (creator, day). */
export function addDeliveredSeconds(db: Db, entries: { creatorId: string; day: string; seconds: number }[], now: number): Promise<void> {
  return inBatches(db, entries.map((e) => upsertDelivered(db, e.creatorId, e.day, e.seconds, now)));
}

/** Sets the day's stored figures per creator. */
export function writeStoredSnapshot(db: Db, totals: Map<string, StoredTotals>, day: string, now: number): Promise<void> {
  return inBatches(db, [...totals].map(([creatorId, t]) => upsertStored(db, creatorId, day, t, now) as Statement));
}

/**
 * The hourly snapshot of what every creator stores, into today's `usage_daily` row (its stored columns; the
 * delivered seconds are the edge's). A day's row keeps the last snapshot taken that day; today's figures are also
 * read live by the usage routes.
 */
import type { Db } from '../shared/db';
import { writeStoredSnapshot } from './daily';
import { utcDay } from './delivered';
import { storedTotalsByCreator } from './stored';

export async function snapshotStoredUsage(db: Db, now: number): Promise<number> {
  const totals = await storedTotalsByCreator(db);
  await writeStoredSnapshot(db, totals, utcDay(now), now);
  return totals.size;
}

/** Usage over a range of UTC days, for a creator or for every creator (the routes' answers). */
import { and, between, eq } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { badRequest } from '../shared/errors';
import { flushDelivered, utcDay } from './delivered';

export interface DayUsage {
  day: string;
  minutesStored: number;
  bytesStored: number;
  minutesDelivered: number;
}

const DAY_MS = 86_400_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_RANGE_DAYS = 366;

/** `from`/`to` as UTC days (default: the last 30 days to today), checked. */
export function dayRange(from: string | undefined, to: string | undefined, now: number): { from: string; to: string } {
  const end = to ?? utcDay(now);
  const start = from ?? utcDay(Date.parse(`${end}T00:00:00Z`) - 29 * DAY_MS);
  for (const [name, v] of [['from', start], ['to', end]] as const) {
    if (!DAY.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw badRequest(`${name} must be a day as YYYY-MM-DD`);
  }
  if (start > end) throw badRequest('from must not be after to');
  if ((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS >= MAX_RANGE_DAYS) throw badRequest(`the range may span at most ${MAX_RANGE_DAYS} days`);
  return { from: start, to: end };
}

/** The rows of the range, per creator (this isolate's delivered seconds flushed first, so its own are included). */
export async function usageRows(db: Db, config: Config, range: { from: string; to: string }, now: number, creatorId?: string): Promise<Map<string, DayUsage[]>> {
  await flushDelivered(db, config, now, true);
  const t = schema.usageDaily;
  const rows = await db
    .select()
    .from(t)
    .where(creatorId ? and(eq(t.creatorId, creatorId), between(t.day, range.from, range.to)) : between(t.day, range.from, range.to))
    .orderBy(t.creatorId, t.day)
    .all();
  const out = new Map<string, DayUsage[]>();
  for (const r of rows) {
    const list = out.get(r.creatorId) ?? [];
    list.push({ day: r.day, minutesStored: r.minutesStored, bytesStored: r.bytesStored, minutesDelivered: Math.round((r.secondsDelivered / 60) * 1e6) / 1e6 });
    out.set(r.creatorId, list);
  }
  return out;
}

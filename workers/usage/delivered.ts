/**
 * Minutes delivered, counted at the edge without slowing it: every video segment a viewer receives (a 200, or a 206
 * whose range starts at byte 0; HEAD and later ranges are not a delivery) adds its duration to its creator's UTC day
 * in this isolate's memory, and the isolate adds what it holds to `usage_daily` in one batched upsert at most every
 * `usage.deliveredFlushMs` (10 s): one D1 write per isolate per interval, not one per segment. An isolate that is
 * evicted between flushes loses what it held (at most that interval of its traffic).
 */
import type { Config } from '../shared/config';
import type { Db } from '../shared/db';
import { addDeliveredSeconds } from './daily';
import { flushGate } from '../shared/shared-work';

/** `creatorId|YYYY-MM-DD` → seconds not yet flushed. */
const pending = new Map<string, number>();
let lastFlush = 0;
const gate = flushGate();
const MAX_PENDING = 1000;

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function countDelivered(creatorId: string, seconds: number, now: number): void {
  if (!(seconds > 0)) return;
  const key = `${creatorId}|${utcDay(now)}`;
  pending.set(key, (pending.get(key) ?? 0) + seconds);
}

/**
 * Adds what this isolate holds to D1 when the interval has passed (or `force`); never throws (kept for later).
 * While another request's flush runs, a flush is skipped (its promise is that request's: shared/shared-work.ts);
 * a forced one waits for it, bounded, and then writes what is left.
 */
export async function flushDelivered(db: Db, config: Config, now: number, force = false): Promise<void> {
  if (!(await gate.mayStart(force))) return;
  if (pending.size === 0) return;
  if (!force && now - lastFlush < config.usage.deliveredFlushMs && pending.size < MAX_PENDING) return;
  lastFlush = now;
  const batch = [...pending];
  pending.clear();
  return gate.run(
    (async () => {
      try {
        await addDeliveredSeconds(
          db,
          batch.map(([key, seconds]) => {
            const [creatorId, day] = key.split('|') as [string, string];
            return { creatorId, day, seconds };
          }),
          now,
        );
      } catch (err) {
        // Put it back: the next flush tries again.
        for (const [key, seconds] of batch) pending.set(key, (pending.get(key) ?? 0) + seconds);
        console.error('usage flush failed; kept for the next one', err);
      }
    })(),
  );
}

/**
 * Scheduled deletion: a video with a shelf life (`scheduledDeletion`, an ISO time on create, direct upload or PATCH;
 * `null` cancels). The time must be at least `deletion.scheduledMinAheadMs` (1 h) ahead, so a mistyped date cannot
 * delete a video at once, and at most `deletion.scheduledMaxAheadMs` (365 days, SCHEDULED_DELETION_MAX_DAYS). The
 * 5-minute cron deletes due videos through the normal delete path (`deleteVideoEverywhere`: the `video.deleted`
 * hooks, the webhook, every object), so a scheduled deletion is exactly a deletion, up to five minutes late.
 */
import { and, asc, isNotNull, lte, ne } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { badRequest } from '../shared/errors';
import { deleteVideoEverywhere } from './delete';

/** The time a request asked for, checked against the window from `now`; undefined: not asked; null: cancel. */
export function scheduledDeletionAt(value: string | null | undefined, config: Config, now: number): number | null | undefined {
  if (value === undefined || value === null) return value;
  const at = Date.parse(value);
  const { scheduledMinAheadMs: min, scheduledMaxAheadMs: max } = config.deletion;
  if (!Number.isFinite(at)) throw badRequest('scheduledDeletion must be an ISO 8601 time such as 2027-01-01T00:00:00Z, or null');
  if (at < now + min) throw badRequest(`scheduledDeletion must be at least ${min / 60_000} minutes in the future`);
  if (at > now + max) throw badRequest(`scheduledDeletion must be at most ${Math.round(max / 86_400_000)} days in the future`);
  return at;
}

/** The cron's part: deletes the videos whose time has come (at most `scheduledPerRun`); returns how many. */
export async function deleteDueVideos(env: Env, db: Db, config: Config, now: number): Promise<number> {
  const due = await db
    .select({ id: schema.videos.id })
    .from(schema.videos)
    .where(and(isNotNull(schema.videos.scheduledDeletion), lte(schema.videos.scheduledDeletion, now), ne(schema.videos.status, 'DELETED')))
    .orderBy(asc(schema.videos.scheduledDeletion))
    .limit(config.deletion.scheduledPerRun)
    .all();
  for (const { id } of due) await deleteVideoEverywhere(env, db, id);
  return due.length;
}

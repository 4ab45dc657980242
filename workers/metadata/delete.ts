/**
 * Deleting a video: the row is kept as DELETED (so stats and ids stay consistent), every R2 object under its
 * prefixes is removed, and the caches are purged (the `video.deleted` hooks, once). Safe to repeat.
 *
 * Business rule (nothing is written for a deleted video): the row turns DELETED before any object is removed, and
 * every writer of outputs asks `acceptsOutputs` first (the transcoder's storage gateway, the rendition and master
 * writers), so a job that outlives its video writes nothing. What a racing writer still managed to put is removed
 * by `sweepDeletedVideos`, which the cron runs over videos deleted in the last `deletion.sweepWindowMs`.
 */
import { and, eq, gte } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { deleteOriginal, deletePrefix } from '../shared/original';
import { keys } from '../shared/storage-keys';
import { markDeleted } from './video-state';

/** Deletes every object under `prefix` (shared/original.ts owns the loop); returns how many. */
export const deleteR2Prefix = deletePrefix;

export async function deleteVideoEverywhere(env: Env, db: Db, videoId: string): Promise<void> {
  // The hooks (`video.deleted`) run once, for the call that moved the row; the objects are swept on every call.
  await markDeleted(env, db, videoId);
  await deleteOriginal(env.MEDIA, videoId);
  await deleteR2Prefix(env.MEDIA, keys.videoPrefix(videoId));
}

/** Whether outputs may still be written for `videoId`: it exists and is not DELETED. */
export async function acceptsOutputs(d1: D1Database, videoId: string): Promise<boolean> {
  const row = await d1.prepare('SELECT status FROM videos WHERE id = ?').bind(videoId).first<{ status: string }>();
  return row !== null && row.status !== 'DELETED';
}

/** Removes whatever racing writers left under recently deleted videos' prefixes; returns the objects removed. */
export async function sweepDeletedVideos(env: Env, db: Db, config: Config, now: number, limit = 200): Promise<number> {
  const recent = await db
    .select({ id: schema.videos.id })
    .from(schema.videos)
    .where(and(eq(schema.videos.status, 'DELETED'), gte(schema.videos.deletedAt, now - config.deletion.sweepWindowMs)))
    .limit(limit)
    .all();
  let removed = 0;
  for (const { id } of recent) {
    removed += await deleteR2Prefix(env.MEDIA, keys.videoPrefix(id));
    removed += await deleteOriginal(env.MEDIA, id);
  }
  if (removed > 0) console.warn(`swept ${removed} object(s) written for deleted videos`);
  return removed;
}

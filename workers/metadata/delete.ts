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
import { keys } from '../shared/storage-keys';
import { markDeleted } from './video-state';

export async function deleteR2Prefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    const names = page.objects.map((o) => o.key);
    if (names.length) {
      await bucket.delete(names);
      deleted += names.length;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

export async function deleteVideoEverywhere(env: Env, db: Db, videoId: string): Promise<void> {
  // The hooks (`video.deleted`) run once, for the call that moved the row; the objects are swept on every call.
  await markDeleted(env, db, videoId);
  await deleteR2Prefix(env.MEDIA, keys.originalPrefix(videoId));
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
    removed += await deleteR2Prefix(env.MEDIA, keys.originalPrefix(id));
  }
  if (removed > 0) console.warn(`swept ${removed} object(s) written for deleted videos`);
  return removed;
}

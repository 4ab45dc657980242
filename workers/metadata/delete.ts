/**
 * Deleting a video: the row is kept as DELETED (so stats and ids stay consistent), every R2 object under its
 * prefixes is removed, and the caches are purged. Safe to repeat.
 */
import { eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { invalidateVideo } from './cache';
import { onVideoDeleted } from '../lifecycle';

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
  const now = runtime().now();
  await db
    .update(schema.videos)
    .set({ status: 'DELETED', deletedAt: now, updatedAt: now })
    .where(eq(schema.videos.id, videoId));
  await invalidateVideo(videoId);
  await onVideoDeleted(env, videoId);
  await deleteR2Prefix(env.MEDIA, keys.originalPrefix(videoId));
  await deleteR2Prefix(env.MEDIA, keys.videoPrefix(videoId));
}

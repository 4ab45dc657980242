/**
 * Deleting a source deletes its clips (the choice documented in docs/media.md): a clip has no media of its own,
 * and detaching it would mean copying the source's segments for every clip. Each clip goes through the ordinary
 * deletion (DELETED row, its own R2 prefix — frames, captions, downloads — and cache purge). Repeatable.
 * Wired as a `video.deleted` hook in workers/lifecycle-hooks.ts.
 */
import { and, eq, ne } from 'drizzle-orm';
import { deleteVideoEverywhere } from '../metadata/delete';
import { openDb, schema } from '../shared/db';

export async function deleteClipsOfSource(env: Env, videoId: string): Promise<void> {
  const db = openDb(env.DB);
  const clips = await db
    .select({ id: schema.videos.id })
    .from(schema.videos)
    .where(and(eq(schema.videos.clipOf, videoId), ne(schema.videos.status, 'DELETED')));
  for (const clip of clips) await deleteVideoEverywhere(env, db, clip.id);
}

/** Usage's lifecycle hooks and analysis check, wired in workers/lifecycle-hooks.ts. */
import { eq } from 'drizzle-orm';
import type { AnalysedFacts } from '../lifecycle';
import { openDb, schema } from '../shared/db';
import { minutesRefusal } from './quota';
import { recountStoredBytes } from './stored';

/** `video.ready`: every output is written; count the video's bytes. */
export async function recountStoredOnReady(env: Env, videoId: string): Promise<void> {
  await recountStoredBytes(env, openDb(env.DB), videoId);
}

/** After analysis: a video whose length would pass its creator's minutes quota is refused (workers/usage/quota.ts). */
export async function refuseOverMinutesQuota(env: Env, videoId: string, facts: AnalysedFacts): Promise<string | null> {
  const db = openDb(env.DB);
  const video = await db.select({ creatorId: schema.videos.creatorId }).from(schema.videos).where(eq(schema.videos.id, videoId)).get();
  return video ? minutesRefusal(db, video.creatorId, videoId, facts.duration) : null;
}

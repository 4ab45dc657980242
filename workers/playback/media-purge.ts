/**
 * On deletion, this location's cached copies of a video's media objects beyond the ladder: caption tracks, MP4
 * downloads and every cut frame (listed from R2 before the prefix is deleted). purgeVideo (warming.ts) covers the
 * ladder, master and thumbnails. A `video.deleted` hook, wired in workers/lifecycle-hooks.ts.
 */
import { loadConfig } from '../shared/config';
import { openDb, schema } from '../shared/db';
import { keys, publicPaths } from '../shared/storage-keys';
import { allRungNames } from '../shared/rendition-names';
import { eq } from 'drizzle-orm';
import { cacheUrl, purge } from './edge-cache';

const FRAME_FILE = /^f(\d+)_w(\d+)\.jpg$/;

export async function purgeMediaObjects(env: Env, videoId: string): Promise<void> {
  const db = openDb(env.DB);
  const config = loadConfig(env);
  const paths: string[] = [];
  const captions = await db.select({ lang: schema.captions.lang }).from(schema.captions).where(eq(schema.captions.videoId, videoId));
  for (const { lang } of captions) paths.push(publicPaths.captionPlaylist(videoId, lang), publicPaths.captionSegment(videoId, lang), publicPaths.captionFile(videoId, lang));
  for (const rung of allRungNames(config.transcoding.ladder)) paths.push(publicPaths.download(videoId, rung));
  const prefix = keys.framesPrefix(videoId);
  let cursor: string | undefined;
  do {
    const page = await env.MEDIA.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) {
      const m = FRAME_FILE.exec(o.key.slice(prefix.length));
      if (m) paths.push(publicPaths.frame(videoId, Number(m[1]), Number(m[2])));
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  await purge(paths.map(cacheUrl));
}

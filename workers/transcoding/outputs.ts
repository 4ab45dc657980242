/**
 * What a finished job leaves behind, and when a video is READY.
 *
 * A rendition is recorded after all its segments are in R2: its media playlist is (over)written, segments beyond
 * the new count (from an earlier, longer run) are deleted, and its `renditions` row is upserted on
 * (video_id, name) — so a redone job overwrites the same keys and leaves no duplicates or stale segments.
 * The first row makes the video playable (progressive availability); READY needs every planned rung and the
 * thumbnails. The PROCESSING → READY move is a compare-and-set, so `onVideoReady` runs once per readiness.
 */
import { and, eq } from 'drizzle-orm';
import { onVideoReady } from '../lifecycle';
import { invalidateVideo } from '../metadata/cache';
import { acceptsOutputs } from '../metadata/delete';
import { renditionFacts } from '../metadata/serialize';
import { buildMasterPlaylist, buildMediaPlaylist, HLS_CONTENT_TYPE, toPlayable } from '../playback/manifest';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { keys, parseSegmentFileName } from '../shared/storage-keys';
import type { RenditionResult } from '../../containers/transcoder/src/protocol';
import { planLadder } from './ladder';

/** Deletes `segment_N.ts` objects with N ≥ count under a rendition's prefix. */
export async function deleteStaleSegments(bucket: R2Bucket, videoId: string, rendition: string, count: number): Promise<number> {
  const prefix = keys.renditionPrefix(videoId, rendition);
  const stale: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) {
      const n = parseSegmentFileName(o.key.slice(prefix.length));
      if (n !== null && n >= count) stale.push(o.key);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  for (let i = 0; i < stale.length; i += 1000) await bucket.delete(stale.slice(i, i + 1000));
  return stale.length;
}

export async function recordRendition(env: Env, db: Db, videoId: string, r: RenditionResult): Promise<void> {
  if (!(await acceptsOutputs(env.DB, videoId))) return; // deleted while it was encoding: write nothing
  await env.MEDIA.put(keys.mediaPlaylist(videoId, r.name), buildMediaPlaylist(r), { httpMetadata: { contentType: HLS_CONTENT_TYPE } });
  await deleteStaleSegments(env.MEDIA, videoId, r.name, r.segmentDurations.length);
  const row = {
    ...renditionFacts(r),
    segmentCount: r.segmentDurations.length,
    segmentDurations: JSON.stringify(r.segmentDurations),
    totalBytes: r.totalBytes,
  };
  await db
    .insert(schema.renditions)
    .values({ videoId, createdAt: runtime().now(), ...row })
    .onConflictDoUpdate({ target: [schema.renditions.videoId, schema.renditions.name], set: row });
  await invalidateVideo(videoId);
}

/**
 * Rewrites `videos/{id}/master.m3u8` from the current rows with playback's manifest module: a convenience copy,
 * byte-identical to what playback serves (D1 rows are the contract; playback never reads this object).
 */
export async function writeMasterCopy(env: Env, db: Db, videoId: string): Promise<void> {
  if (!(await acceptsOutputs(env.DB, videoId))) return;
  const rows = await db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)).all();
  const playable = rows.map(toPlayable).filter((r) => r !== null);
  if (playable.length === 0) return;
  await env.MEDIA.put(keys.masterPlaylist(videoId), buildMasterPlaylist(playable), { httpMetadata: { contentType: HLS_CONTENT_TYPE } });
}

/** Names of the rungs this video must have to be READY, from its analysed size and the configured ladder. */
export function plannedRungNames(config: Config, width: number | null, height: number | null): string[] {
  if (!width || !height) return [];
  return planLadder(config.transcoding.ladder, width, height).map((r) => r.name);
}

/** PROCESSING → READY once every planned rung has a row and the thumbnails are done; true if this call moved it. */
export async function maybeMarkReady(env: Env, db: Db, config: Config, videoId: string): Promise<boolean> {
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, videoId)).get();
  if (!video || video.status !== 'PROCESSING') return false;
  const planned = plannedRungNames(config, video.width, video.height);
  if (planned.length === 0) return false;
  const have = new Set(
    (await db.select({ name: schema.renditions.name }).from(schema.renditions).where(eq(schema.renditions.videoId, videoId)).all()).map((r) => r.name),
  );
  if (!planned.every((name) => have.has(name))) return false;
  const thumbs = await db
    .select({ status: schema.transcodeJobs.status })
    .from(schema.transcodeJobs)
    .where(and(eq(schema.transcodeJobs.videoId, videoId), eq(schema.transcodeJobs.unit, 'thumbnails')))
    .get();
  if (thumbs?.status !== 'COMPLETED') return false;
  const now = runtime().now();
  const moved = await db
    .update(schema.videos)
    .set({ status: 'READY', readyAt: now, error: null, updatedAt: now })
    .where(and(eq(schema.videos.id, videoId), eq(schema.videos.status, 'PROCESSING')))
    .returning({ id: schema.videos.id });
  await invalidateVideo(videoId);
  if (moved.length === 0) return false;
  await onVideoReady(env, videoId);
  return true;
}

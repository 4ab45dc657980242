/**
 * What a creator stores: minutes of video (the durations of its videos that are not deleted; clips store no media
 * of their own and are not counted) and bytes in R2 (each video's `stored_bytes`: its original and every output, or
 * the original's size until the outputs are counted).
 *
 * A video's bytes are counted by listing its prefixes (`recountStoredBytes`) when it becomes READY and after each
 * later change of its objects (captions, MP4 downloads); a frame cut adds its JPEG's size. Bytes of uploads still in
 * progress are not counted (they become the original at completion).
 */
import { and, eq, isNull, ne, sql } from 'drizzle-orm';
import { recordStoredBytes } from '../metadata/repo';
import { schema, type Db } from '../shared/db';
import { originalBytes, prefixBytes } from '../shared/original';
import { keys } from '../shared/storage-keys';

export interface StoredTotals {
  minutesStored: number;
  bytesStored: number;
}

const videos = schema.videos;
const live = and(ne(videos.status, 'DELETED'), isNull(videos.clipOf));
const minutes = sql<number>`coalesce(sum(${videos.duration}), 0) / 60.0`;
const bytes = sql<number>`coalesce(sum(coalesce(${videos.storedBytes}, ${videos.sourceSize}, 0)), 0)`;

/** The creator's stored figures now. */
export async function storedTotals(db: Db, creatorId: string): Promise<StoredTotals> {
  const row = await db.select({ minutes, bytes }).from(videos).where(and(eq(videos.creatorId, creatorId), live)).get();
  return { minutesStored: row?.minutes ?? 0, bytesStored: row?.bytes ?? 0 };
}

/** Every creator's stored figures now (the usage snapshot and the operator's view). */
export async function storedTotalsByCreator(db: Db): Promise<Map<string, StoredTotals>> {
  const rows = await db.select({ creatorId: videos.creatorId, minutes, bytes }).from(videos).where(live).groupBy(videos.creatorId).all();
  return new Map(rows.map((r) => [r.creatorId, { minutesStored: r.minutes, bytesStored: r.bytes }]));
}

/** Lists the video's objects and records their total; returns it. */
export async function recountStoredBytes(env: Pick<Env, 'MEDIA'>, db: Db, videoId: string): Promise<number> {
  const total = (await originalBytes(env.MEDIA, videoId)) + (await prefixBytes(env.MEDIA, keys.videoPrefix(videoId)));
  await recordStoredBytes(db, videoId, total);
  return total;
}


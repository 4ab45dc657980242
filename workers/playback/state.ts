/**
 * What playback needs to know about a video on a cache miss: its status, owner, visibility and playable rungs,
 * read from D1 (not the metadata cache, whose copies may lag a status change by up to its TTL).
 *
 * Cache hits never read this: a valid signature plus a cached object is enough. Misses (including the concurrent
 * misses of a player's first seconds) share one D1 read per video per isolate for `stateTtlMs`, so a burst of
 * segment misses costs one query, not one per segment. Deletion forgets the entry at once in this isolate.
 */
import { eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import type { VideoRow } from '../metadata/serialize';
import { toPlayable, type PlayableRendition } from './manifest';

export interface PlaybackState {
  video: Pick<VideoRow, 'id' | 'status' | 'creatorId' | 'visibility' | 'duration'>;
  /** Finished rungs by name. */
  renditions: Map<string, PlayableRendition>;
}

export async function loadPlaybackState(db: Db, videoId: string): Promise<PlaybackState | null> {
  const [videos, rows] = await db.batch([
    db
      .select({
        id: schema.videos.id,
        status: schema.videos.status,
        creatorId: schema.videos.creatorId,
        visibility: schema.videos.visibility,
        duration: schema.videos.duration,
      })
      .from(schema.videos)
      .where(eq(schema.videos.id, videoId)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)),
  ]);
  const video = videos[0];
  if (!video) return null;
  const renditions = new Map<string, PlayableRendition>();
  for (const row of rows) {
    const playable = toPlayable(row);
    if (playable) renditions.set(playable.name, playable);
  }
  return { video, renditions };
}

const memo = new Map<string, { at: number; value: Promise<PlaybackState | null> }>();
const MEMO_LIMIT = 1000;

export function getPlaybackState(db: Db, videoId: string, ttlMs: number): Promise<PlaybackState | null> {
  const now = runtime().now();
  const hit = memo.get(videoId);
  if (hit && now - hit.at < ttlMs) return hit.value;
  if (memo.size >= MEMO_LIMIT) memo.clear();
  const value = loadPlaybackState(db, videoId);
  memo.set(videoId, { at: now, value });
  // A failed read must not be remembered.
  value.catch(() => memo.delete(videoId));
  return value;
}

export function forgetPlaybackState(videoId: string): void {
  memo.delete(videoId);
}

/** D1 access for video metadata. */
import { and, desc, eq, lt, ne, or } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import type { VideoRecord, VideoRow } from './serialize';

export async function loadVideoRecord(db: Db, videoId: string): Promise<VideoRecord | null> {
  const [videoRows, renditions, jobs, downloads] = await db.batch([
    db.select().from(schema.videos).where(eq(schema.videos.id, videoId)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)),
    db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, videoId)),
    db.select().from(schema.mediaDownloads).where(eq(schema.mediaDownloads.videoId, videoId)),
  ]);
  const video = videoRows[0];
  if (!video) return null;
  return { video, renditions, jobs, downloads };
}

export interface VideoPage {
  videos: VideoRow[];
  nextCursor: string | null;
}

/** Keyset pagination on (created_at, id), newest first; the cursor is opaque to clients. */
export async function listCreatorVideos(db: Db, creatorId: string, limit: number, cursor: string | null): Promise<VideoPage> {
  const conditions = [eq(schema.videos.creatorId, creatorId), ne(schema.videos.status, 'DELETED')];
  if (cursor) {
    const [createdAt, id] = decodeCursor(cursor);
    conditions.push(
      or(lt(schema.videos.createdAt, createdAt), and(eq(schema.videos.createdAt, createdAt), lt(schema.videos.id, id)))!,
    );
  }
  const rows = await db
    .select()
    .from(schema.videos)
    .where(and(...conditions))
    .orderBy(desc(schema.videos.createdAt), desc(schema.videos.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { videos: page, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
}

function encodeCursor(createdAt: number, id: string): string {
  return btoa(`${createdAt}:${id}`).replace(/=+$/, '');
}

export function decodeCursor(cursor: string): [number, string] {
  let decoded: string;
  try {
    decoded = atob(cursor);
  } catch {
    throw new CursorError();
  }
  const m = /^(\d{1,16}):([A-Za-z0-9_-]{1,64})$/.exec(decoded);
  if (!m) throw new CursorError();
  return [Number(m[1]), m[2]!];
}

export class CursorError extends Error {
  constructor() {
    super('invalid cursor');
  }
}

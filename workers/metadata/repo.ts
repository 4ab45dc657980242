/**
 * D1 access for video metadata, and the writer of a video row's columns other than its status (which only
 * video-state.ts writes) and its view count (which the views area's flush adds to atomically with the hourly
 * aggregates, workers/views/flush.ts): a creator's edits, the source facts from analysis, the bytes it stores, when
 * its original was deleted.
 */
import { and, desc, eq, inArray, isNull, lt, ne, or, sql } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import type { VideoRecord, VideoRow } from './serialize';

type VideoUpdate = Partial<typeof schema.videos.$inferInsert>;

export interface VideoEdit {
  title?: string;
  description?: string;
  visibility?: VideoUpdate['visibility'];
  posterTime?: number | null;
  requireSignedURLs?: boolean;
  allowedOrigins?: string[] | null;
  /** ms since the epoch (checked by scheduled-deletion.ts), or null to cancel. */
  scheduledDeletion?: number | null;
  originalLanguage?: string;
}

/** A creator's edit: the caller invalidates the metadata cache and emits `video.updated`. */
export async function editVideo(db: Db, videoId: string, edit: VideoEdit): Promise<void> {
  const { requireSignedURLs, allowedOrigins, ...plain } = edit;
  const origins = allowedOrigins === undefined ? {} : { allowedOrigins: allowedOrigins && allowedOrigins.length > 0 ? JSON.stringify(allowedOrigins.map((o) => new URL(o).origin)) : null };
  const signed = requireSignedURLs === undefined ? {} : { requireSignedUrls: requireSignedURLs };
  await db.update(schema.videos).set({ ...plain, ...origins, ...signed, updatedAt: runtime().now() }).where(eq(schema.videos.id, videoId));
}

/** The bytes the video keeps in R2, as workers/usage/stored.ts counted them (`delta`: a known addition). */
export async function recordStoredBytes(db: Db, videoId: string, bytes: number): Promise<void> {
  await db.update(schema.videos).set({ storedBytes: bytes }).where(eq(schema.videos.id, videoId));
}

/**
 * The original of these READY videos is about to be deleted under retention: marks each that is still READY with
 * its original kept (a compare-and-set, so a video a retry just took back to PROCESSING keeps its original);
 * returns the ids marked.
 */
export async function markOriginalsDeleted(db: Db, videoIds: string[], now: number): Promise<string[]> {
  if (videoIds.length === 0) return [];
  const rows = await db
    .update(schema.videos)
    .set({ originalDeletedAt: now })
    .where(and(inArray(schema.videos.id, videoIds), eq(schema.videos.status, 'READY'), isNull(schema.videos.originalDeletedAt)))
    .returning({ id: schema.videos.id });
  return rows.map((r) => r.id);
}

/** The deletion of this video's original failed: it is kept, and the next run tries again. */
export async function unmarkOriginalDeleted(db: Db, videoId: string): Promise<void> {
  await db.update(schema.videos).set({ originalDeletedAt: null }).where(eq(schema.videos.id, videoId));
}

export async function addStoredBytes(db: Db, videoId: string, delta: number): Promise<void> {
  await db
    .update(schema.videos)
    .set({ storedBytes: sql`coalesce(${schema.videos.storedBytes}, ${schema.videos.sourceSize}, 0) + ${delta}` })
    .where(eq(schema.videos.id, videoId));
}

/** What analysis found in the original (ffprobe): length, picture, codecs. */
export async function recordSourceFacts(
  db: Db,
  videoId: string,
  facts: Pick<Required<VideoUpdate>, 'duration' | 'width' | 'height' | 'rotation' | 'frameRate' | 'hasAudio' | 'videoCodec' | 'audioCodec'>,
): Promise<void> {
  const { duration, width, height, rotation, frameRate, hasAudio, videoCodec, audioCodec } = facts;
  await db
    .update(schema.videos)
    .set({ duration, width, height, rotation, frameRate, hasAudio, videoCodec, audioCodec, updatedAt: runtime().now() })
    .where(eq(schema.videos.id, videoId));
}

/** How the video's ladder rate control was decided (workers/transcoding/ladder.ts `LadderDecision`, as JSON). */
export async function recordLadderDecision(db: Db, videoId: string, decision: unknown): Promise<void> {
  await db.update(schema.videos).set({ ladder: JSON.stringify(decision), updatedAt: runtime().now() }).where(eq(schema.videos.id, videoId));
}

export async function loadVideoRecord(db: Db, videoId: string): Promise<VideoRecord | null> {
  const [videoRows, renditions, jobs, downloads, imports] = await db.batch([
    db.select().from(schema.videos).where(eq(schema.videos.id, videoId)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)),
    db.select().from(schema.transcodeJobs).where(eq(schema.transcodeJobs.videoId, videoId)),
    db.select().from(schema.mediaDownloads).where(eq(schema.mediaDownloads.videoId, videoId)),
    db.select().from(schema.videoImports).where(eq(schema.videoImports.videoId, videoId)),
  ]);
  const video = videoRows[0];
  if (!video) return null;
  return { video, renditions, jobs, downloads, importJob: imports[0] ?? null };
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

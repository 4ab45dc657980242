/**
 * What playback needs to know about a video on a cache miss: its status, owner, visibility, playable rungs and
 * caption tracks, read from D1 (not the metadata cache, whose copies may lag a status change by up to its TTL).
 *
 * Cache hits never read this: a valid signature plus a cached object is enough. Misses (including the concurrent
 * misses of a player's first seconds) share one D1 read per video per isolate for `stateTtlMs`, so a burst of
 * segment misses costs one query, not one per segment. Deletion forgets the entry at once in this isolate.
 *
 * A clip (workers/clips) has no rungs of its own: its rungs are windows onto its source's current rungs, and
 * `segmentsOf` names the video whose segment objects they are.
 */
import { asc, eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import type { VideoRow } from '../metadata/serialize';
import { clipRenditions } from './clip-window';
import { toPlayable, type PlayableRendition } from './manifest';

export interface CaptionTrackState {
  lang: string;
  label: string;
  isDefault: boolean;
}

export interface PlaybackState {
  video: Pick<VideoRow, 'id' | 'status' | 'creatorId' | 'visibility' | 'duration' | 'posterTime' | 'frameRate' | 'clipOf' | 'clipStart' | 'clipEnd' | 'liveInputId'>;
  /** Finished rungs by name. */
  renditions: Map<string, PlayableRendition>;
  captions: CaptionTrackState[];
  /** The video whose R2 segments the rungs list: the video itself, or a clip's source. */
  segmentsOf: string;
}

const videoColumns = {
  id: schema.videos.id,
  status: schema.videos.status,
  creatorId: schema.videos.creatorId,
  visibility: schema.videos.visibility,
  duration: schema.videos.duration,
  posterTime: schema.videos.posterTime,
  frameRate: schema.videos.frameRate,
  clipOf: schema.videos.clipOf,
  clipStart: schema.videos.clipStart,
  clipEnd: schema.videos.clipEnd,
  liveInputId: schema.videos.liveInputId,
};

function playableRungs(rows: Parameters<typeof toPlayable>[0][]): Map<string, PlayableRendition> {
  const renditions = new Map<string, PlayableRendition>();
  for (const row of rows) {
    const playable = toPlayable(row);
    if (playable) renditions.set(playable.name, playable);
  }
  return renditions;
}

export async function loadPlaybackState(db: Db, videoId: string): Promise<PlaybackState | null> {
  const [videos, rows, captionRows] = await db.batch([
    db.select(videoColumns).from(schema.videos).where(eq(schema.videos.id, videoId)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)),
    db
      .select({ lang: schema.captions.lang, label: schema.captions.label, isDefault: schema.captions.isDefault })
      .from(schema.captions)
      .where(eq(schema.captions.videoId, videoId))
      .orderBy(asc(schema.captions.lang)),
  ]);
  const video = videos[0];
  if (!video) return null;
  if (!video.clipOf || video.clipStart === null || video.clipEnd === null) {
    return { video, renditions: playableRungs(rows), captions: captionRows, segmentsOf: videoId };
  }
  const [sources, sourceRows] = await db.batch([
    db.select({ status: schema.videos.status }).from(schema.videos).where(eq(schema.videos.id, video.clipOf)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, video.clipOf)),
  ]);
  // A deleted source takes its clips with it (workers/clips/hooks.ts); until that has run, nothing plays.
  const sourceGone = !sources[0] || sources[0].status === 'DELETED';
  const renditions = sourceGone ? new Map<string, PlayableRendition>() : clipRenditions(playableRungs(sourceRows).values(), video.clipStart, video.clipEnd);
  return { video, renditions, captions: captionRows, segmentsOf: video.clipOf };
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

/**
 * What playback needs to know about a video on a cache miss: its status, owner, visibility, playable rungs and
 * caption tracks, read from D1 (not the metadata cache, whose copies may lag a status change by up to its TTL).
 *
 * Cache hits never read this: a valid signature plus a cached object is enough. A read is kept per video per isolate
 * for `stateTtlMs`, so a player's segment misses cost one read, not one per segment; misses that arrive together
 * before the first read has landed each read (a read in flight is never shared: shared/shared-work.ts). Deletion
 * and rendition changes forget the entry at once in this isolate.
 *
 * A clip (workers/clips) has no rungs of its own: its rungs are windows onto its source's current rungs, and
 * `segmentsOf` names the video whose segment objects they are.
 */
import { and, asc, eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { audioTrackRendition } from '../shared/storage-keys';
import { parseSegmentDurations, type VideoRow } from '../metadata/serialize';
import { clipRenditions } from './clip-window';
import { toPlayable, type PlayableRendition } from './manifest';

export interface CaptionTrackState {
  lang: string;
  label: string;
  isDefault: boolean;
}

/** An extra audio track that is encoded: its rendition (`audio_{lang}`) is in `renditions` beside the main `audio`. */
export interface AudioTrackState {
  lang: string;
  label: string;
  isDefault: boolean;
  rendition: string;
}

export interface PlaybackState {
  video: Pick<VideoRow, 'id' | 'status' | 'creatorId' | 'visibility' | 'duration' | 'posterTime' | 'frameRate' | 'clipOf' | 'clipStart' | 'clipEnd' | 'liveInputId' | 'originalLanguage'>;
  /** Finished rungs by name, the main audio (`audio`) and the encoded extra audio tracks (`audio_{lang}`). */
  renditions: Map<string, PlayableRendition>;
  captions: CaptionTrackState[];
  /** Encoded extra audio tracks, by language (a clip's are its source's). */
  audioTracks: AudioTrackState[];
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
  originalLanguage: schema.videos.originalLanguage,
};

type AudioTrackRow = typeof schema.audioTracks.$inferSelect;

/** COMPLETED extra audio tracks of a video, as renditions (the same facts `renditions` rows hold) and their labels. */
function audioTrackRenditions(rows: AudioTrackRow[]): { tracks: AudioTrackState[]; renditions: PlayableRendition[] } {
  const tracks: AudioTrackState[] = [];
  const renditions: PlayableRendition[] = [];
  for (const row of rows) {
    const segmentDurations = row.segmentDurations ? parseSegmentDurations(row.segmentDurations) : null;
    if (!segmentDurations || !row.codecs || !row.packaging) continue;
    const name = audioTrackRendition(row.lang);
    tracks.push({ lang: row.lang, label: row.label, isDefault: row.isDefault, rendition: name });
    renditions.push({
      name, width: 0, height: 0, bandwidth: row.bandwidth ?? 0, averageBandwidth: row.averageBandwidth ?? 0, codecs: row.codecs, frameRate: null,
      segmentDurations, kind: 'audio', complete: true, packaging: row.packaging,
    });
  }
  return { tracks, renditions };
}

const completedTracks = (db: Db, videoId: string) =>
  db.select().from(schema.audioTracks).where(and(eq(schema.audioTracks.videoId, videoId), eq(schema.audioTracks.status, 'COMPLETED'))).orderBy(asc(schema.audioTracks.lang));

function playableRungs(rows: Parameters<typeof toPlayable>[0][], extra: PlayableRendition[]): Map<string, PlayableRendition> {
  const renditions = new Map<string, PlayableRendition>();
  for (const row of rows) {
    const playable = toPlayable(row);
    if (playable) renditions.set(playable.name, playable);
  }
  for (const r of extra) renditions.set(r.name, r);
  return renditions;
}

export async function loadPlaybackState(db: Db, videoId: string): Promise<PlaybackState | null> {
  const [videos, rows, captionRows, trackRows] = await db.batch([
    db.select(videoColumns).from(schema.videos).where(eq(schema.videos.id, videoId)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, videoId)),
    db
      .select({ lang: schema.captions.lang, label: schema.captions.label, isDefault: schema.captions.isDefault })
      .from(schema.captions)
      .where(eq(schema.captions.videoId, videoId))
      .orderBy(asc(schema.captions.lang)),
    completedTracks(db, videoId),
  ]);
  const video = videos[0];
  if (!video) return null;
  if (!video.clipOf || video.clipStart === null || video.clipEnd === null) {
    const own = audioTrackRenditions(trackRows);
    return { video, renditions: playableRungs(rows, own.renditions), captions: captionRows, audioTracks: own.tracks, segmentsOf: videoId };
  }
  // A clip carries every audio track of its source (and the source's original language): windows of them, as of its rungs.
  const [sources, sourceRows, sourceTrackRows] = await db.batch([
    db.select({ status: schema.videos.status, originalLanguage: schema.videos.originalLanguage }).from(schema.videos).where(eq(schema.videos.id, video.clipOf)),
    db.select().from(schema.renditions).where(eq(schema.renditions.videoId, video.clipOf)),
    completedTracks(db, video.clipOf),
  ]);
  // A deleted source takes its clips with it (workers/clips/hooks.ts); until that has run, nothing plays.
  const sourceGone = !sources[0] || sources[0].status === 'DELETED';
  const sourceTracks = audioTrackRenditions(sourceTrackRows);
  const renditions = sourceGone ? new Map<string, PlayableRendition>() : clipRenditions(playableRungs(sourceRows, sourceTracks.renditions).values(), video.clipStart, video.clipEnd);
  const clipVideo = { ...video, originalLanguage: sources[0]?.originalLanguage ?? video.originalLanguage };
  return { video: clipVideo, renditions, captions: captionRows, audioTracks: sourceGone ? [] : sourceTracks.tracks, segmentsOf: video.clipOf };
}

const memo = new Map<string, { at: number; value: PlaybackState | null }>();
const MEMO_LIMIT = 1000;
/** Bumped by every `forgetPlaybackState`: a read that started before a forget is not kept. */
let forgets = 0;

/**
 * The video's state, from this isolate's memo when it is younger than `ttlMs` and `current` (if given) accepts it.
 * A segment of a growing rung uses `current` to read again when the memo is older than the segment (the playlist that
 * listed it was read fresh).
 */
export async function getPlaybackState(db: Db, videoId: string, ttlMs: number, current?: (state: PlaybackState | null) => boolean): Promise<PlaybackState | null> {
  const now = runtime().now();
  const hit = memo.get(videoId);
  if (hit && now - hit.at < ttlMs && (!current || current(hit.value))) return hit.value;
  const before = forgets;
  const value = await loadPlaybackState(db, videoId); // a failed read throws and is not kept
  if (forgets === before) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(videoId, { at: now, value });
  }
  return value;
}

/** Whether `state` knows segment `index` of `rendition`, or knows that it will never exist (the rung is complete). */
export function knowsSegment(state: PlaybackState | null, rendition: string, index: number): boolean {
  // Only a video still processing (a growing rung, a live broadcast) gains rungs and segments.
  if (!state || state.video.status !== 'PROCESSING') return true;
  const r = state.renditions.get(rendition);
  return r !== undefined && (r.complete || index < (r.firstSegment ?? 0) + r.segmentDurations.length);
}

export function forgetPlaybackState(videoId: string): void {
  forgets++;
  memo.delete(videoId);
}

/**
 * The video state machine: the only module that writes `videos.status` (PeerTube's `video-state.ts` is the model).
 * It lives in `metadata/` because this area owns the `videos` row and the metadata cache every status change must
 * invalidate; the areas that cause a change (uploads, transcoding, clips, deletion) call the function named after it.
 *
 *   (new) ──create──▶ UPLOADING ──uploadCompleted──▶ PROCESSING ──ready──▶ READY
 *                         │                             │    ▲               │
 *                    uploadEmpty                       fail   └─reprocess────┘ (also FAILED → PROCESSING)
 *                         ▼                             ▼
 *                       FAILED ◀────────────────────────┘
 *   any state but DELETED ──delete──▶ DELETED (final)
 *   (new) ──createClip──▶ READY (a clip plays its source's segments: nothing to upload or encode)
 *   (new) ──goLive──▶ PROCESSING (a live broadcast's recording: its rung grows as the broadcaster pushes segments,
 *                     the same growing, ENDLIST-less rung a chunked encode shows; `ready` when the broadcast ends)
 *
 * Each move is one compare-and-set UPDATE on its legal source states (`TRANSITIONS`), so of two concurrent callers
 * one wins and the other gets `false`; an illegal move (DELETED → READY) changes nothing. The winner, and only the
 * winner, invalidates the metadata cache and emits the move's lifecycle event (`workers/lifecycle.ts`), so no caller
 * can forget either and none can emit twice. Columns that are not the status (title, facts from analysis,
 * renditions) are written by their areas as before.
 */
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { VideoStatus } from '../../schema/schema';
import { emitLifecycleEvent, type LifecycleEvent } from '../lifecycle';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { invalidateVideo } from './cache';

type VideoInsert = typeof schema.videos.$inferInsert;
type Columns = Partial<Omit<VideoInsert, 'id' | 'status' | 'updatedAt'>>;

interface Transition {
  readonly from: readonly VideoStatus[];
  readonly to: VideoStatus;
  /** The lifecycle event the winning caller emits (none for a move nobody outside this area reacts to). */
  readonly event: LifecycleEvent | null;
  /** Only for a video whose original is kept (not deleted under retention): the move re-encodes from it. */
  readonly needsOriginal?: boolean;
}

const LIVE: readonly VideoStatus[] = ['UPLOADING', 'PROCESSING', 'READY', 'FAILED'];

/**
 * Every legal move. Anything not listed is refused. `create` and `createClip` insert the row (no source state).
 * - `uploadCompleted`: the original is stored and verified; the analysis is queued with the move.
 * - `uploadEmpty`: a 0-byte original can never be a video, so it fails at once instead of queueing an analysis.
 * - `uploadFailed`: the original could not be obtained (an import from a URL failed for good).
 * - `ready`: every planned rung, the audio rendition and the thumbnails are complete (transcoding/outputs.ts).
 * - `fail`: a job failed for good. Only a PROCESSING video moves: a READY video keeps playing.
 * - `reprocess`: a creator retries a rendition; READY is a source because a retry may add a rung to a READY video.
 *   PROCESSING is a source too (a retry while other units still run) and then only clears the error. No event.
 *   Only while the original is kept: a retention run that marked it deleted wins over a retry, and the reverse.
 * - `delete`: from any live state, once; the row stays as DELETED so ids and stats stay consistent.
 * - `createClip`: no `video.ready` event — the clip is answered at once (201) and its media is its source's.
 */
export const TRANSITIONS = {
  uploadCompleted: { from: ['UPLOADING'], to: 'PROCESSING', event: 'upload.completed' },
  uploadEmpty: { from: ['UPLOADING'], to: 'FAILED', event: 'video.failed' },
  uploadFailed: { from: ['UPLOADING'], to: 'FAILED', event: 'video.failed' },
  ready: { from: ['PROCESSING'], to: 'READY', event: 'video.ready' },
  fail: { from: ['PROCESSING'], to: 'FAILED', event: 'video.failed' },
  reprocess: { from: ['FAILED', 'PROCESSING', 'READY'], to: 'PROCESSING', event: null, needsOriginal: true },
  delete: { from: LIVE, to: 'DELETED', event: 'video.deleted' },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** The pure rule: the state `name` leads to from `from`, or null when the move is not legal there. */
export function nextVideoState(from: VideoStatus, name: TransitionName): VideoStatus | null {
  const t: Transition = TRANSITIONS[name];
  return t.from.includes(from) ? t.to : null;
}

/**
 * The compare-and-set. `alsoOnMove` is work that belongs to the move and must happen only for the winner, before
 * the event (queueing the analysis); the cache is invalidated after it, even if it throws.
 */
async function move(env: Env, db: Db, videoId: string, name: TransitionName, columns: Columns = {}, alsoOnMove?: () => Promise<void>): Promise<boolean> {
  const t: Transition = TRANSITIONS[name];
  const moved = await db
    .update(schema.videos)
    .set({ ...columns, status: t.to, updatedAt: runtime().now() })
    .where(and(eq(schema.videos.id, videoId), inArray(schema.videos.status, [...t.from]), t.needsOriginal ? isNull(schema.videos.originalDeletedAt) : undefined))
    .returning({ id: schema.videos.id });
  if (moved.length === 0) return false;
  try {
    await alsoOnMove?.();
  } finally {
    await invalidateVideo(videoId);
  }
  if (t.event) await emitLifecycleEvent(env, t.event, videoId);
  return true;
}

type NewVideo = Pick<VideoInsert, 'id' | 'creatorId' | 'title' | 'createdAt'> &
  Partial<Pick<VideoInsert, 'description' | 'visibility' | 'scheduledDeletion' | 'originalLanguage' | 'ladderMode' | 'packaging' | 'codecs'>>;

/**
 * (new) → UPLOADING. Returns the INSERT unexecuted so a caller may put it in a D1 batch with its own rows (a direct
 * upload's capability); await it otherwise. A new row has nothing cached and no event.
 */
export function insertUploadingVideo(db: Db, video: NewVideo) {
  return db.insert(schema.videos).values({ description: '', visibility: 'public', ...video, status: 'UPLOADING', updatedAt: video.createdAt });
}

/** (new) → READY for an instant clip: `columns` carry its facts, copied from the source. */
export async function insertReadyClip(db: Db, video: NewVideo & Columns): Promise<void> {
  await db.insert(schema.videos).values({ ...video, status: 'READY', updatedAt: video.createdAt, readyAt: video.createdAt });
}

/**
 * (new) → PROCESSING for a live broadcast's recording (workers/live). PROCESSING is the status of a video whose
 * rungs are still growing, which is what a live video is: playback, views and deletion treat it as they treat a
 * video mid-encode, and the broadcast's end is the ordinary `ready` move (or `delete` when nothing is recorded).
 */
export async function insertLiveVideo(db: Db, video: NewVideo & Pick<VideoInsert, 'liveInputId' | 'width' | 'height'>): Promise<void> {
  await db.insert(schema.videos).values({ description: '', visibility: 'public', ...video, status: 'PROCESSING', updatedAt: video.createdAt });
}

/** UPLOADING → PROCESSING with the original's facts; `enqueue` queues the analysis. Emits `upload.completed`. */
export function markUploadCompleted(env: Env, db: Db, videoId: string, facts: { sourceSize: number; sourceSha256: string | null }, enqueue: () => Promise<void>): Promise<boolean> {
  return move(env, db, videoId, 'uploadCompleted', { ...facts, error: null }, enqueue);
}

/** UPLOADING → FAILED for an empty original. Emits `video.failed`. */
export function markUploadEmpty(env: Env, db: Db, videoId: string): Promise<boolean> {
  return move(env, db, videoId, 'uploadEmpty', { sourceSize: 0, error: 'the upload was empty (0 bytes): there is no video to process' });
}

/** UPLOADING → FAILED when the original could not be obtained (an import from a URL). Emits `video.failed`. */
export function markUploadFailed(env: Env, db: Db, videoId: string, reason: string): Promise<boolean> {
  return move(env, db, videoId, 'uploadFailed', { error: reason.slice(0, 1000) });
}

/** PROCESSING → READY. Emits `video.ready` (cache warming, webhook). */
export function markReady(env: Env, db: Db, videoId: string, columns: Columns = {}): Promise<boolean> {
  return move(env, db, videoId, 'ready', { ...columns, readyAt: runtime().now(), error: null });
}

/** PROCESSING → FAILED with a reason the creator can read. Emits `video.failed`. Safe to repeat. */
export function failVideo(env: Env, db: Db, videoId: string, reason: string): Promise<boolean> {
  return move(env, db, videoId, 'fail', { error: reason.slice(0, 1000) });
}

/** FAILED / PROCESSING / READY → PROCESSING for a retried rendition; the error is cleared. */
export function reprocessVideo(env: Env, db: Db, videoId: string): Promise<boolean> {
  return move(env, db, videoId, 'reprocess', { error: null });
}

/** Any live state → DELETED. Emits `video.deleted` (purges, upload abort, clips, webhook) once. */
export function markDeleted(env: Env, db: Db, videoId: string): Promise<boolean> {
  const now = runtime().now();
  return move(env, db, videoId, 'delete', { deletedAt: now });
}

/**
 * `audio_tracks` rows: one per (video, language), the track's label, default flag and the job state of its encode.
 * This module is the only writer of the table. The job follows the shared leased-work state machine
 * (workers/shared/leased-work.ts); a new file for a language puts its row back to PENDING with what it said before
 * cleared. Every change invalidates the metadata cache.
 */
import { and, asc, eq, ne, type InferSelectModel } from 'drizzle-orm';
import { invalidateVideo } from '../metadata/cache';
import { schema, type Db } from '../shared/db';
import { leasedWork, type ClaimOutcome } from '../shared/leased-work';
import { runtime } from '../shared/runtime';
import type { AudioResult } from '../../containers/transcoder/src/protocol';
import type { Packaging } from '../../schema/schema';

export type AudioTrackRow = InferSelectModel<typeof schema.audioTracks>;

const table = schema.audioTracks;
const byKey = (videoId: string, lang: string) => and(eq(table.videoId, videoId), eq(table.lang, lang));
const lease = leasedWork<typeof table, AudioTrackRow>(table);

export async function getAudioTrack(db: Db, videoId: string, lang: string): Promise<AudioTrackRow | undefined> {
  return db.select().from(table).where(byKey(videoId, lang)).get();
}

export async function listAudioTracks(db: Db, videoId: string): Promise<AudioTrackRow[]> {
  return db.select().from(table).where(eq(table.videoId, videoId)).orderBy(asc(table.lang));
}

export interface TrackRequest {
  videoId: string;
  lang: string;
  label: string;
  /** Undefined keeps the flag a replaced track had (false for a new one). */
  isDefault: boolean | undefined;
  sourceUrl: string | null;
}

/**
 * Creates the track PENDING, or puts an existing one back to PENDING for its new file. A default track takes the
 * flag from the others in the same batch: one default per video.
 */
export async function requestAudioTrack(db: Db, t: TrackRequest): Promise<AudioTrackRow> {
  const now = runtime().now();
  const existing = await getAudioTrack(db, t.videoId, t.lang);
  const isDefault = t.isDefault ?? existing?.isDefault ?? false;
  const fresh = {
    label: t.label, isDefault, status: 'PENDING' as const, progress: 0, attempts: 0, error: null, leaseUntil: null, startedAt: null,
    sourceUrl: t.sourceUrl, inputDuration: null, warning: null, packaging: null, codecs: null, bandwidth: null, averageBandwidth: null,
    segmentDurations: null, bytes: null, updatedAt: now, completedAt: null,
  };
  const upsert = db.insert(table).values({ videoId: t.videoId, lang: t.lang, createdAt: now, ...fresh }).onConflictDoUpdate({ target: [table.videoId, table.lang], set: fresh });
  if (isDefault) await db.batch([upsert, db.update(table).set({ isDefault: false, updatedAt: now }).where(and(eq(table.videoId, t.videoId), ne(table.lang, t.lang)))]);
  else await upsert;
  await invalidateVideo(t.videoId);
  return (await getAudioTrack(db, t.videoId, t.lang))!;
}

export async function countAudioTracks(db: Db, videoId: string): Promise<number> {
  return (await listAudioTracks(db, videoId)).length;
}

export async function claimAudioTrack(db: Db, videoId: string, lang: string, leaseMs: number): Promise<ClaimOutcome<AudioTrackRow>> {
  const claimed = await lease.claim(db, byKey(videoId, lang), leaseMs);
  if (claimed.status === 'claimed') await invalidateVideo(videoId);
  return claimed;
}

export async function reportAudioTrackProgress(db: Db, row: AudioTrackRow, progress: number, leaseMs: number): Promise<void> {
  await lease.heartbeat(db, byKey(row.videoId, row.lang), row, progress, leaseMs);
}

export interface EncodedTrack {
  result: AudioResult;
  packaging: Packaging;
  warning: string | null;
}

/** PROCESSING → COMPLETED for this run only, with the encoded rendition's facts. */
export async function completeAudioTrack(db: Db, row: AudioTrackRow, t: EncodedTrack): Promise<boolean> {
  const r = t.result;
  const done = await lease.complete(db, byKey(row.videoId, row.lang), row, {
    inputDuration: r.inputDuration ?? null, warning: t.warning, packaging: t.packaging, codecs: r.codecs, bandwidth: Math.round(r.bandwidth),
    averageBandwidth: Math.round(r.averageBandwidth), segmentDurations: JSON.stringify(r.segmentDurations), bytes: r.totalBytes,
  });
  await invalidateVideo(row.videoId);
  return done;
}

/** Transient failure: back to PENDING with the error kept for display (the queue retries). */
export async function releaseAudioTrack(db: Db, row: AudioTrackRow, error: string): Promise<void> {
  await lease.release(db, byKey(row.videoId, row.lang), row, error);
  await invalidateVideo(row.videoId);
}

export async function failAudioTrack(db: Db, videoId: string, lang: string, error: string): Promise<void> {
  await lease.fail(db, byKey(videoId, lang), error);
  await invalidateVideo(videoId);
}

export async function deleteAudioTrack(db: Db, videoId: string, lang: string): Promise<boolean> {
  const deleted = await db.delete(table).where(byKey(videoId, lang)).returning({ lang: table.lang });
  await invalidateVideo(videoId);
  return deleted.length > 0;
}

/** The video was deleted: its unfinished tracks are CANCELLED (their files go with the video's prefixes). */
export async function cancelAudioTracksOfVideo(db: Db, videoId: string): Promise<number> {
  return lease.cancel(db, eq(table.videoId, videoId), 'the video was deleted');
}

/**
 * Hands a fully uploaded original to the transcoding pipeline: video PROCESSING, an `analyze` job row PENDING,
 * and one `analyze` message on the queue. Called by upload completion (chunk API and tus) after the R2 object is
 * assembled and verified. Idempotent: a second call for a video already past UPLOADING enqueues nothing.
 */
import { and, eq } from 'drizzle-orm';
import { schema, type Db } from '../shared/db';
import { newId, runtime } from '../shared/runtime';
import { invalidateVideo } from '../metadata/cache';
import type { TranscodeMessage } from './messages';

export interface SourceFacts {
  sourceSize: number;
  sourceSha256?: string | null;
}

/** Returns true when this call moved the video to PROCESSING and enqueued work; false when it already had. */
export async function startProcessing(env: Env, db: Db, videoId: string, facts: SourceFacts): Promise<boolean> {
  const now = runtime().now();
  // The status guard makes this a compare-and-set: only one caller wins the UPLOADING → PROCESSING move.
  const moved = await db
    .update(schema.videos)
    .set({ status: 'PROCESSING', sourceSize: facts.sourceSize, sourceSha256: facts.sourceSha256 ?? null, error: null, updatedAt: now })
    .where(and(eq(schema.videos.id, videoId), eq(schema.videos.status, 'UPLOADING')))
    .returning({ id: schema.videos.id });
  if (moved.length === 0) return false;
  await db
    .insert(schema.transcodeJobs)
    .values({ id: newId('job'), videoId, unit: 'analyze', status: 'PENDING', createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [schema.transcodeJobs.videoId, schema.transcodeJobs.unit],
      set: { status: 'PENDING', error: null, updatedAt: now },
    });
  await invalidateVideo(videoId);
  const message: TranscodeMessage = { type: 'analyze', videoId };
  await env.TRANSCODE_QUEUE.send(message, { contentType: 'json' });
  return true;
}

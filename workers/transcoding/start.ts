/**
 * Hands a fully uploaded original to the transcoding pipeline: video PROCESSING (the state machine's
 * `uploadCompleted` move, which emits `upload.completed`), an `analyze` job row PENDING, and one `analyze` message on
 * the queue. Called by upload completion (chunk API and tus) after the R2 object is assembled and verified, and by
 * the operator route. Idempotent: a second call for a video already past UPLOADING enqueues nothing.
 */
import type { Db } from '../shared/db';
import { queueAnalysisJob } from './jobs';
import { markUploadCompleted } from '../metadata/video-state';
import { enqueueTranscode } from './messages';

export interface SourceFacts {
  sourceSize: number;
  sourceSha256?: string | null;
}

/** Returns true when this call moved the video to PROCESSING and enqueued work; false when it already had. */
export async function startProcessing(env: Env, db: Db, videoId: string, facts: SourceFacts): Promise<boolean> {
  // A compare-and-set: only one caller wins the UPLOADING → PROCESSING move, and only the winner queues the analysis.
  return markUploadCompleted(env, db, videoId, { sourceSize: facts.sourceSize, sourceSha256: facts.sourceSha256 ?? null }, async () => {
    await queueAnalysisJob(db, videoId);
    await enqueueTranscode(env, { type: 'analyze', videoId });
  });
}

/**
 * Lifecycle rules of direct uploads (wired in workers/lifecycle-hooks.ts): a completed upload spends its URL, and a
 * source longer than the URL's `maxDurationSeconds` fails right after analysis (before any encode) with a reason
 * the creator can read.
 */
import { openDb } from '../shared/db';
import type { AnalysedFacts } from '../lifecycle';
import { directUploadOfVideo, markCompleted } from './capability';

/** `upload.completed`: the URL is single use. */
export async function markDirectUploadSpent(env: Env, videoId: string): Promise<void> {
  await markCompleted(openDb(env.DB), videoId);
}

/** Analysis check: a reason to refuse a source longer than its direct upload allows, or null. */
export async function refuseOverMaxDuration(env: Env, videoId: string, facts: AnalysedFacts): Promise<string | null> {
  const row = await directUploadOfVideo(openDb(env.DB), videoId);
  if (!row || row.maxDurationSeconds === null || facts.duration <= row.maxDurationSeconds) return null;
  return `the video is ${facts.duration.toFixed(1)} s long, longer than the ${row.maxDurationSeconds} s this direct upload allows (maxDurationSeconds)`;
}

/**
 * Lifecycle rules of direct uploads: a completed upload spends its URL, and a source longer than the URL's
 * `maxDurationSeconds` fails right after analysis (before any encode) with a reason the creator can read.
 */
import { registerAnalysisCheck, registerUploadCompletedHook } from '../lifecycle';
import { openDb } from '../shared/db';
import { directUploadOfVideo, markCompleted } from './capability';

registerUploadCompletedHook(async (env, videoId) => {
  await markCompleted(openDb(env.DB), videoId);
});

registerAnalysisCheck(async (env, videoId, facts) => {
  const row = await directUploadOfVideo(openDb(env.DB), videoId);
  if (!row || row.maxDurationSeconds === null || facts.duration <= row.maxDurationSeconds) return null;
  return `the video is ${facts.duration.toFixed(1)} s long, longer than the ${row.maxDurationSeconds} s this direct upload allows (maxDurationSeconds)`;
});

/**
 * Cross-area lifecycle steps. Each area registers what it must do when a video becomes ready or is deleted
 * (cache warming, upload-session cleanup, cache purge); the areas that cause these events call them.
 */
export type VideoHook = (env: Env, videoId: string) => Promise<void>;

const readyHooks: VideoHook[] = [];
const deletedHooks: VideoHook[] = [];
const failedHooks: VideoHook[] = [];
const uploadCompletedHooks: VideoHook[] = [];

/** Facts from analysis that a check may refuse (e.g. a direct upload's maxDurationSeconds). */
export interface AnalysedFacts {
  duration: number;
}
/** Returns a reason to fail the video, or null to let transcoding go on. */
export type AnalysisCheck = (env: Env, videoId: string, facts: AnalysedFacts) => Promise<string | null>;
const analysisChecks: AnalysisCheck[] = [];

export function registerVideoFailedHook(hook: VideoHook): void {
  failedHooks.push(hook);
}

export function registerUploadCompletedHook(hook: VideoHook): void {
  uploadCompletedHooks.push(hook);
}

export function registerAnalysisCheck(check: AnalysisCheck): void {
  analysisChecks.push(check);
}

export function registerVideoReadyHook(hook: VideoHook): void {
  readyHooks.push(hook);
}

export function registerVideoDeletedHook(hook: VideoHook): void {
  deletedHooks.push(hook);
}

async function runAll(hooks: VideoHook[], env: Env, videoId: string, what: string): Promise<void> {
  const results = await Promise.allSettled(hooks.map((hook) => hook(env, videoId)));
  for (const r of results) if (r.status === 'rejected') console.error(`${what} hook failed for ${videoId}`, r.reason);
}

/** `video.ready`: called once all rungs are complete. Hooks must be idempotent. */
export const onVideoReady = (env: Env, videoId: string) => runAll(readyHooks, env, videoId, 'video.ready');
export const onVideoDeleted = (env: Env, videoId: string) => runAll(deletedHooks, env, videoId, 'video.deleted');
/** `video.failed`: called by whoever moved the video to FAILED (once per move). */
export const onVideoFailed = (env: Env, videoId: string) => runAll(failedHooks, env, videoId, 'video.failed');
/** `upload.completed`: the original is stored and verified and the video moved to PROCESSING (once per video). */
export const onUploadCompleted = (env: Env, videoId: string) => runAll(uploadCompletedHooks, env, videoId, 'upload.completed');

/** After analysis, before any encode: the first refusal wins. A check that throws refuses nothing (logged). */
export async function checkAnalysed(env: Env, videoId: string, facts: AnalysedFacts): Promise<string | null> {
  for (const check of analysisChecks) {
    try {
      const reason = await check(env, videoId, facts);
      if (reason) return reason;
    } catch (err) {
      console.error(`analysis check failed for ${videoId}`, err);
    }
  }
  return null;
}

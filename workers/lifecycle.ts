/**
 * Cross-area lifecycle events. The state machine (metadata/video-state.ts) emits an event once per status move it
 * wins; the hooks that react (cache warming, upload abort, cache purges, clips, job cancellation, webhooks) are
 * listed in one table, workers/lifecycle-hooks.ts, which the Worker's entry point (workers/index.ts) installs once
 * with `installLifecycleHooks`: whatever entry point moves a video (HTTP, a queue consumer, a cron, a Durable
 * Object) runs every hook, and no area registers anything as an import side effect. This module imports no area,
 * so the areas that move videos and the hooks that react to them never import each other in a circle.
 */

export type VideoHook = (env: Env, videoId: string) => Promise<void>;

/** The events, named like the webhook events they also become. */
export type LifecycleEvent =
  | 'upload.completed'
  | 'video.ready'
  | 'video.failed'
  | 'video.updated'
  | 'video.deleted'
  /** A live input's broadcast, named by its recording video (workers/live): it started, it ended, its recording is READY. */
  | 'live_input.connected'
  | 'live_input.disconnected'
  | 'live_input.recording.ready';

/** Facts from analysis that a check may refuse (e.g. a direct upload's maxDurationSeconds). */
export interface AnalysedFacts {
  duration: number;
}
/** Returns a reason to fail the video, or null to let transcoding go on. */
export type AnalysisCheck = (env: Env, videoId: string, facts: AnalysedFacts) => Promise<string | null>;

/** Hooks by event, each under a name that says whose it is (the name appears in the log when a hook fails). */
export interface LifecycleHooks {
  readonly events: { readonly [E in LifecycleEvent]: Readonly<Record<string, VideoHook>> };
  /** Run in order after analysis, before any encode; the first refusal wins. */
  readonly analysisChecks: Readonly<Record<string, AnalysisCheck>>;
}

let installed: LifecycleHooks | null = null;

/** Installs the hook table; called once by the entry point (and by the workerd tests' setup). */
export function installLifecycleHooks(hooks: LifecycleHooks): void {
  installed = hooks;
}

function lifecycleHooks(): LifecycleHooks {
  if (!installed) throw new Error('lifecycle hooks are not installed: the entry point (workers/index.ts) calls installLifecycleHooks');
  return installed;
}

/** Runs every hook of `event` concurrently; a hook that throws is logged and does not stop the others. Hooks must be idempotent. */
export async function emitLifecycleEvent(env: Env, event: LifecycleEvent, videoId: string): Promise<void> {
  const hooks = Object.entries(lifecycleHooks().events[event]);
  const results = await Promise.allSettled(hooks.map(([, hook]) => hook(env, videoId)));
  results.forEach((r, i) => {
    if (r.status === 'rejected') console.error(`${event} hook ${hooks[i]![0]} failed for ${videoId}`, r.reason);
  });
}

/** `video.ready`: all rungs are complete. */
export function onVideoReady(env: Env, videoId: string): Promise<void> {
  return emitLifecycleEvent(env, 'video.ready', videoId);
}
/** `video.deleted`: the row turned DELETED (its objects are removed after the hooks ran). */
export function onVideoDeleted(env: Env, videoId: string): Promise<void> {
  return emitLifecycleEvent(env, 'video.deleted', videoId);
}
/** `video.failed`: the video moved to FAILED (once per move). */
export function onVideoFailed(env: Env, videoId: string): Promise<void> {
  return emitLifecycleEvent(env, 'video.failed', videoId);
}
/** `upload.completed`: the original is stored and verified and the video moved to PROCESSING (once per video). */
export function onUploadCompleted(env: Env, videoId: string): Promise<void> {
  return emitLifecycleEvent(env, 'upload.completed', videoId);
}

/** After analysis, before any encode: the first refusal wins. A check that throws refuses nothing (logged). */
export async function checkAnalysed(env: Env, videoId: string, facts: AnalysedFacts): Promise<string | null> {
  for (const [name, check] of Object.entries(lifecycleHooks().analysisChecks)) {
    try {
      const reason = await check(env, videoId, facts);
      if (reason) return reason;
    } catch (err) {
      console.error(`analysis check ${name} failed for ${videoId}`, err);
    }
  }
  return null;
}

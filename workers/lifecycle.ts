/**
 * Cross-area lifecycle steps. Each area registers what it must do when a video becomes ready or is deleted
 * (cache warming, upload-session cleanup, cache purge); the areas that cause these events call them.
 */
export type VideoHook = (env: Env, videoId: string) => Promise<void>;

const readyHooks: VideoHook[] = [];
const deletedHooks: VideoHook[] = [];

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

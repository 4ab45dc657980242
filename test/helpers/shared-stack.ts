/**
 * One local stack (wrangler dev + the transcoder) shared by the end-to-end files of the `e2e` project
 * (vitest.config.ts), instead of one per file: started once by the project's global setup (shared-stack-setup.ts)
 * while the other projects run, used by each file through `sharedStack()`, which gives the file a creator of its
 * own, so files stay independent (each sees only its own videos, webhooks, uploads). Files that restart the stack,
 * kill its transcoder, hold units mid-encode or need other vars start their own stack (local-stack.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { createCreator, type StackClient } from './local-stack';

/** The vars of the shared stack: what the files that share it need, none of which bothers another. */
export const SHARED_STACK_VARS: Record<string, string> = {
  // Short segments: browser tests play whole videos, clips and captions cut on them (2 s).
  SEGMENT_DURATION_SEC: '2',
  // R2's minimum part size: tests move 5 MiB parts, not 10 MiB.
  UPLOAD_CHUNK_SIZE: String(5 * 1024 * 1024),
  // Cheap to encode and still High profile, so codec strings are the production ones.
  X264_PRESET: 'superfast',
  // Webhook receivers on 127.0.0.1, and a retry schedule of seconds (base 1 s, cap 2 s, window 4 s → 4 attempts).
  WEBHOOKS_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_RETRY_BASE_DELAY_SEC: '1',
  WEBHOOK_RETRY_MAX_DELAY_SEC: '2',
  WEBHOOK_RETRY_WINDOW_SEC: '4',
  WEBHOOK_TIMEOUT_MS: '1500',
};

export interface SharedStackInfo {
  origin: string;
  /** The stack's output, appended as it comes (the stack runs in the vitest main process). */
  logFile: string;
  /** Written once the stack is up (`{ ok: true }`) or failed to start (`{ ok: false, error }`). */
  readyFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    sharedStack: SharedStackInfo;
  }
}

/** The shared stack, once it is up, with a new creator for the calling file. */
export async function sharedStack(creatorName: string, timeoutMs = 600_000): Promise<StackClient> {
  const info = inject('sharedStack');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(info.readyFile)) {
    if (Date.now() > deadline) throw new Error(`the shared stack did not start within ${timeoutMs} ms; its output: ${info.logFile}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const ready = JSON.parse(readFileSync(info.readyFile, 'utf8')) as { ok: boolean; error?: string };
  if (!ready.ok) throw new Error(`the shared stack failed to start: ${ready.error}`);
  const creator = await createCreator(info.origin, creatorName);
  return {
    origin: info.origin,
    token: creator.token,
    creatorId: creator.creatorId,
    get logs() {
      return readFileSync(info.logFile, 'utf8').split(/(?<=\n)/);
    },
  };
}

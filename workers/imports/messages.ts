/** Messages on the `video-imports` queue, and the way in. An import re-sends its own message to resume or retry. */
export type ImportMessage = { type: 'import'; videoId: string };

const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Narrows an untrusted queue body; null is a poison message. */
export function parseImportMessage(body: unknown): ImportMessage | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  return b.type === 'import' && typeof b.videoId === 'string' && VIDEO_ID.test(b.videoId) ? { type: 'import', videoId: b.videoId } : null;
}

/** The only way into the `video-imports` queue. */
export async function enqueueImport(env: Pick<Env, 'IMPORT_QUEUE'>, message: ImportMessage, options: { delaySeconds?: number } = {}): Promise<void> {
  await env.IMPORT_QUEUE.send(message, { contentType: 'json', ...options });
}

/** Messages on the `media-jobs` queue (a discriminated union on `type`; one kind so far), and the way in. */
export type MediaJobMessage = { type: 'download'; videoId: string; rendition: string };

const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RUNG_NAME = /^[A-Za-z0-9_-]{1,16}$/;

/** Narrows an untrusted queue body; null is a poison message. */
export function parseMediaJobMessage(body: unknown): MediaJobMessage | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  if (b.type !== 'download' || typeof b.videoId !== 'string' || !VIDEO_ID.test(b.videoId)) return null;
  if (typeof b.rendition !== 'string' || !RUNG_NAME.test(b.rendition)) return null;
  return { type: 'download', videoId: b.videoId, rendition: b.rendition };
}

/** The only way into the `media-jobs` queue. */
export async function enqueueMediaJob(env: Pick<Env, 'MEDIA_QUEUE'>, message: MediaJobMessage): Promise<void> {
  await env.MEDIA_QUEUE.send(message, { contentType: 'json' });
}

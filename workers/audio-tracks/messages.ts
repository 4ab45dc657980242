/** Messages on the `audio-tracks` queue (one per track to encode), and the way in. */
export type AudioTrackMessage = { type: 'audio-track'; videoId: string; lang: string };

const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LANG = /^[A-Za-z0-9-]{2,35}$/;

/** Narrows an untrusted queue body; null is a poison message. */
export function parseAudioTrackMessage(body: unknown): AudioTrackMessage | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  if (b.type !== 'audio-track' || typeof b.videoId !== 'string' || !VIDEO_ID.test(b.videoId)) return null;
  if (typeof b.lang !== 'string' || !LANG.test(b.lang)) return null;
  return { type: 'audio-track', videoId: b.videoId, lang: b.lang };
}

/** The only way into the `audio-tracks` queue. */
export async function enqueueAudioTrack(env: Pick<Env, 'AUDIO_TRACK_QUEUE'>, message: AudioTrackMessage): Promise<void> {
  await env.AUDIO_TRACK_QUEUE.send(message, { contentType: 'json' });
}

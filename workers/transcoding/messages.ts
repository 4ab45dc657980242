/**
 * Messages on the `transcode-jobs` queue: a discriminated union on `type`, dispatched by the consumer through an
 * exhaustive handler map. Every message names its video; handlers are idempotent (a redelivery upserts).
 *
 * Each message corresponds to exactly one `transcode_jobs` row (its unit), and the row is the source of truth:
 * the sweeper can rebuild the message from the row alone (`messageForUnit`).
 */
export type TranscodeMessage =
  | { type: 'analyze'; videoId: string }
  /** Encode these rungs (ladder names) in one ffmpeg process: one decode feeding every rung. */
  | { type: 'encode'; videoId: string; rungs: string[] }
  | { type: 'thumbnails'; videoId: string };

export type TranscodeMessageType = TranscodeMessage['type'];

const RUNG_NAME = /^[A-Za-z0-9_-]{1,16}$/;
const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The job unit a message works on: `analyze`, `thumbnails`, `encode:240p`, `encode:360p+480p+720p`. */
export function unitOf(message: TranscodeMessage): string {
  return message.type === 'encode' ? `encode:${message.rungs.join('+')}` : message.type;
}

export function messageForUnit(videoId: string, unit: string): TranscodeMessage | null {
  if (unit === 'analyze' || unit === 'thumbnails') return { type: unit, videoId };
  const m = /^encode:(.+)$/.exec(unit);
  if (!m) return null;
  const rungs = m[1]!.split('+');
  return rungs.every((r) => RUNG_NAME.test(r)) ? { type: 'encode', videoId, rungs } : null;
}

/** Narrows an untrusted queue body; null means a poison message (it goes straight to the dead-letter queue). */
export function parseTranscodeMessage(body: unknown): TranscodeMessage | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.videoId !== 'string' || !VIDEO_ID.test(b.videoId)) return null;
  switch (b.type) {
    case 'analyze':
    case 'thumbnails':
      return { type: b.type, videoId: b.videoId };
    case 'encode': {
      const rungs = b.rungs;
      if (!Array.isArray(rungs) || rungs.length === 0 || !rungs.every((r) => typeof r === 'string' && RUNG_NAME.test(r))) return null;
      return { type: 'encode', videoId: b.videoId, rungs: rungs as string[] };
    }
    default:
      return null;
  }
}

/**
 * Messages on the `transcode-jobs` queue: a discriminated union on `type`, dispatched by the consumer through an
 * exhaustive handler map. Every message names its video; handlers are idempotent (a redelivery upserts).
 *
 * Each work message corresponds to exactly one `transcode_jobs` row (its unit), and the row is the source of
 * truth: the sweeper can rebuild the message from the row alone (`messageForUnit`). `purge` is housekeeping (a
 * second sweep of a deleted video's prefix) and has no row.
 */
export type TranscodeMessage =
  | { type: 'analyze'; videoId: string }
  /** Encode chunk `chunk` of the timeline into these rungs (ladder names) in one ffmpeg process (one decode). */
  | { type: 'encode'; videoId: string; rungs: string[]; chunk: number }
  /** The whole source's audio, once: the HLS audio rendition every rung references. */
  | { type: 'audio'; videoId: string }
  /** The complexity probe of a per-title ladder: its completion decides the CRFs and plans the rungs waiting for them. */
  | { type: 'ladder'; videoId: string }
  | { type: 'thumbnails'; videoId: string }
  | { type: 'purge'; videoId: string };

export type WorkMessage = Exclude<TranscodeMessage, { type: 'purge' }>;

const RUNG_NAME = /^[A-Za-z0-9_-]{1,16}$/;
const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CHUNKS = 100_000;

const isChunk = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < MAX_CHUNKS;

/** The job unit a message works on: `analyze`, `audio`, `ladder`, `thumbnails`, `encode:240p@0`, `encode:360p+480p@3`. */
export function unitOf(message: WorkMessage): string {
  return message.type === 'encode' ? encodeUnit(message.rungs, message.chunk) : message.type;
}

export const encodeUnit = (rungs: readonly string[], chunk: number): string => `encode:${rungs.join('+')}@${chunk}`;

/** `encode:360p+480p@3` → its rungs and chunk; null for any other unit. */
export function parseEncodeUnit(unit: string): { rungs: string[]; chunk: number } | null {
  const m = /^encode:([^@]+)@(\d{1,6})$/.exec(unit);
  if (!m) return null;
  const rungs = m[1]!.split('+');
  const chunk = Number(m[2]);
  return rungs.every((r) => RUNG_NAME.test(r)) && isChunk(chunk) ? { rungs, chunk } : null;
}

export function messageForUnit(videoId: string, unit: string): WorkMessage | null {
  if (unit === 'analyze' || unit === 'thumbnails' || unit === 'audio' || unit === 'ladder') return { type: unit, videoId };
  const encode = parseEncodeUnit(unit);
  return encode ? { type: 'encode', videoId, ...encode } : null;
}

/** Narrows an untrusted queue body; null means a poison message (it goes straight to the dead-letter queue). */
export function parseTranscodeMessage(body: unknown): TranscodeMessage | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.videoId !== 'string' || !VIDEO_ID.test(b.videoId)) return null;
  switch (b.type) {
    case 'analyze':
    case 'audio':
    case 'ladder':
    case 'thumbnails':
    case 'purge':
      return { type: b.type, videoId: b.videoId };
    case 'encode': {
      const rungs = b.rungs;
      if (!Array.isArray(rungs) || rungs.length === 0 || !rungs.every((r) => typeof r === 'string' && RUNG_NAME.test(r))) return null;
      // Messages from before chunking had no `chunk`: the whole timeline was chunk 0.
      const chunk = b.chunk === undefined ? 0 : b.chunk;
      if (!isChunk(chunk)) return null;
      return { type: 'encode', videoId: b.videoId, rungs: rungs as string[], chunk };
    }
    default:
      return null;
  }
}

/** Queues accept at most this many messages in one `sendBatch`. */
const SEND_BATCH_MAX = 100;

/**
 * The only way into the `transcode-jobs` queue: one message or many (sent in batches of 100), optionally delayed.
 * Every message is a typed `TranscodeMessage`, so the consumer's parser accepts whatever this sends.
 */
export async function enqueueTranscode(env: Pick<Env, 'TRANSCODE_QUEUE'>, messages: TranscodeMessage | readonly TranscodeMessage[], options: { delaySeconds?: number } = {}): Promise<void> {
  const list = Array.isArray(messages) ? (messages as readonly TranscodeMessage[]) : [messages as TranscodeMessage];
  if (list.length === 1) {
    await env.TRANSCODE_QUEUE.send(list[0]!, { contentType: 'json', ...options });
    return;
  }
  for (let i = 0; i < list.length; i += SEND_BATCH_MAX) {
    await env.TRANSCODE_QUEUE.sendBatch(list.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body, contentType: 'json' as const, ...options })));
  }
}

/**
 * The only way into `transcode-jobs-dlq`: a message that failed for good, or a body that was never a message (a
 * poison message is forwarded as it came, so an operator sees exactly what arrived).
 */
export async function enqueueTranscodeDeadLetter(env: Pick<Env, 'TRANSCODE_DLQ'>, body: TranscodeMessage | unknown): Promise<void> {
  await env.TRANSCODE_DLQ.send(body, { contentType: 'json' });
}

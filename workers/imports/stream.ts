/**
 * Streaming an opened source into the video's original, an R2 multipart upload: parts of exactly
 * `uploads.chunkSize` (the last one shorter), each recorded as it is stored, so an interrupted import resumes from
 * the last whole part. Never more than one part in memory.
 *
 * Limits, checked as bytes arrive (nothing past a limit is kept): the platform's largest upload, the creator's
 * bytes quota, the length the source declared (a source that sends more than its Content-Length is refused; one
 * that sends less was cut short, and the next attempt resumes). A source that sends nothing for `imports.stallMs`
 * is dropped (the next attempt resumes). The import's time limit (`imports.timeLimitMs` from its creation) binds
 * while bytes flow too: past it the import fails, however steadily the source sends. An invocation stops after
 * `imports.invocationBudgetMs` at a part boundary when the source can be resumed, and hands over to the next.
 */
import { chunkReader } from '../shared/chunk-reader';
import type { Config } from '../shared/config';
import type { Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { recordPart, partsOf, type ImportRow, type StoredPart } from './repo';

export type StreamOutcome =
  | { status: 'done'; size: number; parts: StoredPart[] }
  | { status: 'continue' }
  | { status: 'retry'; reason: string }
  | { status: 'fail'; reason: string }
  /** The import is no longer this run's (cancelled or taken over): stop without touching anything. */
  | { status: 'lost' };

export interface StreamLimits {
  maxBytes: number;
  /** Bytes the creator's quota still allows. */
  quotaBytes: number;
}

export const timeLimitReason = (config: Config) => `the import did not finish within ${Math.round(config.imports.timeLimitMs / 1000)} s`;

function withStallTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'stalled'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stall = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), ms)));
  return Promise.race([promise, stall]).finally(() => clearTimeout(timer));
}

export async function streamIntoOriginal(
  env: Pick<Env, 'MEDIA'>,
  db: Db,
  config: Config,
  row: ImportRow,
  body: ReadableStream<Uint8Array>,
  total: number | null,
  resumable: boolean,
  limits: StreamLimits,
): Promise<StreamOutcome> {
  const partSize = config.uploads.chunkSize;
  const multipart = env.MEDIA.resumeMultipartUpload(keys.original(row.videoId), row.r2UploadId!);
  const parts = partsOf(row);
  let stored = row.bytesFetched;
  const started = runtime().now();
  const buffer = new Uint8Array(partSize);
  let filled = 0;
  const reader = chunkReader(body);
  const cap = Math.min(limits.maxBytes, limits.quotaBytes);

  const storePart = async (bytes: Uint8Array): Promise<boolean> => {
    const part = await multipart.uploadPart(parts.length + 1, bytes);
    parts.push({ partNumber: part.partNumber, etag: part.etag });
    stored += bytes.byteLength;
    return recordPart(db, { ...row, totalBytes: total }, parts, stored, config.imports.leaseMs);
  };

  try {
    for (;;) {
      const left = row.deadline - runtime().now();
      if (left <= 0) {
        await reader.cancel('time limit').catch(() => undefined);
        return { status: 'fail', reason: timeLimitReason(config) };
      }
      const next = await withStallTimeout(reader.read(), Math.min(config.imports.stallMs, left));
      if (next === 'stalled' && runtime().now() >= row.deadline) {
        await reader.cancel('time limit').catch(() => undefined);
        return { status: 'fail', reason: timeLimitReason(config) };
      }
      if (next === 'stalled') {
        await reader.cancel('stalled').catch(() => undefined);
        return { status: 'retry', reason: `the source sent nothing for ${config.imports.stallMs / 1000} s` };
      }
      if (next.done) break;
      let chunk = next.value;
      const received = stored + filled + chunk.byteLength;
      if (total !== null && received > total) return { status: 'fail', reason: `the source sent more bytes than its declared length (${total})` };
      if (received > limits.maxBytes) return { status: 'fail', reason: `the source is larger than the largest upload accepted (${limits.maxBytes} bytes)` };
      if (received > limits.quotaBytes) return { status: 'fail', reason: `quota_exceeded: the source is larger than the creator's bytes quota still allows (${limits.quotaBytes} bytes)` };
      while (chunk.byteLength > 0) {
        const take = Math.min(partSize - filled, chunk.byteLength);
        buffer.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === partSize) {
          if (!(await storePart(buffer.slice()))) return { status: 'lost' };
          filled = 0;
          if (resumable && runtime().now() - started > config.imports.invocationBudgetMs) {
            await reader.cancel('invocation budget').catch(() => undefined);
            return { status: 'continue' };
          }
        }
      }
    }
  } catch (err) {
    return { status: 'retry', reason: `the connection to the source was lost: ${err instanceof Error ? err.message : String(err)}` };
  }
  const size = stored + filled;
  if (total !== null && size < total) return { status: 'retry', reason: `the source ended after ${size} of ${total} bytes` };
  if (size > cap) return { status: 'fail', reason: 'the source is larger than allowed' };
  if (filled > 0 || parts.length === 0) {
    if (size === 0) return { status: 'fail', reason: 'the source is empty (0 bytes): there is no video to import' };
    if (!(await storePart(buffer.slice(0, filled)))) return { status: 'lost' };
  }
  return { status: 'done', size, parts };
}

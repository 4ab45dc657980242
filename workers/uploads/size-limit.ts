/**
 * How large an upload may be: the one rule every path that accepts bytes goes through.
 *
 * The limit is the platform's `uploads.maxFileSize`, or less under a direct upload URL (its `maxSizeBytes`), and
 * R2's part count. A tus upload carries its limit in its session: a declared Upload-Length is checked against it
 * at creation, and a deferred length takes the limit itself as its bound (`fileSize` until a PATCH declares the
 * real length), so the creation's own bytes, every later PATCH and a declared length are all refused past it
 * (tus-write.ts) with 413 before anything is stored. The chunk API checks its declared size at initiate and every
 * chunk is exactly its size; a tus concatenation checks the sum of its partial uploads.
 */
import type { Context } from 'hono';
import type { Config } from '../shared/config';
import { payloadTooLarge } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';

export interface SizeLimit {
  bytes: number;
  /** The limit and what sets it, for messages. */
  describe: string;
}

/** The limit for this request's uploads. */
export function uploadSizeLimit(c: Context<AppEnv>): SizeLimit {
  const platform = c.var.config.uploads.maxFileSize;
  const url = c.var.directUpload?.maxSizeBytes ?? null;
  if (url !== null && url < platform) return { bytes: url, describe: `this upload URL's maxSizeBytes (${url})` };
  return { bytes: platform, describe: `the maximum of ${platform} bytes` };
}

/** R2 rejects parts under 5 MiB at completion, so a misconfigured smaller chunk size is raised to the minimum. */
export function partSizeOf(config: Config): number {
  return Math.max(config.uploads.chunkSize, config.uploads.minChunkSize);
}

/** 413 unless `size` bytes fit the limit and R2's part count; `what` names the size in the message. */
export function checkUploadSize(size: number, limit: SizeLimit, config: Config, partSize: number, what = 'file size'): void {
  if (size > limit.bytes) throw payloadTooLarge(`${what} (${size} bytes) exceeds ${limit.describe}`);
  if (Math.ceil(size / partSize) > config.uploads.maxParts) {
    throw payloadTooLarge(`${what} (${size} bytes) needs more than ${config.uploads.maxParts} parts of ${partSize} bytes`);
  }
}

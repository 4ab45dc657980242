/** Video lookups shared by every area: cached reads, ownership and visibility checks. */
import type { Context } from 'hono';
import { getVideoRecord } from './cache';
import { loadVideoRecord } from './repo';
import type { VideoRecord } from './serialize';
import { notFound } from '../shared/errors';
import { isSafeId } from '../shared/storage-keys';
import type { AppEnv } from '../shared/hono-env';
import { assertOwner } from '../shared/auth';

/** The video record through the metadata cache, or 404 (unknown, malformed id, or deleted). */
export async function requireVideo(c: Context<AppEnv>, videoId: string): Promise<VideoRecord> {
  if (!isSafeId(videoId)) throw notFound('video not found');
  const record = await getVideoRecord(videoId, (id) => loadVideoRecord(c.var.db, id), c.var.config);
  if (!record || record.video.status === 'DELETED') throw notFound('video not found');
  return record;
}

/**
 * The video, which must belong to the authenticated creator (401 without a token). Another creator's video is 404
 * when it is private (its existence must not be confirmable: GET answers 404 too) and 403 otherwise (a public or
 * unlisted video's existence is no secret).
 */
export async function requireOwnedVideo(c: Context<AppEnv>, videoId: string): Promise<VideoRecord> {
  const record = await requireVideo(c, videoId);
  if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
  assertOwner(c.var.creatorId, record.video.creatorId);
  return record;
}

/** Public and unlisted videos are readable by anyone; private ones only by their creator (404 to others). */
export function canRead(record: VideoRecord, creatorId: string | undefined): boolean {
  return record.video.visibility !== 'private' || record.video.creatorId === creatorId;
}

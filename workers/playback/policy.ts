/**
 * A video's access settings as playback checks them on every request (cache hits included): its owner (a
 * signed-key token must be signed by the owner's key), visibility and `requireSignedUrls` (an unsigned URL plays
 * only a public video that does not require signed URLs), and its allowed origins. Read from D1 once per
 * `policyTtlMs` per isolate; an edit forgets this isolate's copy at once (the `video.updated` hook) and reaches
 * other isolates within the TTL. Requests share the value once read, never a read in flight (shared/shared-work.ts):
 * requests that miss together each read one indexed row.
 */
import { eq } from 'drizzle-orm';
import type { Visibility } from '../../schema/schema';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { parseAllowedOrigins } from './access';

export interface PlaybackPolicy {
  creatorId: string;
  visibility: Visibility;
  deleted: boolean;
  requireSignedUrls: boolean;
  allowedOrigins: string[] | null;
}

interface Entry {
  policy: PlaybackPolicy | null;
  at: number;
}

const MAX_ENTRIES = 10_000;
const cache = new Map<string, Entry>();

async function load(db: Db, videoId: string): Promise<PlaybackPolicy | null> {
  const row = await db
    .select({
      creatorId: schema.videos.creatorId,
      visibility: schema.videos.visibility,
      status: schema.videos.status,
      requireSignedUrls: schema.videos.requireSignedUrls,
      allowedOrigins: schema.videos.allowedOrigins,
    })
    .from(schema.videos)
    .where(eq(schema.videos.id, videoId))
    .get();
  if (!row) return null;
  const origins = row.allowedOrigins ? parseAllowedOrigins(JSON.parse(row.allowedOrigins)) : null;
  return {
    creatorId: row.creatorId,
    visibility: row.visibility,
    deleted: row.status === 'DELETED',
    requireSignedUrls: row.requireSignedUrls,
    allowedOrigins: Array.isArray(origins) ? origins : null,
  };
}

/** The video's policy, or null when no such video exists. */
export async function getPlaybackPolicy(db: Db, videoId: string, ttlMs: number): Promise<PlaybackPolicy | null> {
  const hit = cache.get(videoId);
  const now = runtime().now();
  if (hit && now - hit.at < ttlMs) return hit.policy;
  const policy = await load(db, videoId);
  if (cache.size >= MAX_ENTRIES && !cache.has(videoId)) cache.delete(cache.keys().next().value!);
  cache.set(videoId, { policy, at: now });
  return policy;
}

export function forgetPlaybackPolicy(videoId: string): void {
  cache.delete(videoId);
}

/**
 * Playback's part of usage metering: a video segment delivered to a viewer (GET, a 200 or a 206 from byte 0) adds
 * its duration to the video's creator for the day (workers/usage/delivered.ts keeps it in memory and flushes it in
 * the background). The audio rendition is not counted apart: it plays beside the video.
 */
import type { Context } from 'hono';
import type { Config } from '../shared/config';
import type { AppEnv } from '../shared/hono-env';
import { runtime } from '../shared/runtime';
import { AUDIO_RENDITION, langOfAudioTrackRendition } from '../shared/storage-keys';
import { countDelivered, flushDelivered } from '../usage/delivered';
import { SEGMENT_DURATION_HEADER } from './objects';
import type { PlaybackObject } from './paths';
import { getPlaybackPolicy } from './policy';

export async function meterDelivery(c: Context<AppEnv>, config: Config, object: Extract<PlaybackObject, { kind: 'segment' }>, res: Response): Promise<void> {
  if (c.req.method !== 'GET' || object.rendition === AUDIO_RENDITION || langOfAudioTrackRendition(object.rendition) !== null) return;
  const fromStart = res.status === 200 || (res.status === 206 && /^bytes 0-/.test(res.headers.get('Content-Range') ?? ''));
  const seconds = Number(res.headers.get(SEGMENT_DURATION_HEADER));
  if (!fromStart || !(seconds > 0)) return;
  const policy = await getPlaybackPolicy(c.var.db, object.videoId, config.playback.policyTtlMs);
  if (!policy) return;
  const now = runtime().now();
  countDelivered(policy.creatorId, seconds, now);
  c.executionCtx.waitUntil(flushDelivered(c.var.db, config, now));
}

/**
 * A counted view is one local transaction over the capabilities: the session and viewer dedup claim (which is also
 * the duplicate check), the pending count, the HLL registers the viewer raised and the outbox row.
 */
import type { Config } from '../../shared/config';
import type { ViewAnalyticsEvent } from '../analytics';
import type { Dedup } from './dedup';
import type { Flusher } from './flusher';
import type { HllState } from './hll-state';
import { hourBucket, type CounterHost } from './host';
import type { Outbox } from './outbox';
import type { RecordInput, RecordResult } from './types';

export interface CountParts {
  dedup: Dedup;
  flusher: Flusher;
  hll: HllState;
  outbox: Outbox;
}

export type CountOutcome = Extract<RecordResult, { status: 'counted' | 'duplicate' | 'session_used' }>;

/**
 * Business rule (sampling, off by default): when `views.samplingEnabled` is on and the video is hot, a counted view
 * adds 1/rate with probability `rate` (the view rule's "1% sampling, scale up"). Dedup and unique viewers stay exact.
 */
export function incrementFor(config: Config, shardCount: number, random: () => number): number {
  const v = config.views;
  if (!v.samplingEnabled || shardCount < v.hotVideoShards) return 1;
  return random() < v.samplingRate ? Math.round(1 / v.samplingRate) : 0;
}

/** Records the view unless its session already counted one or the viewer is inside its dedup window. */
export function countView(host: CounterHost, parts: CountParts, input: RecordInput, viewer: string, increment: number, now: number): CountOutcome {
  const hour = hourBucket(now);
  return host.transaction(() => {
    const claim = parts.dedup.claim(input.viewerId, input.sessionId, input.sessionExpiresAt, now);
    if (claim !== 'fresh') return { status: claim };
    parts.flusher.add(hour, increment);
    parts.hll.add(input.viewerId, hour);
    const event: ViewAnalyticsEvent = {
      type: 'view',
      videoId: input.videoId,
      viewer,
      shard: input.shardIndex,
      increment,
      watchDuration: input.watchDuration,
      at: now,
    };
    parts.outbox.append(event, now);
    return { status: 'counted', increment };
  });
}

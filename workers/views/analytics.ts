/**
 * Analytics events (the production design's Kafka topic `view-events`): every counted view is published to the `view-events`
 * queue for downstream consumers. Shards buffer events in their own storage (an outbox, so a crash loses none)
 * and send them with `sendBatch`. The consumer appends each batch to R2 as NDJSON under `analytics/`, partitioned
 * by event hour, for batch analytics (one object per consumer batch and hour; a redelivered batch rewrites the
 * same object, so retries do not duplicate lines).
 */
import { keys } from '../shared/storage-keys';
import { sha256Hex } from '../shared/runtime';

export interface ViewAnalyticsEvent {
  type: 'view';
  videoId: string;
  /** SHA-256 prefix of the viewer id: analytics can count and join viewers without holding their ids. */
  viewer: string;
  shard: number;
  /** Views this event added (1, or the sampling scale, or 0 when sampled out). */
  increment: number;
  watchDuration: number;
  at: number;
}

export type AnalyticsMessage = ViewAnalyticsEvent;

/** The `view-events` queue as the outbox needs it: the binding, or a test's recorder. */
export interface AnalyticsSink {
  sendBatch(messages: Iterable<MessageSendRequest<AnalyticsMessage>>): Promise<unknown>;
}

/** The only way into the `view-events` queue (a shard's outbox sends its rows in batches of at most 100). */
export async function enqueueViewEvents(queue: AnalyticsSink, events: readonly AnalyticsMessage[]): Promise<void> {
  if (events.length === 0) return;
  await queue.sendBatch(events.map((body) => ({ body, contentType: 'json' as const })));
}

export function isAnalyticsMessage(value: unknown): value is AnalyticsMessage {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    v.type === 'view' &&
    typeof v.videoId === 'string' &&
    typeof v.viewer === 'string' &&
    typeof v.shard === 'number' &&
    typeof v.increment === 'number' &&
    typeof v.watchDuration === 'number' &&
    typeof v.at === 'number'
  );
}

export async function viewerDigest(viewerId: string): Promise<string> {
  return (await sha256Hex(`viewer:${viewerId}`)).slice(0, 24);
}

function hourPartition(at: number): { date: string; hour: string } {
  const iso = new Date(at).toISOString();
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** Queue consumer for `view-events`: NDJSON batches to R2. Malformed messages are logged and dropped. */
export async function consumeViewEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const groups = new Map<string, { date: string; hour: string; lines: string[] }>();
  for (const message of batch.messages) {
    if (!isAnalyticsMessage(message.body)) {
      console.warn(`dropping malformed view-events message ${message.id}`);
      continue;
    }
    const { date, hour } = hourPartition(message.body.at);
    const key = `${date}T${hour}`;
    const group = groups.get(key) ?? { date, hour, lines: [] };
    group.lines.push(JSON.stringify(message.body));
    groups.set(key, group);
  }
  try {
    const batchId = (await sha256Hex(batch.messages.map((m) => m.id).join(','))).slice(0, 32);
    await Promise.all(
      [...groups.values()].map((g) =>
        env.MEDIA.put(keys.analyticsViewEvents(g.date, g.hour, batchId), g.lines.join('\n') + '\n', {
          httpMetadata: { contentType: 'application/x-ndjson' },
        }),
      ),
    );
    batch.ackAll();
  } catch (err) {
    console.error('writing view-events batch to R2 failed; retrying', err);
    batch.retryAll({ delaySeconds: 5 });
  }
}

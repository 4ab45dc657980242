/**
 * Turning lifecycle events into webhook messages. For each endpoint of the video's creator subscribed to the event,
 * one `webhook_deliveries` row (the message) and one queue message. The message id is derived from (endpoint,
 * event, video): every event here happens at most once per video, so an event emitted twice (hooks are at least
 * once) is the same row, inserted once and enqueued once, and a receiver that sees it twice sees the same id.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { VideoHook } from '../lifecycle';
import { openDb, schema, type Db } from '../shared/db';
import { runtime, sha256Hex } from '../shared/runtime';
import type { WebhookEvent } from '../../schema/schema';
import { directUploadOfVideo } from '../direct-uploads/capability';
import { insertDelivery } from './deliveries';
import { enqueueDeliveries, type DeliveryMessage } from './messages';

export async function messageId(endpointId: string, type: WebhookEvent, videoId: string): Promise<string> {
  return `msg_${(await sha256Hex(`${endpointId}:${type}:${videoId}`)).slice(0, 32)}`;
}

export function subscribedEvents(row: { events: string }): WebhookEvent[] {
  const parsed: unknown = JSON.parse(row.events);
  return Array.isArray(parsed) ? (parsed as WebhookEvent[]) : [];
}

async function payloadFor(db: Db, type: WebhookEvent, video: typeof schema.videos.$inferSelect): Promise<string> {
  const direct = await directUploadOfVideo(db, video.id);
  const data: Record<string, unknown> = {
    videoId: video.id,
    status: video.status,
    title: video.title,
    duration: video.duration,
    width: video.width,
    height: video.height,
  };
  if (video.liveInputId) data.liveInputId = video.liveInputId;
  if (video.status === 'FAILED') data.error = video.error ?? 'processing failed';
  if (direct) data.directUpload = { id: direct.id, metadata: direct.metadata ? (JSON.parse(direct.metadata) as unknown) : null };
  return JSON.stringify({ type, timestamp: new Date(runtime().now()).toISOString(), data });
}

export async function emitVideoEvent(env: Env, type: WebhookEvent, videoId: string): Promise<number> {
  const db = openDb(env.DB);
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, videoId)).get();
  if (!video) return 0;
  const endpoints = (
    await db
      .select()
      .from(schema.webhookEndpoints)
      .where(and(eq(schema.webhookEndpoints.creatorId, video.creatorId), isNull(schema.webhookEndpoints.deletedAt)))
      .all()
  ).filter((e) => subscribedEvents(e).includes(type));
  if (endpoints.length === 0) return 0;
  const payload = await payloadFor(db, type, video);
  const messages: DeliveryMessage[] = [];
  for (const endpoint of endpoints) {
    const id = await messageId(endpoint.id, type, videoId);
    if (await insertDelivery(db, { id, endpointId: endpoint.id, eventType: type, videoId, payload })) messages.push({ deliveryId: id, round: 0 });
  }
  await enqueueDeliveries(env, messages);
  return messages.length;
}

/** The lifecycle hook that turns `type` into webhook messages (wired in workers/lifecycle-hooks.ts). */
export function webhookHook(type: WebhookEvent): VideoHook {
  return async (env, videoId) => {
    await emitVideoEvent(env, type, videoId);
  };
}

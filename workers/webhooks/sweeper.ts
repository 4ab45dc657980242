/**
 * At-least-once even if a queue message is lost (a send that failed after the row was written, a message dropped
 * after the queue's own retry ceiling): a delivery still `pending` well past its next attempt time is sent to the
 * queue again, with its current round. If the original message was only late, the receiver may see the message
 * twice, with the same webhook-id, which receivers de-duplicate on.
 */
import { and, asc, eq, lt } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { touchLostDelivery } from './deliveries';
import { enqueueDeliveries, type DeliveryMessage } from './messages';

/** Overdue by this much beyond the scheduled attempt (and the attempt's own timeout) means lost. */
const LOST_AFTER_MS = 15 * 60_000;
const SWEEP_LIMIT = 100;

export async function sweepLostDeliveries(env: Env, db: Db, config: Config, now: number): Promise<number> {
  const overdue = await db
    .select({ id: schema.webhookDeliveries.id, round: schema.webhookDeliveries.round })
    .from(schema.webhookDeliveries)
    .where(and(eq(schema.webhookDeliveries.status, 'pending'), lt(schema.webhookDeliveries.nextAttemptAt, now - LOST_AFTER_MS - config.webhooks.timeoutMs)))
    .orderBy(asc(schema.webhookDeliveries.nextAttemptAt))
    .limit(SWEEP_LIMIT)
    .all();
  if (overdue.length === 0) return 0;
  const messages: DeliveryMessage[] = overdue.map((d) => ({ deliveryId: d.id, round: d.round }));
  await enqueueDeliveries(env, messages);
  // Push the next attempt time forward so the next sweep does not send them again right away.
  for (const d of overdue) {
    await touchLostDelivery(db, d.id, d.round, now);
  }
  return overdue.length;
}

/**
 * `webhook_deliveries`: one row per (endpoint, event, video), the message a receiver gets and its delivery state.
 * This module is the only writer of the table: the row an event creates, each attempt's outcome, a creator's
 * redelivery (a new round) and the sweeper's touch of a lost message.
 *
 *   pending ──attempt ok──▶ succeeded
 *      │  └──attempt failed──▶ pending (next attempt scheduled) … ──out of attempts──▶ failed
 *      └──redeliver (any state)──▶ pending, round + 1, attempts 0
 *
 * Every write of an attempt is for its round only, so a message of an earlier round can never settle a redelivery.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { WebhookEvent } from '../../schema/schema';
import { schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';

export type DeliveryRow = typeof schema.webhookDeliveries.$inferSelect;

const table = schema.webhookDeliveries;
const ofRound = (id: string, round: number) => and(eq(table.id, id), eq(table.round, round));

/** The event's row for one endpoint; false when it exists already (an event emitted twice is delivered once). */
export async function insertDelivery(db: Db, row: { id: string; endpointId: string; eventType: WebhookEvent; videoId: string; payload: string }): Promise<boolean> {
  const now = runtime().now();
  const inserted = await db
    .insert(table)
    .values({ ...row, status: 'pending', nextAttemptAt: now, createdAt: now, updatedAt: now })
    .onConflictDoNothing()
    .returning({ id: table.id });
  return inserted.length > 0;
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
}

/** The round's last attempt: delivered (`succeeded`) or given up (`failed`). */
export async function settleDelivery(db: Db, delivery: Pick<DeliveryRow, 'id' | 'attempts'>, round: number, status: 'succeeded' | 'failed', outcome: AttemptOutcome, now: number): Promise<void> {
  await db
    .update(table)
    .set({
      status,
      attempts: delivery.attempts + 1,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.error,
      lastAttemptAt: now,
      nextAttemptAt: null,
      deliveredAt: status === 'succeeded' ? now : null,
      updatedAt: now,
    })
    .where(ofRound(delivery.id, round));
}

/** A failed attempt made at `now`, with another to come at `nextAttemptAt`. */
export async function scheduleNextAttempt(db: Db, delivery: Pick<DeliveryRow, 'id'>, round: number, attempts: number, outcome: AttemptOutcome, now: number, nextAttemptAt: number): Promise<void> {
  await db
    .update(table)
    .set({ attempts, lastStatusCode: outcome.statusCode, lastError: outcome.error, lastAttemptAt: now, nextAttemptAt, updatedAt: now })
    .where(ofRound(delivery.id, round));
}

/** A creator's redelivery of an endpoint's delivery: a new round with the whole retry budget; null if not theirs. */
export async function startNewRound(db: Db, endpointId: string, deliveryId: string): Promise<DeliveryRow | null> {
  const now = runtime().now();
  const [row] = await db
    .update(table)
    .set({ status: 'pending', attempts: 0, round: sql`${table.round} + 1`, nextAttemptAt: now, updatedAt: now })
    .where(and(eq(table.id, deliveryId), eq(table.endpointId, endpointId)))
    .returning();
  return row ?? null;
}

/** The sweeper re-sent this round's lost message: its next attempt is now, so the next sweep leaves it alone. */
export async function touchLostDelivery(db: Db, id: string, round: number, now: number): Promise<void> {
  await db.update(table).set({ nextAttemptAt: now }).where(ofRound(id, round));
}

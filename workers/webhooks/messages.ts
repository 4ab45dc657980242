/**
 * Messages on the `webhook-deliveries` queue: one per delivery attempt round of a `webhook_deliveries` row (the row
 * holds the payload; the message only names it), and the way in.
 */
export interface DeliveryMessage {
  deliveryId: string;
  round: number;
}

export function parseDeliveryMessage(body: unknown): DeliveryMessage | null {
  if (typeof body !== 'object' || body === null) return null;
  const { deliveryId, round } = body as Record<string, unknown>;
  return typeof deliveryId === 'string' && typeof round === 'number' ? { deliveryId, round } : null;
}

/** The only way into the `webhook-deliveries` queue (at most 100 messages per call: callers send rows in pages). */
export async function enqueueDeliveries(env: Pick<Env, 'WEBHOOK_QUEUE'>, messages: readonly DeliveryMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await env.WEBHOOK_QUEUE.sendBatch(messages.map((body) => ({ body, contentType: 'json' as const })));
}

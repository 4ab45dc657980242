/**
 * One pass over a queue batch of leased work (downloads, extra audio tracks): each message is parsed (a message that
 * does not parse is poison: logged and acked), processed, and acked or retried with the work's backoff. A message
 * that keeps bouncing (D1 unavailable, say) stops after twice the work's attempts; its row stays PENDING for a new
 * request.
 */
export type WorkOutcome = { status: 'ack' } | { status: 'retry'; reason: string; delaySeconds?: number };

export interface WorkBatchHandler<M> {
  parse(body: unknown): M | null;
  process(message: M): Promise<WorkOutcome>;
  /** The work's attempts (`downloads.maxAttempts`, …). */
  maxAttempts: number;
  backoff(attempts: number): number;
  /** How the log names the message's work (`download vid_…/720p`). */
  name(message: M): string;
}

export async function consumeWorkBatch<M>(batch: MessageBatch<unknown>, handler: WorkBatchHandler<M>): Promise<void> {
  for (const msg of batch.messages) {
    const message = handler.parse(msg.body);
    if (!message) {
      console.error(`poison message ${msg.id} on ${batch.queue}: ${JSON.stringify(msg.body).slice(0, 300)}`);
      msg.ack();
      continue;
    }
    let outcome: WorkOutcome;
    try {
      outcome = await handler.process(message);
    } catch (err) {
      outcome = { status: 'retry', reason: err instanceof Error ? err.message : String(err) };
    }
    if (outcome.status === 'ack') msg.ack();
    else if (msg.attempts >= handler.maxAttempts * 2) {
      console.error(`${handler.name(message)} gave up: ${outcome.reason}`);
      msg.ack();
    } else msg.retry({ delaySeconds: outcome.delaySeconds ?? handler.backoff(msg.attempts) });
  }
}

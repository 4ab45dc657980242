import { consumeViewEvents } from './views/analytics';

/** Routes each queue batch to its area's consumer by queue name. */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  switch (batch.queue) {
    case 'view-events':
      return consumeViewEvents(batch, env);
    default:
      console.error(`no consumer for queue ${batch.queue}; retrying ${batch.messages.length} message(s)`);
      batch.retryAll();
  }
}

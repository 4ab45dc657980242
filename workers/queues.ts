import { consumeViewEvents } from './views/analytics';
import { handleDeadLetterBatch, handleTranscodeBatch } from './transcoding/consumer';
import { handleWebhookBatch } from './webhooks/delivery';
import { handleMediaJobBatch } from './downloads/consumer';

/** Routes each queue batch to its area's consumer by queue name. */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  switch (batch.queue) {
    case 'view-events':
      return consumeViewEvents(batch, env);
    case 'transcode-jobs':
      return handleTranscodeBatch(batch, env);
    case 'transcode-jobs-dlq':
      return handleDeadLetterBatch(batch, env);
    case 'webhook-deliveries':
      return handleWebhookBatch(batch, env);
    case 'media-jobs':
      return handleMediaJobBatch(batch, env);
    default:
      console.error(`no consumer for queue ${batch.queue}; retrying ${batch.messages.length} message(s)`);
      batch.retryAll();
  }
}

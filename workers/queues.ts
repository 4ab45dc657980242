import { loadConfig } from './shared/config';
import { logEvent, withRequestId } from './shared/log';
import { consumeViewEvents } from './views/analytics';
import { handleDeadLetterBatch, handleTranscodeBatch } from './transcoding/consumer';
import { handleWebhookBatch } from './webhooks/delivery';
import { handleMediaJobBatch } from './downloads/consumer';
import { handleImportBatch } from './imports/consumer';
import { handleAudioTrackBatch } from './audio-tracks/consumer';

/**
 * Routes each queue batch to its area's consumer by queue name. Each message is logged with its id; the batch runs
 * with the first message's id as its request id (transcode batches hold one message), so a job's lines share it.
 */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const first = batch.messages[0];
  const requestId = batch.messages.length === 1 && first ? first.id : `batch-${first?.id ?? 'empty'}`;
  return withRequestId(requestId, loadConfig(env).deployment.logLevel, async () => {
    for (const m of batch.messages) logEvent('info', 'queue.message', { queue: batch.queue, messageId: m.id, attempts: m.attempts });
    const started = Date.now();
    await dispatch(batch, env, ctx);
    logEvent('info', 'queue.batch', { queue: batch.queue, messages: batch.messages.length, ms: Date.now() - started });
  });
}

async function dispatch(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
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
    case 'video-imports':
      return handleImportBatch(batch, env);
    case 'audio-tracks':
      return handleAudioTrackBatch(batch, env);
    default:
      logEvent('error', 'queue.unknown', { queue: batch.queue, messages: batch.messages.length });
      batch.retryAll();
  }
}

/**
 * The `webhook-deliveries` consumer: one queue message per (event, endpoint), all messages of a batch attempted
 * concurrently, each with its own timeout, so a receiver that answers slowly or never holds back nothing else.
 *
 * An attempt succeeds on a 2xx. Anything else (another status, a redirect, which is never followed, a timeout, a
 * connection error) is retried by `message.retry({ delaySeconds })` with exponential backoff, for at least
 * `retryWindowSec` (a day); the attempt count that covers the window is computed from the config
 * (`webhookMaxAttempts`), then the delivery is marked failed. Each attempt is recorded on the delivery row, which
 * is the endpoint's delivery log.
 */
import { eq } from 'drizzle-orm';
import { loadConfig, type Config } from '../shared/config';
import { openDb, schema, type Db } from '../shared/db';
import { runtime } from '../shared/runtime';
import { scheduleNextAttempt, settleDelivery } from './deliveries';
import { parseDeliveryMessage, type DeliveryMessage } from './messages';
import { webhookHeaders } from './signing';
import { checkWebhookUrl } from '../shared/url-policy';

export function webhookRetryDelaySec(retry: number, config: Config): number {
  const { retryBaseDelaySec, retryMaxDelaySec } = config.webhooks;
  return Math.min(retryMaxDelaySec, Math.round(retryBaseDelaySec * 2 ** Math.max(0, retry - 1)));
}

/** Attempts in all (the first plus enough retries that their delays add up to the retry window). */
export function webhookMaxAttempts(config: Config): number {
  let retries = 0;
  let covered = 0;
  while (covered < config.webhooks.retryWindowSec && retries < 100) {
    retries += 1;
    covered += webhookRetryDelaySec(retries, config);
  }
  return retries + 1;
}

type Attempt = { status: 'done' } | { status: 'retry'; delaySeconds: number };

interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status, error: null };
    if (res.status >= 300 && res.status < 400) {
      return { ok: false, statusCode: res.status, error: `redirect to ${res.headers.get('Location') ?? '(no Location)'} not followed` };
    }
    return { ok: false, statusCode: res.status, error: `receiver answered ${res.status}` };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, statusCode: null, error: `no answer within ${timeoutMs} ms` };
    return { ok: false, statusCode: null, error: `request failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500) };
  }
}

export async function attemptDelivery(db: Db, config: Config, message: DeliveryMessage): Promise<Attempt> {
  const found = await db
    .select({ delivery: schema.webhookDeliveries, endpoint: schema.webhookEndpoints })
    .from(schema.webhookDeliveries)
    .innerJoin(schema.webhookEndpoints, eq(schema.webhookEndpoints.id, schema.webhookDeliveries.endpointId))
    .where(eq(schema.webhookDeliveries.id, message.deliveryId))
    .get();
  // Unknown, already settled, or a message of an earlier round (a redeliver started a new one): nothing to do.
  if (!found || found.delivery.round !== message.round || found.delivery.status !== 'pending') return { status: 'done' };
  const { delivery, endpoint } = found;
  const now = runtime().now();
  const settle = (status: 'succeeded' | 'failed', result: AttemptResult) => settleDelivery(db, delivery, message.round, status, result, now);
  if (endpoint.deletedAt !== null) {
    await settle('failed', { ok: false, statusCode: null, error: 'the endpoint was deleted' });
    return { status: 'done' };
  }
  const verdict = checkWebhookUrl(endpoint.url, { maxLength: config.webhooks.maxUrlLength, allowPrivate: config.webhooks.allowPrivateUrls });
  if (verdict.status === 'refused') {
    await settle('failed', { ok: false, statusCode: null, error: verdict.reason });
    return { status: 'done' };
  }
  const headers = await webhookHeaders(endpoint.secret, delivery.id, Math.floor(now / 1000), delivery.payload);
  const result = await post(verdict.url, headers, delivery.payload, config.webhooks.timeoutMs);
  if (result.ok) {
    await settle('succeeded', result);
    return { status: 'done' };
  }
  const attempts = delivery.attempts + 1;
  if (attempts >= webhookMaxAttempts(config)) {
    await settle('failed', { ...result, error: `gave up after ${attempts} attempts: ${result.error}` });
    return { status: 'done' };
  }
  const delaySeconds = webhookRetryDelaySec(attempts, config);
  await scheduleNextAttempt(db, delivery, message.round, attempts, result, now, now + delaySeconds * 1000);
  return { status: 'retry', delaySeconds };
}

export async function handleWebhookBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = loadConfig(env);
  const db = openDb(env.DB);
  await Promise.all(
    batch.messages.map(async (msg) => {
      const message = parseDeliveryMessage(msg.body);
      if (!message) {
        console.error(`dropping malformed webhook message ${msg.id}`);
        msg.ack();
        return;
      }
      try {
        const outcome = await attemptDelivery(db, config, message);
        if (outcome.status === 'retry') msg.retry({ delaySeconds: outcome.delaySeconds });
        else msg.ack();
      } catch (err) {
        // Our own failure (D1 unavailable): the receiver was not necessarily tried; retry soon.
        console.error(`webhook delivery ${message.deliveryId} failed internally`, err);
        msg.retry({ delaySeconds: config.webhooks.retryBaseDelaySec });
      }
    }),
  );
}

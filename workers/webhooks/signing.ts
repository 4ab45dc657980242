/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, as Svix and others verify them):
 *   webhook-id         the message id (the same on every retry and redelivery of the message)
 *   webhook-timestamp  seconds since the epoch of this attempt
 *   webhook-signature  `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 * where the secret is `whsec_` + base64(key) and `key` is 24 random bytes.
 */
import { runtime } from '../shared/runtime';

const SECRET_PREFIX = 'whsec_';

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${toBase64(runtime().randomBytes(24))}`;
}

export async function signWebhook(secret: string, id: string, timestampSec: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', fromBase64(secret.slice(SECRET_PREFIX.length)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestampSec}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

export async function webhookHeaders(secret: string, id: string, timestampSec: number, body: string): Promise<Record<string, string>> {
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'edge-video-webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': await signWebhook(secret, id, timestampSec, body),
  };
}

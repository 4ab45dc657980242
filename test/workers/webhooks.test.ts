/**
 * Webhooks inside workerd: the endpoint API and its SSRF rules, message ids and idempotent emission, the Standard
 * Webhooks signature checked by the independent `standardwebhooks` package, the retry schedule, and the consumer's
 * decisions that need no live receiver (receivers that answer 500, hang or redirect: test/node/integrations-e2e).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/shared/config';
import { openDb, schema } from '../../workers/shared/db';
import { handleWebhookBatch, webhookMaxAttempts, webhookRetryDelaySec } from '../../workers/webhooks/delivery';
import { sweepLostDeliveries } from '../../workers/webhooks/sweeper';
import { emitVideoEvent } from '../../workers/webhooks/events';
import { webhookHeaders } from '../../workers/webhooks/signing';
import { checkWebhookUrl } from '../../workers/shared/url-policy';
import { api, newCreator, newVideo } from './helpers';

interface Created {
  id: string;
  url: string;
  events: string[];
  secret: string;
}

async function register(token: string, json: unknown = { url: 'https://hooks.example.com/video', events: ['video.ready', 'upload.completed'] }) {
  return api('/v1/webhooks', { method: 'POST', token, json });
}

async function deliveries(token: string, id: string) {
  const res = await api(`/v1/webhooks/${id}/deliveries`, { token });
  expect(res.status).toBe(200);
  return (await res.json<{ deliveries: { id: string; event: string; status: string; attempts: number; lastError: string | null; payload: { type: string; data: { videoId: string } } }[] }>()).deliveries;
}

async function runConsumer(messages: { deliveryId: string; round: number }[]) {
  const batch = createMessageBatch(
    'webhook-deliveries',
    messages.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await handleWebhookBatch(batch, env);
  return getQueueResult(batch, ctx);
}

describe('POST/GET/DELETE /v1/webhooks', () => {
  it('registers an endpoint, returns its whsec_ secret once, lists and deletes it', async () => {
    const { token } = await newCreator();
    const res = await register(token);
    expect(res.status).toBe(201);
    const created = await res.json<Created>();
    expect(created).toMatchObject({ url: 'https://hooks.example.com/video', events: ['video.ready', 'upload.completed'] });
    expect(created.id).toMatch(/^wh_/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const listed = await (await api('/v1/webhooks', { token })).json<{ webhooks: Record<string, unknown>[] }>();
    expect(listed.webhooks).toHaveLength(1);
    expect(listed.webhooks[0]).not.toHaveProperty('secret');
    const other = await newCreator('other');
    expect((await api(`/v1/webhooks/${created.id}`, { token: other.token })).status).toBe(404);
    expect((await api(`/v1/webhooks/${created.id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await api(`/v1/webhooks/${created.id}`, { token })).status).toBe(404);
    expect((await api('/v1/webhooks', { method: 'POST', json: {} })).status).toBe(401);
  });

  it.each([
    ['a ftp URL', 'ftp://hooks.example.com/x', /http or https/],
    ['a javascript: URL', 'javascript:alert(1)', /http or https/],
    ['a relative URL', '/hooks', /absolute http\(s\) URL/],
    ['a URL longer than 2048 characters', `https://hooks.example.com/${'a'.repeat(2048)}`, /at most 2048 characters/],
    ['loopback', 'http://127.0.0.1:9300/hook', /loopback/],
    ['loopback as a decimal number', 'http://2130706433/hook', /loopback/],
    ['localhost', 'http://localhost:8080/hook', /local name/],
    ['a private 10/8 address', 'https://10.1.2.3/hook', /private/],
    ['a private 192.168/16 address', 'https://192.168.0.10/hook', /private/],
    ['link-local (cloud metadata)', 'http://169.254.169.254/latest/meta-data', /link-local/],
    ['IPv6 loopback', 'http://[::1]/hook', /loopback/],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['IPv6 unique local', 'http://[fd00::1]/hook', /unique local/],
    ['credentials in the URL', 'https://user:pw@hooks.example.com/', /credentials/],
  ])('refuses %s with 400', async (_what, url, message) => {
    const { token } = await newCreator();
    const res = await register(token, { url, events: ['video.ready'] });
    expect(res.status).toBe(400);
    const body = await res.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(message);
  });

  it.each([
    ['an unknown event', { url: 'https://h.example.com/', events: ['video.exploded'] }, /events must be some of/],
    ['no events', { url: 'https://h.example.com/', events: [] }, /at least one event/],
    ['a missing url', { events: ['video.ready'] }, /url is required/],
    ['an unknown field', { url: 'https://h.example.com/', events: ['video.ready'], secret: 'mine' }, /unknown field\(s\): secret/],
  ])('refuses %s with 400', async (_what, json, message) => {
    const { token } = await newCreator();
    const res = await register(token, json);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(message);
  });

  it('allows loopback receivers only in local mode', () => {
    expect(checkWebhookUrl('http://127.0.0.1:9300/hook', { maxLength: 2048, allowPrivate: true })).toEqual({ status: 'ok', url: 'http://127.0.0.1:9300/hook' });
    expect(checkWebhookUrl('ftp://127.0.0.1/', { maxLength: 2048, allowPrivate: true }).status).toBe('refused');
  });
});

describe('signing', () => {
  it('produces Standard Webhooks headers that the standardwebhooks package verifies', async () => {
    const { token } = await newCreator();
    const { secret } = await (await register(token)).json<Created>();
    const body = JSON.stringify({ type: 'video.ready', data: { videoId: 'vid_x' } });
    const now = Math.floor(Date.now() / 1000);
    const headers = await webhookHeaders(secret, 'msg_abc', now, body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    const { secret: otherSecret } = await (await register(token)).json<Created>();
    expect(() => new Webhook(otherSecret).verify(body, headers)).toThrow();
  });
});

describe('events and deliveries', () => {
  it('emits one message per subscribed endpoint with a stable id; a repeated emission is the same message', async () => {
    const { token } = await newCreator();
    const subscribed = await (await register(token)).json<Created>();
    const notSubscribed = await (await register(token, { url: 'https://other.example.com/', events: ['video.deleted'] })).json<Created>();
    const { id: videoId } = await newVideo(token, 'evented');
    expect(await emitVideoEvent(env, 'video.ready', videoId)).toBe(1);
    expect(await emitVideoEvent(env, 'video.ready', videoId)).toBe(0);
    const log = await deliveries(token, subscribed.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ event: 'video.ready', status: 'pending', payload: { type: 'video.ready', data: { videoId } } });
    expect(log[0]!.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(await deliveries(token, notSubscribed.id)).toHaveLength(0);
  });

  it('retries an unreachable receiver with backoff and records the attempt; covers at least a day before failing', async () => {
    const { token, creatorId } = await newCreator();
    const config = loadConfig(env);
    const db = openDb(env.DB);
    // An unresolvable public name: the attempt fails like a receiver that is down.
    await db.insert(schema.webhookEndpoints).values({ id: 'wh_down', creatorId, url: 'https://receiver.invalid/hook', events: '["video.ready"]', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: Date.now() });
    const { id: videoId } = await newVideo(token);
    await emitVideoEvent(env, 'video.ready', videoId);
    const [pending] = await deliveries(token, 'wh_down');
    const result = await runConsumer([{ deliveryId: pending!.id, round: 0 }]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m0']);
    const [after] = await deliveries(token, 'wh_down');
    expect(after).toMatchObject({ status: 'pending', attempts: 1, lastError: expect.stringMatching(/request failed|answered/) });
    const row = await env.DB.prepare('SELECT last_attempt_at, next_attempt_at FROM webhook_deliveries WHERE id = ?').bind(pending!.id).first<{ last_attempt_at: number; next_attempt_at: number }>();
    expect(row!.next_attempt_at - row!.last_attempt_at).toBe(webhookRetryDelaySec(1, config) * 1000);

    let covered = 0;
    const attempts = webhookMaxAttempts(config);
    for (let retry = 1; retry < attempts; retry++) covered += webhookRetryDelaySec(retry, config);
    expect(covered).toBeGreaterThanOrEqual(24 * 3600);
    expect(attempts).toBe(14);
    expect(Math.max(...Array.from({ length: attempts }, (_, i) => webhookRetryDelaySec(i + 1, config)))).toBeLessThanOrEqual(12 * 3600);

    // The last allowed attempt fails for good: marked failed, acked.
    await env.DB.prepare('UPDATE webhook_deliveries SET attempts = ? WHERE id = ?').bind(attempts - 1, pending!.id).run();
    const last = await runConsumer([{ deliveryId: pending!.id, round: 0 }]);
    expect(last.explicitAcks).toEqual(['m0']);
    const [failed] = await deliveries(token, 'wh_down');
    expect(failed).toMatchObject({ status: 'failed', attempts, lastError: expect.stringMatching(/^gave up after 14 attempts/) });
  });

  it('re-checks the URL at delivery time: a private address stored earlier fails without a request', async () => {
    const { token, creatorId } = await newCreator();
    const db = openDb(env.DB);
    await db.insert(schema.webhookEndpoints).values({ id: 'wh_private', creatorId, url: 'http://10.0.0.5/hook', events: '["video.deleted"]', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: Date.now() });
    const { id: videoId } = await newVideo(token);
    await emitVideoEvent(env, 'video.deleted', videoId);
    const [d] = await deliveries(token, 'wh_private');
    expect((await runConsumer([{ deliveryId: d!.id, round: 0 }])).explicitAcks).toEqual(['m0']);
    const [after] = await deliveries(token, 'wh_private');
    expect(after).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringMatching(/private address/) });
  });

  it('redeliver queues the same message id again; messages of an earlier round are dropped', async () => {
    const { token, creatorId } = await newCreator();
    const db = openDb(env.DB);
    await db.insert(schema.webhookEndpoints).values({ id: 'wh_redo', creatorId, url: 'http://10.0.0.6/hook', events: '["video.failed"]', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: Date.now() });
    const { id: videoId } = await newVideo(token);
    await emitVideoEvent(env, 'video.failed', videoId);
    const [d] = await deliveries(token, 'wh_redo');
    await runConsumer([{ deliveryId: d!.id, round: 0 }]);
    const res = await api(`/v1/webhooks/wh_redo/deliveries/${d!.id}/redeliver`, { method: 'POST', token });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id: d!.id, status: 'pending', attempts: 0 });
    const stale = await runConsumer([{ deliveryId: d!.id, round: 0 }]);
    expect(stale.explicitAcks).toEqual(['m0']);
    expect((await deliveries(token, 'wh_redo'))[0]).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await api(`/v1/webhooks/wh_redo/deliveries/msg_nope/redeliver`, { method: 'POST', token })).status).toBe(404);
    expect((await api(`/v1/webhooks/wh_redo/deliveries?limit=0`, { token })).status).toBe(400);
  });
});

describe('sweepLostDeliveries (cron)', () => {
  it('sends a delivery again whose message was lost, once per sweep, and leaves recent ones alone', async () => {
    const { token, creatorId } = await newCreator();
    const db = openDb(env.DB);
    const config = loadConfig(env);
    await db.insert(schema.webhookEndpoints).values({ id: 'wh_lost', creatorId, url: 'https://hooks.example.com/lost', events: '["video.deleted"]', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: Date.now() });
    const { id: videoId } = await newVideo(token);
    await emitVideoEvent(env, 'video.deleted', videoId);
    const now = Date.now();
    expect(await sweepLostDeliveries(env, db, config, now)).toBe(0);
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = 'wh_lost'").bind(now - 3600_000).run();
    expect(await sweepLostDeliveries(env, db, config, now)).toBe(1);
    expect(await sweepLostDeliveries(env, db, config, now)).toBe(0);
  });
});

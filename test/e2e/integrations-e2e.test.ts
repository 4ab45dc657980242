/**
 * End to end against the shared local stack (wrangler dev + the transcoder process; shared-stack.ts): a direct creator upload made by
 * the unmodified tus-js-client with no credentials becomes READY, and webhook receivers on 127.0.0.1 (allowed in
 * local mode) get Standard Webhooks deliveries whose signatures verify with two independent verifiers (the
 * `standardwebhooks` package and node:crypto). Receivers that fail, hang or redirect are retried with the same
 * webhook-id, never followed, and end up failed without holding back the healthy one. The retry schedule is
 * shortened through the shared stack's vars (base 1 s, cap 2 s, window 4 s → 4 attempts) so the test takes seconds.
 * Webhook endpoints belong to this file's creator: no other file's videos reach its receivers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Webhook } from 'standardwebhooks';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackClient } from '../helpers/local-stack';
import { sharedStack } from '../helpers/shared-stack';
import { makeSource, waitForStatus } from '../helpers/transcoding-media';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Standard Webhooks verification written from the spec with node:crypto (independent of the server's code). */
function verifyByHand(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`;
  const expected = createHmac('sha256', key).update(signed).digest();
  return (r.headers['webhook-signature'] ?? '').split(' ').some((sig) => {
    const [version, value] = sig.split(',');
    const got = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('direct creator uploads and webhooks on the local stack', () => {
  let stack: StackClient;
  let receiver: Server;
  let receiverOrigin = '';
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  let flakyFailuresLeft = 2;
  let dir = '';
  let clip = '';
  const secrets: Record<string, string> = {};
  const endpointIds: Record<string, string> = {};

  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${stack.origin}${p}`, { ...init, headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        received.push({ path: req.url ?? '', headers, body });
        if (req.url === '/hang') return void hanging.push(res);
        if (req.url === '/redirect') return void res.writeHead(302, { Location: `${receiverOrigin}/stolen` }).end();
        if (req.url === '/flaky' && flakyFailuresLeft-- > 0) return void res.writeHead(500).end('not yet');
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    receiverOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    dir = mkdtempSync(path.join(os.tmpdir(), 'integrations-e2e-'));
    clip = await makeSource(path.join(dir, 'clip.mp4'), { width: 320, height: 240, seconds: 2 });
    stack = await sharedStack('integrations e2e');
    for (const [name, events] of Object.entries({ good: ['upload.completed', 'video.ready'], flaky: ['upload.completed'], hang: ['upload.completed'], redirect: ['upload.completed'], ends: ['video.failed', 'video.deleted'] })) {
      const res = await api('/v1/webhooks', { method: 'POST', body: JSON.stringify({ url: `${receiverOrigin}/${name}`, events }) });
      expect(res.status).toBe(201);
      const created = (await res.json()) as { id: string; secret: string };
      secrets[name] = created.secret;
      endpointIds[name] = created.id;
    }
  });

  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const deliveriesOf = async (name: string) =>
    ((await (await api(`/v1/webhooks/${endpointIds[name]}/deliveries`)).json()) as { deliveries: { id: string; event: string; status: string; attempts: number; lastStatusCode: number | null; lastError: string | null }[] }).deliveries;

  it('tus-js-client uploads through the URL with no credentials; the video becomes READY; the URL is spent', async () => {
    const created = await api('/v1/direct_uploads', { method: 'POST', body: JSON.stringify({ title: 'from a browser', maxSizeBytes: 50_000_000, metadata: { courseId: 'c1' } }) });
    expect(created.status).toBe(201);
    const { uploadURL, videoId } = (await created.json()) as { uploadURL: string; videoId: string };
    const file = readFileSync(clip);
    const sentHeaders: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const upload = new tus.Upload(file, {
        endpoint: uploadURL,
        metadata: { filename: 'clip.mp4', filetype: 'video/mp4' },
        chunkSize: 1024 * 1024,
        retryDelays: [],
        onBeforeRequest: (req) => {
          for (const name of ['Authorization', 'authorization']) if (req.getHeader(name)) sentHeaders.push(name);
        },
        onError: reject,
        onSuccess: () => resolve(),
      });
      upload.start();
    });
    expect(sentHeaders).toEqual([]);
    const video = await waitForStatus(stack, videoId, ['READY', 'FAILED']);
    expect(video.status).toBe('READY');

    const reuse = await fetch(uploadURL, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
    expect(reuse.status).toBe(410);
    const reused = await new Promise<string>((resolve) => {
      new tus.Upload(file, { endpoint: uploadURL, retryDelays: [], onError: (err) => resolve(String(err)), onSuccess: () => resolve('succeeded') }).start();
    });
    expect(reused).toMatch(/410/);

    // The healthy receiver: exactly one upload.completed and one video.ready, both verifying independently.
    const good = await until('upload.completed and video.ready at the good receiver', async () => {
      const got = received.filter((r) => r.path === '/good');
      return got.length >= 2 ? got : null;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const goodNow = received.filter((r) => r.path === '/good');
    expect(goodNow).toHaveLength(2);
    const types = good.map((r) => (JSON.parse(r.body) as { type: string }).type).sort();
    expect(types).toEqual(['upload.completed', 'video.ready']);
    for (const r of goodNow) {
      expect(new Webhook(secrets.good!).verify(r.body, r.headers)).toMatchObject({ data: { videoId, directUpload: { metadata: { courseId: 'c1' } } } });
      expect(verifyByHand(secrets.good!, r)).toBe(true);
      expect(verifyByHand(secrets.flaky!, r)).toBe(false);
    }
    expect(new Set(goodNow.map((r) => r.headers['webhook-id'])).size).toBe(2);
  });

  it('retries a receiver answering 500 with the same webhook-id until it succeeds', async () => {
    const flaky = await until('three attempts at /flaky', async () => {
      const got = received.filter((r) => r.path === '/flaky');
      return got.length >= 3 ? got : null;
    });
    expect(new Set(flaky.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of flaky) expect(verifyByHand(secrets.flaky!, r)).toBe(true);
    const [delivery] = await until('the flaky delivery to succeed', async () => {
      const d = await deliveriesOf('flaky');
      return d[0]?.status === 'succeeded' ? d : null;
    });
    expect(delivery).toMatchObject({ event: 'upload.completed', attempts: 3, lastStatusCode: 200, id: flaky[0]!.headers['webhook-id'] });
  });

  it('gives up on a hanging receiver and a redirecting one after the bounded attempts; redirects are not followed', async () => {
    const [hang] = await until('the hanging delivery to fail', async () => {
      const d = await deliveriesOf('hang');
      return d[0]?.status === 'failed' ? d : null;
    });
    expect(hang).toMatchObject({ attempts: 4, lastError: expect.stringMatching(/gave up after 4 attempts: no answer within 1500 ms/) });
    const [redirect] = await until('the redirected delivery to fail', async () => {
      const d = await deliveriesOf('redirect');
      return d[0]?.status === 'failed' ? d : null;
    });
    expect(redirect).toMatchObject({ attempts: 4, lastStatusCode: 302, lastError: expect.stringMatching(/redirect to .*\/stolen not followed/) });
    expect(received.filter((r) => r.path === '/stolen')).toHaveLength(0);
    const redirectIds = new Set(received.filter((r) => r.path === '/redirect').map((r) => r.headers['webhook-id']));
    expect([...redirectIds]).toEqual([redirect!.id]);
    // The healthy receiver was not held back: its upload.completed needed one attempt.
    expect((await deliveriesOf('good')).map((d) => d.attempts)).toEqual([1, 1]);

    // Redeliver: the same message id again, to a receiver that now answers.
    const again = await api(`/v1/webhooks/${endpointIds.redirect}/deliveries/${redirect!.id}/redeliver`, { method: 'POST' });
    expect(again.status).toBe(202);
  });

  it('fails a direct upload longer than its maxDurationSeconds after analysis, with the reason', async () => {
    const created = await api('/v1/direct_uploads', { method: 'POST', body: JSON.stringify({ maxDurationSeconds: 1 }) });
    const { uploadURL, videoId } = (await created.json()) as { uploadURL: string; videoId: string };
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(readFileSync(clip), { endpoint: uploadURL, metadata: { filename: 'long.mp4' }, retryDelays: [], onError: reject, onSuccess: () => resolve() }).start();
    });
    const video = (await waitForStatus(stack, videoId, ['READY', 'FAILED'])) as { status: string; error?: string };
    expect(video.status).toBe('FAILED');
    expect(video.error).toMatch(/longer than the 1 s this direct upload allows \(maxDurationSeconds\)/);

    // video.failed carries the reason; deleting the video sends video.deleted.
    expect((await api(`/v1/videos/${videoId}`, { method: 'DELETE' })).status).toBe(204);
    const ends = await until('video.failed and video.deleted', async () => {
      const got = received.filter((r) => r.path === '/ends');
      return got.length >= 2 ? got : null;
    });
    const events = ends.map((r) => {
      expect(new Webhook(secrets.ends!).verify(r.body, r.headers)).toBeTruthy();
      return JSON.parse(r.body) as { type: string; data: { videoId: string; error?: string } };
    });
    expect(events.map((e) => e.type).sort()).toEqual(['video.deleted', 'video.failed']);
    expect(events.find((e) => e.type === 'video.failed')!.data).toMatchObject({ videoId, error: expect.stringMatching(/maxDurationSeconds/) });
  });

  it('serves an OpenAPI document that a validator accepts', async () => {
    const doc = (await (await fetch(`${stack.origin}/openapi.json`)).json()) as Parameters<Validator['validate']>[0];
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });
});

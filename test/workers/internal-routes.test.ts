/**
 * The internal routes under the production configuration (wrangler.toml [vars] as deployed) and the local one
 * (the test bindings, as `npm start` passes them): one bearer-auth guard, bench and storage routes only where enabled.
 * Also the request id and /healthz every request path shares.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import wranglerToml from '../../wrangler.toml?raw';
import { app } from '../../workers/app';
import { loadConfig } from '../../workers/shared/config';
import { keys } from '../../workers/shared/storage-keys';
import { api, BASE } from './helpers';

/** The `key = value` lines of the array-of-tables entry `[[name]]` whose `match` key has `value`. */
function tomlEntry(name: string, match: string, value: string): Record<string, string> {
  for (const block of wranglerToml.split(`[[${name}]]`).slice(1)) {
    const body = block.split(/^\[/m)[0]!;
    const entries = Object.fromEntries([...body.matchAll(/^([a-z_]+)\s*=\s*"?([^"\n]*)"?\s*$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    if (entries[match] === value) return entries;
  }
  throw new Error(`no [[${name}]] with ${match} = ${value} in wrangler.toml`);
}

/** The [vars] table of wrangler.toml: `NAME = "value"` lines up to the next table. */
function productionVars(): Record<string, string> {
  const section = wranglerToml.split(/^\[vars\]$/m)[1]!.split(/^\[/m)[0]!;
  return Object.fromEntries([...section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]));
}

const internal = { Authorization: `Bearer ${env.INTERNAL_TOKEN}` };
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

function asDeployed(path: string, init: RequestInit = {}): Promise<Response> {
  return Promise.resolve(app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...productionVars() }, ctx));
}

describe('production configuration (wrangler.toml [vars])', () => {
  it('defaults to the container binding and the request origin, with bench routes off and no loopback address', () => {
    const vars = productionVars();
    // The production values of the deployment switches; the other vars are tunables (docs/…), none a local address.
    expect(vars).toMatchObject({ TRANSCODER_URL: 'container', PUBLIC_ORIGIN: '', BENCH_ROUTES: '0', LOG_LEVEL: 'info', WEBHOOKS_ALLOW_PRIVATE_URLS: 'false' });
    expect(Object.values(vars).join(' ')).not.toMatch(/127\.0\.0\.1|localhost/);
    // Test-only switches are never deployed: the transcoder's mid-encode holds (containers/transcoder/src/hold.ts).
    expect(vars).not.toHaveProperty('TRANSCODER_HOLD_UNITS');
  });

  it('runs one transcode unit per container instance, admits no more units than max_instances, on a sized instance type', () => {
    const container = tomlEntry('containers', 'class_name', 'TranscoderContainer');
    const consumer = tomlEntry('queues.consumers', 'queue', 'transcode-jobs');
    const transcoding = loadConfig({ ...env, ...productionVars() } as unknown as Record<string, unknown>).transcoding;
    // docs/parallel-transcoding.md "Production settings": these numbers are the ones documented there.
    expect(container).toMatchObject({ instance_type: 'standard-2', max_instances: '50' });
    expect(transcoding.maxRunningUnits).toBe(Number(container.max_instances));
    expect(transcoding.chunkSec).toBe(60);
    // The consumer only dispatches: one message per invocation, fewer consumers than instances.
    expect(consumer).toMatchObject({ max_batch_size: '1', max_concurrency: '10', dead_letter_queue: 'transcode-jobs-dlq' });
    expect(Number(consumer.max_concurrency)).toBeLessThanOrEqual(Number(container.max_instances));
  });

  it('has no storage door and no benchmark routes, even with the internal token', async () => {
    await env.MEDIA.put(keys.original('vid_prod'), 'secret original');
    for (const [path, method] of [
      ['/internal/storage/originals/vid_prod/original', 'GET'],
      ['/internal/storage?prefix=originals/vid_prod/', 'GET'],
      ['/internal/bench/discard', 'POST'],
      ['/internal/bench/r2-read/vid_prod', 'GET'],
      ['/internal/bench/videos/vid_prod/transcoded', 'POST'],
      ['/internal/views/noop', 'POST'],
      ['/__bench/noop-1mb', 'GET'],
      ['/__bench/noop-text', 'GET'],
    ] as const) {
      const res = await asDeployed(path, { method, headers: internal, body: method === 'POST' ? '{}' : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('still guards the operator routes with the internal token', async () => {
    const anonymous = await asDeployed('/internal/transcoding/videos/vid_nothing/start', { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    expect(await anonymous.json()).toEqual({ error: { code: 'unauthorized', message: 'internal token required' } });
    const wrong = await asDeployed('/internal/transcoding/videos/vid_nothing/start', { method: 'POST', headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const allowed = await asDeployed('/internal/transcoding/videos/vid_nothing/start', { method: 'POST', headers: internal });
    expect(allowed.status).toBe(409); // past the guard: no original for this video
  });
});

describe('local configuration (npm start, tests)', () => {
  it('guards every internal route with the one bearer-token middleware', async () => {
    for (const [path, method] of [
      ['/internal/storage/originals/vid_prod/original', 'GET'],
      ['/internal/storage?prefix=originals/vid_prod/', 'GET'],
      ['/internal/bench/discard', 'POST'],
      ['/internal/bench/videos/vid_prod/transcoded', 'POST'],
      ['/internal/views/noop', 'POST'],
      ['/internal/transcoding/videos/vid_prod/start', 'POST'],
    ] as const) {
      const res = await api(path, { method, headers: { Authorization: 'Bearer wrong' } });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const discard = await api('/internal/bench/discard', { method: 'POST', headers: internal, body: 'abc' });
    expect(await discard.json()).toEqual({ bytes: 3 });
    expect((await api('/__bench/noop-text?bytes=4')).status).toBe(200);
  });
});

describe('request ids and health', () => {
  it('answers every request with a request id, keeping a sane one the client sent', async () => {
    const fresh = await api('/v1/videos/vid_missing');
    expect(fresh.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await api('/v1/videos/vid_missing', { headers: { 'X-Request-Id': 'client-chosen-id-42' } });
    expect(given.headers.get('X-Request-Id')).toBe('client-chosen-id-42');
    const junk = await api('/v1/videos/vid_missing', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(junk.headers.get('X-Request-Id')).not.toBe('bad id with spaces');
  });

  it('reports D1, R2 and the transcoder in /healthz: 503 only when D1 or R2 fails', async () => {
    const healthOf = async (overrides: Partial<Env>) => {
      const res = await app.fetch(new Request(`${BASE}/healthz`), { ...env, ...overrides }, ctx);
      return { status: res.status, body: await res.json() };
    };
    // Production: the container is not probed (a probe would start an instance), and that is healthy.
    expect(await healthOf({ TRANSCODER_URL: 'container' })).toEqual({
      status: 200,
      body: { ok: true, status: 'ok', checks: { d1: { status: 'ok' }, r2: { status: 'ok' }, transcoder: { status: 'not_probed', detail: expect.stringContaining('probing would start one') } } },
    });
    // A local transcoder that does not answer: degraded, still 200 (uploads and playback go on; jobs wait).
    expect(await healthOf({ TRANSCODER_URL: 'http://127.0.0.1:9' })).toEqual({
      status: 200,
      body: { ok: true, status: 'degraded', checks: { d1: { status: 'ok' }, r2: { status: 'ok' }, transcoder: { status: 'unreachable', detail: expect.stringContaining('http://127.0.0.1:9') } } },
    });
    const brokenDb = { prepare: () => ({ first: () => Promise.reject(new Error('D1 unavailable')) }) } as unknown as D1Database;
    expect(await healthOf({ DB: brokenDb, TRANSCODER_URL: 'container' })).toEqual({
      status: 503,
      body: { ok: false, status: 'down', checks: { d1: { status: 'failed', detail: 'D1 unavailable' }, r2: { status: 'ok' }, transcoder: expect.objectContaining({ status: 'not_probed' }) } },
    });
  });
});

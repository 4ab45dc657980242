/**
 * The Node test projects' fetch (test/helpers/fetch-retry-closed-socket.ts): an idempotent request that failed on a
 * connection the server closed is sent once more when its body can be sent again; POST, PATCH, stream bodies and
 * other errors are not repeated.
 */
import { describe, expect, it } from 'vitest';
import { retryingClosedSocket } from '../helpers/fetch-retry-closed-socket';

const closed = () => new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });

/** A fetch that fails with `errors` in turn, then answers 200; records the methods it was called with. */
function flaky(errors: Error[]) {
  const calls: string[] = [];
  const impl = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push(init?.method ?? (input instanceof Request ? input.method : 'GET'));
    const err = errors.shift();
    if (err) throw err;
    return new Response('ok');
  }) as typeof fetch;
  return { calls, fetch: retryingClosedSocket(impl) };
}

describe('fetch in Node tests: a request on a connection the server just closed', () => {
  it('a GET, a HEAD and a GET Request are sent once more and answer', async () => {
    const get = flaky([closed()]);
    expect(await (await get.fetch('http://127.0.0.1:1/a')).text()).toBe('ok');
    expect(get.calls).toEqual(['GET', 'GET']);
    const head = flaky([closed()]);
    expect((await head.fetch('http://127.0.0.1:1/a', { method: 'HEAD' })).status).toBe(200);
    expect(head.calls).toEqual(['HEAD', 'HEAD']);
    const request = flaky([closed()]);
    expect((await request.fetch(new Request('http://127.0.0.1:1/a'))).status).toBe(200);
    expect(request.calls).toEqual(['GET', 'GET']);
  });

  it('a PUT with bytes and a DELETE are sent once more with the same body', async () => {
    const bodies: (string | null)[] = [];
    let failed = false;
    const impl = (async (_input: string | URL | Request, init?: RequestInit) => {
      bodies.push(init?.body == null ? null : Buffer.from(init.body as Uint8Array).toString());
      if (!failed) {
        failed = true;
        throw closed();
      }
      return new Response(null, { status: 201 });
    }) as typeof fetch;
    const put = retryingClosedSocket(impl);
    expect((await put('http://127.0.0.1:1/a', { method: 'PUT', body: new TextEncoder().encode('segment') })).status).toBe(201);
    expect(bodies).toEqual(['segment', 'segment']);
    const del = flaky([closed()]);
    expect((await del.fetch('http://127.0.0.1:1/a', { method: 'DELETE' })).status).toBe(200);
    expect(del.calls).toEqual(['DELETE', 'DELETE']);
  });

  it('a PUT whose body is a stream is not repeated (it cannot be sent again)', async () => {
    const f = flaky([closed()]);
    const body = new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array([1])), c.close()) });
    await expect(f.fetch('http://127.0.0.1:1/a', { method: 'PUT', body, duplex: 'half' } as RequestInit)).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(f.calls).toEqual(['PUT']);
  });

  it('only once: a second closed socket fails the request', async () => {
    const f = flaky([closed(), closed()]);
    await expect(f.fetch('http://127.0.0.1:1/a')).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(f.calls).toHaveLength(2);
  });

  it('a POST, a PATCH, and a GET that failed otherwise, are not repeated', async () => {
    const post = flaky([closed()]);
    await expect(post.fetch('http://127.0.0.1:1/a', { method: 'POST', body: 'x' })).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(post.calls).toEqual(['POST']);
    const patch = flaky([closed()]);
    await expect(patch.fetch('http://127.0.0.1:1/a', { method: 'PATCH', body: '{}' })).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(patch.calls).toEqual(['PATCH']);
    const refused = flaky([new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })]);
    await expect(refused.fetch('http://127.0.0.1:1/a')).rejects.toThrow('fetch failed');
    expect(refused.calls).toEqual(['GET']);
  });
});

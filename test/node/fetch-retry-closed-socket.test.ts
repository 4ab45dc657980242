/**
 * The Node test projects' fetch (test/helpers/fetch-retry-closed-socket.ts): a GET or HEAD that failed on a
 * connection the server closed is sent once more; other methods and other errors are not repeated.
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

  it('only once: a second closed socket fails the request', async () => {
    const f = flaky([closed(), closed()]);
    await expect(f.fetch('http://127.0.0.1:1/a')).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(f.calls).toHaveLength(2);
  });

  it('a POST, and a GET that failed otherwise, are not repeated', async () => {
    const post = flaky([closed()]);
    await expect(post.fetch('http://127.0.0.1:1/a', { method: 'POST', body: 'x' })).rejects.toMatchObject({ cause: { code: 'UND_ERR_SOCKET' } });
    expect(post.calls).toEqual(['POST']);
    const refused = flaky([new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })]);
    await expect(refused.fetch('http://127.0.0.1:1/a')).rejects.toThrow('fetch failed');
    expect(refused.calls).toEqual(['GET']);
  });
});

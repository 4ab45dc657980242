/**
 * Setup file of the Node test projects (vitest.config.ts): `fetch` of a GET or HEAD that fails because the server
 * closed the kept-alive connection it was sent on ("other side closed", UND_ERR_SOCKET) is sent once more, on a new
 * connection, as browsers do for idempotent requests. wrangler dev's proxy closes idle keep-alive sockets, and on a
 * loaded machine Node's fetch now and then reuses one just as it closes; the request never reached the Worker.
 * Requests with other methods are not repeated here (test/helpers/local-stack.ts `stackFetch` does it where a
 * repeat is harmless).
 */
const methodOf = (input: Parameters<typeof fetch>[0], init?: RequestInit): string =>
  (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();

const closedSocket = (err: unknown): boolean =>
  err instanceof TypeError && (err.cause as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET';

/** `fetchOnce` with that one retry. */
export function retryingClosedSocket(fetchOnce: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchOnce(input, init);
    } catch (err) {
      const method = methodOf(input, init);
      if ((method !== 'GET' && method !== 'HEAD') || !closedSocket(err) || init?.signal?.aborted) throw err;
      return fetchOnce(input, init);
    }
  };
}

globalThis.fetch = retryingClosedSocket(globalThis.fetch);

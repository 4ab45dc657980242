/**
 * Setup file of the Node test projects (vitest.config.ts): `fetch` of an idempotent request (GET, HEAD, OPTIONS,
 * PUT, DELETE: RFC 9110 §9.2.2) that fails because the server closed the kept-alive connection it was sent on
 * ("other side closed", UND_ERR_SOCKET) is sent once more, on a new connection, as browsers and HTTP clients do for
 * idempotent requests. wrangler dev's proxy closes idle keep-alive sockets, and on a loaded machine Node's fetch now
 * and then reuses one just as it closes; the request never reached the Worker. A request is repeated only when its
 * body can be sent again (none, a string, bytes, a Blob, form data; not a stream, not a Request with a body). POST and
 * PATCH are not repeated here (test/helpers/local-stack.ts `stackFetch` does it where a repeat is harmless).
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

const methodOf = (input: Parameters<typeof fetch>[0], init?: RequestInit): string =>
  (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();

/** Whether the same `init.body` can be sent a second time. */
const replayable = (input: Parameters<typeof fetch>[0], init?: RequestInit): boolean => {
  if (input instanceof Request && input.body !== null && init?.body === undefined) return false;
  const body = init?.body;
  return body === undefined || body === null || typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
    body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData;
};

const closedSocket = (err: unknown): boolean =>
  err instanceof TypeError && (err.cause as { code?: string } | undefined)?.code === 'UND_ERR_SOCKET';

/** `fetchOnce` with that one retry. */
export function retryingClosedSocket(fetchOnce: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchOnce(input, init);
    } catch (err) {
      if (!IDEMPOTENT.has(methodOf(input, init)) || !replayable(input, init) || !closedSocket(err) || init?.signal?.aborted) throw err;
      return fetchOnce(input, init);
    }
  };
}

globalThis.fetch = retryingClosedSocket(globalThis.fetch);

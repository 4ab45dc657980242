/**
 * The playback edge cache (Workers Cache API).
 *
 * - Key: the canonical public path (no token, no query) on a fixed internal origin, so every viewer, whatever
 *   their token, shares one cached copy, and a query string can never fragment the cache.
 * - Single-flight: concurrent misses on one key in this isolate run `produce` (the R2 read) once. The first
 *   request (leader) tees the body: one branch streams to its client, the other into `cache.put`. Followers wait
 *   for the put and are then served from the cache; if the put fails they fall back to their own origin read.
 *   Followers never touch the leader's stream: I/O objects cannot cross request contexts in workerd.
 * - Range (workers/shared/range.ts): the cache holds the full object; a range request is matched with a normalised
 *   single-range header (the Cache API answers 206 from a stored 200). If a cache implementation ignores the range,
 *   the body is sliced. A malformed Range header is ignored (the whole object, 200), as the RFC allows: players
 *   only send one well-formed range, and ignoring is the answer every client handles.
 * - Conditional: `If-None-Match` is evaluated here against the stored ETag, before any range (RFC 9110 §13.2.2).
 * - In front of it all, the per-isolate memory cache (hot-cache.ts) for the hottest objects.
 */
import { countOperation } from '../metering/operations';
import { errorResponse } from '../shared/errors';
import { runtime } from '../shared/runtime';
import { waitAtMost } from '../shared/shared-work';
import { hotDelete, hotGet, hotPut, type HotLimits } from './hot-cache';
import { contentRange, parseRange, resolveRange, UNSATISFIABLE, type ByteRange } from '../shared/range';

export const CACHE_ORIGIN = 'https://playback.internal';
export const cacheUrl = (canonicalPath: string) => `${CACHE_ORIGIN}${canonicalPath}`;

/** What an origin read yields for one object. `headers` carry Content-Type, Cache-Control, ETag, Content-Length. */
export interface OriginObject {
  body: ReadableStream<Uint8Array> | string;
  headers: Headers;
}

export type CacheStatus = 'HIT' | 'MISS';

/** Headers every playback response carries, so players on other origins can read them. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges, ETag, X-Cache',
};

const inflight = new Map<string, Promise<'cached' | 'uncached'>>();

/** For tests and metrics: how many origin reads this isolate has made. */
export const originStats = { reads: 0 };

function edgeCache(): Cache | null {
  try {
    return caches.default;
  } catch {
    return null;
  }
}

function rangeHeader(range: ByteRange): string {
  return 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end ?? ''}`;
}

function etagMatches(ifNoneMatch: string | null, etag: string | null): boolean {
  if (!ifNoneMatch || !etag) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => bare(t) === bare(etag));
}

/** Copies bytes [start, end] of a stream, then cancels the rest. */
export function sliceStream(body: ReadableStream<Uint8Array>, start: number, end: number): ReadableStream<Uint8Array> {
  let offset = 0;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const from = Math.max(0, start - offset);
      const to = Math.min(value.byteLength, end + 1 - offset);
      offset += value.byteLength;
      if (to > from) controller.enqueue(value.subarray(from, to));
      if (offset > end) {
        controller.close();
        await reader.cancel();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** Every playback answer leaves through here: it is counted as a cache hit or miss (workers/metering). */
function respond(body: BodyInit | null, status: number, headers: Headers, cacheStatus: CacheStatus): Response {
  countOperation(cacheStatus === 'HIT' ? 'cache.hits' : 'cache.misses');
  headers.set('X-Cache', cacheStatus);
  headers.delete('CF-Cache-Status');
  for (const [k, v] of Object.entries(CORS_HEADERS)) headers.set(k, v);
  return new Response(body, { status, headers });
}

function unsatisfiable(size: number, cacheStatus: CacheStatus): Response {
  const refusal = errorResponse('range_not_satisfiable', `range is outside the object (${size} bytes)`, { 'Content-Range': contentRange(UNSATISFIABLE, size) });
  return respond(refusal.body, refusal.status, new Headers(refusal.headers), cacheStatus);
}

/** A stored object: from the Cache API (a stream) or from isolate memory (bytes, sent without a stream). */
interface Stored {
  status: number;
  headers: Headers;
  body: ReadableStream<Uint8Array> | Uint8Array | null;
}

const fromResponse = (res: Response): Stored => ({ status: res.status, headers: new Headers(res.headers), body: res.body });

function discard(body: Stored['body']): void {
  if (body instanceof ReadableStream) void body.cancel();
}

/**
 * Turns a stored full object into the answer for this request: 304, 206, 416, or 200; HEAD drops the body.
 * `stored` may already be a 206 when the cache applied the range itself.
 */
function answer(req: Request, stored: Stored, range: ByteRange | null, cacheStatus: CacheStatus): Response {
  const { headers, body } = stored;
  headers.set('Accept-Ranges', 'bytes');
  if (etagMatches(req.headers.get('If-None-Match'), headers.get('ETag'))) {
    discard(body);
    for (const h of ['Content-Length', 'Content-Range', 'Content-Type']) headers.delete(h);
    return respond(null, 304, headers, cacheStatus);
  }
  if (req.method === 'HEAD') {
    discard(body);
    return respond(null, stored.status, headers, cacheStatus);
  }
  if (stored.status === 416) {
    discard(body);
    const size = /\/(\d+)$/.exec(headers.get('Content-Range') ?? '')?.[1];
    return unsatisfiable(Number(size ?? 0), cacheStatus);
  }
  if (stored.status === 206) return respond(body, 206, headers, cacheStatus);
  const size = Number(headers.get('Content-Length'));
  if (range && body && Number.isFinite(size)) {
    const resolved = resolveRange(range, size);
    if (resolved.kind === 'unsatisfiable') {
      discard(body);
      return unsatisfiable(size, cacheStatus);
    }
    headers.set('Content-Range', contentRange(resolved, size));
    headers.set('Content-Length', String(resolved.end - resolved.start + 1));
    const part = body instanceof ReadableStream ? sliceStream(body, resolved.start, resolved.end) : body.subarray(resolved.start, resolved.end + 1);
    return respond(part, 206, headers, cacheStatus);
  }
  return respond(body, stored.status, headers, cacheStatus);
}

async function match(cache: Cache, key: string, range: ByteRange | null): Promise<Response | undefined> {
  const headers = range ? { Range: rangeHeader(range) } : undefined;
  return cache.match(new Request(key, { headers }));
}

async function put(cache: Cache | null, key: string, object: OriginObject, body: ReadableStream<Uint8Array> | string): Promise<'cached' | 'uncached'> {
  if (!cache) return 'uncached';
  try {
    await cache.put(key, new Response(body, { headers: object.headers }));
    return 'cached';
  } catch (err) {
    console.warn(`playback cache put failed for ${key}`, err);
    return 'uncached';
  }
}

export interface ServeOptions {
  /** Keeps cache writes alive after the response is sent. */
  waitUntil: (p: Promise<unknown>) => void;
  followerWaitMs: number;
  hot: HotLimits;
}

/**
 * Serves one playback object: memory tier, then the Cache API, then `produce` (the origin read, which throws an
 * ApiError when the object does not exist), filling the caches on the way back.
 */
export async function serveThroughCache(req: Request, key: string, produce: () => Promise<OriginObject>, options: ServeOptions): Promise<Response> {
  const { waitUntil, followerWaitMs } = options;
  const parsed = req.method === 'HEAD' ? null : parseRange(req.headers.get('Range'));
  // Malformed: ignored, the whole object is sent (RFC 9110 §14.2). Unsatisfiable: 416, once the size is known.
  const range = parsed?.kind === 'range' ? parsed.range : null;
  const hot = hotGet(key, runtime().now());
  if (hot) return answer(req, { status: 200, headers: new Headers(hot.headers), body: hot.body }, range, 'HIT');

  const cache = edgeCache();
  const hit = cache ? await match(cache, key, range) : undefined;
  if (hit) return answer(req, fromResponse(promote(req, key, hit, range, options)), range, 'HIT');

  const pending = inflight.get(key);
  if (pending) {
    // A follower: the leader's origin read fills the cache; wait for it instead of reading the origin again.
    // The wait is bounded: the fill runs at the pace of the leader's client (a tee is as fast as its slower
    // branch), and one slow viewer must not stall everyone else; and the leader's promise is another request's
    // (shared/shared-work.ts).
    if ((await waitAtMost(pending, followerWaitMs)) === 'cached' && cache) {
      const filled = await match(cache, key, range);
      if (filled) return answer(req, fromResponse(filled), range, 'HIT');
    }
    const object = await read(produce);
    return answer(req, fromResponse(new Response(object.body, { headers: object.headers })), range, 'MISS');
  }

  let settle!: (outcome: Promise<'cached' | 'uncached'>) => void;
  const flight = new Promise<'cached' | 'uncached'>((resolve) => (settle = resolve));
  inflight.set(key, flight);
  const done = flight.then(
    () => inflight.delete(key),
    () => inflight.delete(key),
  );
  waitUntil(done);

  let object: OriginObject;
  try {
    object = await read(produce);
  } catch (err) {
    // Followers repeat the read and get the same error themselves; nothing is cached for a missing object.
    settle(Promise.resolve('uncached'));
    throw err;
  }

  if (typeof object.body === 'string') {
    // Generated playlists: answer from the bytes at hand; the cache write finishes in the background.
    const bytes = new TextEncoder().encode(object.body);
    hotPut(key, bytes, object.headers, runtime().now(), options.hot);
    settle(put(cache, key, object, object.body));
    return answer(req, { status: 200, headers: new Headers(object.headers), body: bytes }, range, 'MISS');
  }
  if (!cache) {
    settle(Promise.resolve('uncached'));
    return answer(req, fromResponse(new Response(object.body, { headers: object.headers })), range, 'MISS');
  }
  if (range || req.method === 'HEAD') {
    // Partial and HEAD requests: store the whole object first, then answer from the cached copy.
    const outcome = put(cache, key, object, object.body);
    settle(outcome);
    if ((await outcome) === 'cached') {
      const stored = await match(cache, key, range);
      if (stored) return answer(req, fromResponse(stored), range, 'MISS');
    }
    const again = await read(produce);
    return answer(req, fromResponse(new Response(again.body, { headers: again.headers })), range, 'MISS');
  }

  const [toClient, toCache] = object.body.tee();
  settle(put(cache, key, object, toCache));
  return answer(req, { status: 200, headers: new Headers(object.headers), body: toClient }, null, 'MISS');
}

/** A second request for an object (a Cache API hit) copies it into the memory cache while it streams out. */
function promote(req: Request, key: string, hit: Response, range: ByteRange | null, options: ServeOptions): Response {
  const size = Number(hit.headers.get('Content-Length'));
  if (range || req.method !== 'GET' || hit.status !== 200 || !hit.body || !(size > 0) || size > options.hot.maxEntryBytes) return hit;
  const [toClient, toMemory] = hit.body.tee();
  options.waitUntil(
    new Response(toMemory)
      .arrayBuffer()
      .then((buf) => hotPut(key, new Uint8Array(buf), hit.headers, runtime().now(), options.hot))
      .catch(() => undefined),
  );
  return new Response(toClient, { status: hit.status, headers: hit.headers });
}

async function read(produce: () => Promise<OriginObject>): Promise<OriginObject> {
  originStats.reads++;
  return produce();
}

/**
 * Warming: stores the object unless it is already cached (or `replace` is set, to swap a short-lived processing
 * playlist for the final one). Shares in-flight reads with live traffic. Returns whether an origin read happened.
 */
export async function warm(key: string, produce: () => Promise<OriginObject>, replace = false): Promise<'present' | 'filled' | 'failed'> {
  const cache = edgeCache();
  if (!cache) return 'failed';
  if (!replace) {
    const existing = await cache.match(key);
    if (existing) {
      await existing.body?.cancel();
      return 'present';
    }
    const pending = inflight.get(key);
    if (pending) return (await pending) === 'cached' ? 'present' : 'failed';
  }
  const object = await read(produce);
  hotDelete(key);
  return (await put(cache, key, object, object.body)) === 'cached' ? 'filled' : 'failed';
}

/** Deletes cached copies (this location only: the Cache API has no global or prefix purge). */
export async function purge(keysToDelete: readonly string[]): Promise<number> {
  for (const key of keysToDelete) hotDelete(key);
  const cache = edgeCache();
  if (!cache) return 0;
  let deleted = 0;
  for (let i = 0; i < keysToDelete.length; i += 50) {
    const results = await Promise.all(keysToDelete.slice(i, i + 50).map((k) => cache.delete(k).catch(() => false)));
    deleted += results.filter(Boolean).length;
  }
  return deleted;
}

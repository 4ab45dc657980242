/**
 * Benchmark-only routes. They exist only when the `BENCH_ROUTES` var is "1" (set by the benchmark's local stack);
 * otherwise 404 (benchRoutesOnly in shared/internal.ts).
 * - No-op routes for `npm run bench -- edge`: the same middleware and response shape as playback, with the body
 *   from memory, so the benchmark can compare signed/cached serving against the cost of the Worker itself.
 * - `POST /internal/bench/edge-purge {paths}` (internal token): drops public playback paths from this isolate's
 *   caches, so `npm run bench -- cost` can make a chosen share of segment requests miss.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../shared/hono-env';
import { apiError } from '../shared/errors';
import { CORS_HEADERS, cacheUrl, purge } from './edge-cache';

const MiB = 1024 * 1024;
const MAX_TEXT = 64 * 1024;
let megabyte: Uint8Array<ArrayBuffer> | null = null;

/**
 * The bench's 1 MiB body: the no-op route returns exactly these bytes and the benchmark stores them as the cached
 * segment, so (a) and (b) move the same body. A varied pattern, not a constant fill: like real media, it does not
 * compress, and a constant body would flatter the baseline.
 */
export function benchBody(size = MiB): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(size));
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}
const texts = new Map<number, string>();

export const benchRoutes = new Hono<AppEnv>()
  .get('/__bench/noop-1mb', () => {
    megabyte ??= benchBody();
    return new Response(megabyte, {
      headers: { 'Content-Type': 'video/mp2t', 'Content-Length': String(MiB), 'Cache-Control': 'no-store', ...CORS_HEADERS },
    });
  })
  .get('/__bench/noop-text', (c) => {
    const bytes = Math.min(MAX_TEXT, Math.max(1, Number(c.req.query('bytes')) || 1024));
    let text = texts.get(bytes);
    if (!text) texts.set(bytes, (text = '#'.repeat(bytes)));
    return new Response(text, { headers: { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-store', ...CORS_HEADERS } });
  })
  .post('/internal/bench/edge-purge', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { paths?: unknown } | null;
    const paths = body?.paths;
    if (!Array.isArray(paths) || paths.length > 500 || !paths.every((p) => typeof p === 'string' && p.startsWith('/v/'))) {
      throw apiError('bad_request', 'paths must be an array of at most 500 public playback paths (/v/…)');
    }
    return c.json({ purged: await purge((paths as string[]).map(cacheUrl)) });
  });

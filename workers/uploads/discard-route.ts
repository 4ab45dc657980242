/**
 * Internal benchmark routes (only with BENCH_ROUTES=1, and `Authorization: Bearer $INTERNAL_TOKEN`: shared/internal.ts). `bench/upload.bench.ts` sends
 * the same bytes through these and through the chunk API in one run, to split an upload's cost into hops:
 *
 *   POST /internal/bench/discard           reads the body and drops it: the bare cost of moving bytes into this
 *                                          Worker (through wrangler's dev proxy locally). The baseline of the upload bench.
 *   POST /internal/bench/r2-put            a bare `env.MEDIA.put` of the body (no auth, no session, no D1): the
 *                                          storage ceiling. Locally that is Miniflare's R2 simulator (a JS MD5
 *                                          transform and a disk write in the same workerd), which production does
 *                                          not run. The object is deleted after the answer.
 *   GET  /internal/bench/r2-read/:videoId  streams a video's assembled original, `?hash=sha256` through the same
 *                                          DigestStream as completion or plain (drop), to split the read-back cost.
 */
import { Hono } from 'hono';
import { apiError, badRequest, notFound } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { newId, toHex } from '../shared/runtime';
import { isSafeId, keys } from '../shared/storage-keys';
import { readOriginal } from '../shared/original';
import { digestStream } from './byte-source';

async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  let bytes = 0;
  if (!body) return bytes;
  const reader = body.getReader();
  for (;;) {
    const next = await reader.read();
    if (next.done) return bytes;
    bytes += next.value.byteLength;
  }
}

export const discardRoutes = new Hono<AppEnv>()
  .post('/internal/bench/discard', async (c) => {
    return c.json({ bytes: await drain(c.req.raw.body) });
  })
  .post('/internal/bench/r2-put', async (c) => {
    const length = c.req.header('Content-Length');
    if (length === undefined || !/^\d+$/.test(length)) throw apiError('length_required', 'Content-Length is required');
    const body = c.req.raw.body;
    if (!body) throw badRequest('body is empty');
    const key = keys.benchScratch(newId('bench'));
    const put = await c.env.MEDIA.put(key, body);
    c.executionCtx.waitUntil(c.env.MEDIA.delete(key));
    return c.json({ bytes: put?.size ?? 0, etag: put?.etag ?? null });
  })
  .get('/internal/bench/r2-read/:videoId', async (c) => {
    const videoId = c.req.param('videoId');
    if (!isSafeId(videoId)) throw badRequest('bad video id');
    const started = performance.now();
    const object = await readOriginal(c.env.MEDIA, videoId);
    if (object.status !== 'ok') throw notFound('no original for this video');
    let sha256: string | null = null;
    if (c.req.query('hash') === 'sha256') {
      const digest = digestStream('SHA-256');
      await object.body.pipeTo(digest);
      sha256 = toHex(await digest.digest);
    } else {
      await drain(object.body);
    }
    return c.json({ bytes: object.head.size, sha256, ms: performance.now() - started });
  });

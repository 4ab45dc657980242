/**
 * `POST /internal/bench/discard`: reads a request body and throws it away. The upload benchmark sends the same
 * bytes here and through the chunk API in one run, to compare upload throughput with the bare cost of moving a
 * body into this Worker. Internal only: requires `Authorization: Bearer $INTERNAL_TOKEN`.
 */
import { Hono } from 'hono';
import { bearerToken, timingSafeEqual } from '../shared/auth';
import { unauthorized } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';

export const discardRoutes = new Hono<AppEnv>().post('/internal/bench/discard', async (c) => {
  const token = bearerToken(c.req.header('Authorization'));
  const expected = c.env.INTERNAL_TOKEN;
  if (!token || !expected || !timingSafeEqual(token, expected)) throw unauthorized('internal token required');
  let bytes = 0;
  const body = c.req.raw.body;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      bytes += next.value.byteLength;
    }
  }
  return c.json({ bytes });
});

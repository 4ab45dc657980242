/**
 * The operation counts (internal token, like every `/internal/` route):
 *
 *   GET  /internal/operations?from={ms}&to={ms}  → {from, to, counts: {kind: amount}} summed over those minutes
 *   POST /internal/operations/flush              → {flushed}: this isolate's pending counts written now
 *
 * The flush is for benchmarks and tests, which need the counts of a workload they just ran: in production every
 * isolate flushes on its own at most once a minute (store.ts), and this route reaches only the isolate it lands on.
 */
import { Hono } from 'hono';
import { apiError } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { runtime } from '../shared/runtime';
import { unmetered } from './metered-env';
import { flushOperations, readOperations } from './store';

const ms = (v: string | undefined, fallback: number, name: string): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw apiError('bad_request', `${name} must be milliseconds since the epoch`);
  return n;
};

export const operationRoutes = new Hono<AppEnv>()
  .get('/internal/operations', async (c) => {
    const now = runtime().now();
    const from = ms(c.req.query('from'), now - 3_600_000, 'from');
    const to = ms(c.req.query('to'), now + 60_000, 'to');
    if (to <= from) throw apiError('bad_request', 'to must be after from');
    return c.json({ from, to, counts: await readOperations(unmetered(c.env).DB, from, to) });
  })
  .post('/internal/operations/flush', async (c) => c.json({ flushed: await flushOperations(unmetered(c.env).DB, true) }));

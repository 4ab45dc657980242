/**
 * The transcoder's callback reporter against a real HTTP server that misbehaves the way wrangler dev does when its
 * Worker restarts: it closes the connection without answering ("other side closed"), or answers 503. A heartbeat
 * that fails must not reject unhandled (that killed the transcoder process); the final event is retried, bounded,
 * and delivered once the other side is back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CallbackReporter, Slots } from '../../containers/transcoder/src/dispatch';
import type { CallbackBody } from '../../containers/transcoder/src/protocol';

interface Door {
  server: Server;
  url: string;
  received: CallbackBody[];
  /** Requests answered by closing the socket or by a status, before any is accepted. */
  refused: number;
}

/** A callback endpoint that drops (or answers `failStatus` to) the first `failures` requests, then answers 200. */
async function door(failures: number, failStatus?: number): Promise<Door> {
  const d: Door = { server: createServer(), url: '', received: [], refused: 0 };
  d.server.on('request', (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (d.refused < failures) {
        d.refused++;
        if (failStatus) res.writeHead(failStatus).end('restarting');
        else req.socket.destroy();
        return;
      }
      d.received.push(JSON.parse(Buffer.concat(parts).toString('utf8')) as CallbackBody);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', r));
  d.url = `http://127.0.0.1:${(d.server.address() as AddressInfo).port}/internal/transcoding/callback`;
  return d;
}

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);
process.on('unhandledRejection', onUnhandled);
let open: Door | null = null;
afterEach(async () => {
  if (open) await new Promise((r) => open!.server.close(r));
  open = null;
});

describe('callback reporter', () => {
  it('survives heartbeats whose connection is closed, then delivers the final event once', async () => {
    open = await door(4);
    const abort = new AbortController();
    const reporter = new CallbackReporter({ url: open.url, jobId: 'job-1', claim: 3 }, 'token', abort, 50, () => 20);
    reporter.start();
    reporter.progress(0.5);
    // Heartbeats every 50 ms: the first four are dropped, then one gets through (bounded wait on a loaded machine).
    for (let i = 0; i < 200 && !open.received.some((b) => b.event.type === 'progress'); i++) await new Promise((r) => setTimeout(r, 50));
    await reporter.finish({ type: 'result', result: { ok: true } });
    await new Promise((r) => setTimeout(r, 100));
    expect(open.refused).toBe(4);
    expect(unhandled).toEqual([]);
    expect(abort.signal.aborted).toBe(false);
    const finals = open.received.filter((b) => b.event.type === 'result');
    expect(finals).toEqual([{ jobId: 'job-1', claim: 3, event: { type: 'result', result: { ok: true } } }]);
    // Heartbeats after the closed ones got through and carried the latest progress; none after the final event.
    expect(open.received.some((b) => b.event.type === 'progress' && b.event.progress === 0.5)).toBe(true);
    expect(open.received.at(-1)!.event.type).toBe('result');
  });

  it('retries the final event through 5xx answers', async () => {
    open = await door(2, 503);
    const reporter = new CallbackReporter({ url: open.url, jobId: 'job-2', claim: 1 }, 'token', new AbortController(), 60_000, () => 10);
    await reporter.finish({ type: 'error', permanent: true, message: 'bad input' });
    expect(open.refused).toBe(2);
    expect(open.received.map((b) => b.event)).toEqual([{ type: 'error', permanent: true, message: 'bad input' }]);
  });

  it('gives up after a bounded number of attempts when the other side never answers, without throwing', async () => {
    open = await door(Number.MAX_SAFE_INTEGER);
    const reporter = new CallbackReporter({ url: open.url, jobId: 'job-3', claim: 1 }, 'token', new AbortController(), 60_000, () => 10, 3);
    await expect(reporter.finish({ type: 'result', result: null })).resolves.toBeUndefined();
    expect(open.refused).toBe(3);
    expect(open.received).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('stops the job when the Worker answers 410 (video gone)', async () => {
    open = await door(1, 410);
    const abort = new AbortController();
    const reporter = new CallbackReporter({ url: open.url, jobId: 'job-4', claim: 1 }, 'token', abort, 60_000, () => 10);
    reporter.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(abort.signal.aborted).toBe(true);
    await reporter.finish({ type: 'error', permanent: false, message: 'stopped' });
  });
});

describe('slots', () => {
  it('serves waiting jobs by priority, then in arrival order; a cancelled waiter leaves the queue', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    await slots.acquire(new AbortController().signal);
    const cancelled = new AbortController();
    const wait = (name: string, priority: number, signal = new AbortController().signal) =>
      slots.acquire(signal, priority).then(() => {
        order.push(name);
        slots.release();
      });
    const jobs = [wait('encode a', 0), wait('encode b', 0), wait('gone', 1, cancelled.signal).catch(() => order.push('cancelled')), wait('thumbnails', 1)];
    cancelled.abort();
    expect(slots.queued).toBe(3);
    slots.release();
    await Promise.all(jobs);
    expect(order.filter((x) => x !== 'cancelled')).toEqual(['thumbnails', 'encode a', 'encode b']);
    expect(order).toContain('cancelled');
    expect(slots.busy).toBe(0);
  });
});

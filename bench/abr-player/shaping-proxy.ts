/**
 * A forward HTTP proxy on 127.0.0.1 whose downlink follows a bandwidth trace: the bottleneck link of the ABR player
 * benchmark. Chromium sends every request through it (`--proxy-server`, with `<-loopback>` so loopback is not
 * bypassed); responses are read from the origin at loopback speed and released to the browser at the rate the trace
 * gives *now*, integrated exactly over time with the simulator's own TraceClock (so the bits the player can receive
 * by time t are the bits the simulator's link delivers by t, trace looping included). All responses in flight share
 * that one link, round-robin, as on a real bottleneck.
 *
 * Why a proxy and not DevTools throttling (`Network.emulateNetworkConditions`): Chromium applies the emulated rate
 * per request in its network service and re-evaluates it only when conditions are set, so a per-second trace would be
 * a staircase of independent per-request throttles, and requests in flight would not share one link. The proxy is
 * one byte-accurate bottleneck under our control; its only inaccuracy is timer granularity (a 10 ms pacing tick,
 * later when the machine is loaded), and since the budget is the trace's integral over the real elapsed time, a late
 * tick sends a bigger burst instead of losing capacity.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TraceClock, type Trace } from '../../abr/lab/sim/traces';

const TICK_MS = 10;

interface Flow {
  res: ServerResponse;
  chunks: Buffer[];
  ended: boolean;
}

export interface ShapingProxy {
  port: number;
  /**
   * Starts following `trace` from its beginning now; null = no shaping (loopback speed). With `allowanceBytes`, that
   * many bytes first pass at loopback speed whenever they are asked for, and the trace starts once they are used up
   * (a test that must not depend on how soon the browser asks).
   */
  shape(trace: Pick<Trace, 'durationsSec' | 'bps'> | null, options?: { allowanceBytes?: number }): void;
  /** Bytes released since the last `shape` call. */
  bytesSent(): number;
  close(): Promise<void>;
}

export async function startShapingProxy(port: number): Promise<ShapingProxy> {
  let clock: TraceClock | null = null;
  let startedAt = 0;
  let lastAt = 0;
  let budget = 0;
  let sent = 0;
  const flows: Flow[] = [];

  let allowance = 0;

  const pump = (): void => {
    if (clock && allowance >= 1) {
      for (let guard = 0; allowance >= 1 && guard < 64; guard++) {
        const waiting = flows.filter((f) => f.chunks.length > 0);
        if (waiting.length === 0) break;
        const share = Math.max(1, Math.floor(allowance / waiting.length));
        for (const flow of waiting) allowance -= send(flow, Math.min(share, Math.floor(allowance)));
      }
      // The trace starts from its beginning when the allowance is used up.
      startedAt = performance.now();
      lastAt = 0;
      budget = 0;
    }
    const now = (performance.now() - startedAt) / 1000;
    if (!clock) {
      for (const flow of flows) drainAll(flow);
    } else {
      budget += clock.bitsBetween(lastAt, now) / 8;
      lastAt = now;
      // Round-robin: each pass gives every waiting flow an equal share of what is left.
      for (let guard = 0; budget >= 1 && guard < 64; guard++) {
        const waiting = flows.filter((f) => f.chunks.length > 0);
        if (waiting.length === 0) break;
        const share = Math.max(1, Math.floor(budget / waiting.length));
        for (const flow of waiting) budget -= send(flow, Math.min(share, Math.floor(budget)));
      }
      // An idle link does not bank capacity for later.
      if (!flows.some((f) => f.chunks.length > 0)) budget = 0;
    }
    for (let i = flows.length - 1; i >= 0; i--) {
      const flow = flows[i]!;
      if (flow.ended && flow.chunks.length === 0) {
        flow.res.end();
        flows.splice(i, 1);
      } else if (flow.res.destroyed) flows.splice(i, 1);
    }
  };

  const send = (flow: Flow, bytes: number): number => {
    let left = bytes;
    while (left > 0 && flow.chunks.length > 0) {
      const head = flow.chunks[0]!;
      const part = head.length <= left ? head : head.subarray(0, left);
      if (part.length === head.length) flow.chunks.shift();
      else flow.chunks[0] = head.subarray(left);
      flow.res.write(part);
      left -= part.length;
    }
    sent += bytes - left;
    return bytes - left;
  };
  const drainAll = (flow: Flow): void => void send(flow, Number.MAX_SAFE_INTEGER);

  const timer = setInterval(pump, TICK_MS);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URL expected (forward proxy)');
      return;
    }
    if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') {
      res.writeHead(403).end('loopback only');
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: { ...req.headers, connection: 'keep-alive' } },
      (up) => {
        const headers = { ...up.headers };
        delete headers['connection'];
        delete headers['keep-alive'];
        res.writeHead(up.statusCode ?? 502, headers);
        const flow: Flow = { res, chunks: [], ended: false };
        flows.push(flow);
        up.on('data', (chunk: Buffer) => flow.chunks.push(chunk));
        up.on('end', () => (flow.ended = true));
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502).end(String(err));
      else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });

  return {
    port: (server.address() as AddressInfo).port,
    shape(trace, options) {
      clock = trace ? new TraceClock(trace) : null;
      startedAt = performance.now();
      lastAt = 0;
      budget = 0;
      sent = 0;
      allowance = options?.allowanceBytes ?? 0;
    },
    bytesSent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

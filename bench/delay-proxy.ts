/**
 * A TCP proxy on 127.0.0.1 that makes loopback look like a far-away link, for the upload benchmark.
 *
 * - Latency: every byte is delivered `oneWayMs` after it was read, in both directions, so a request/response
 *   round trip costs 2 × oneWayMs more than on plain loopback (50 ms each way = 100 ms RTT).
 * - A window: each direction of each connection has at most `windowBytes` in flight. A byte counts as in flight
 *   from when the proxy reads it until its "acknowledgement" would arrive (one RTT later), and the proxy stops
 *   reading while the window is full. That is TCP's bandwidth-delay limit: one connection moves at most
 *   windowBytes / RTT, which is what a long, lossy path (small congestion window) allows a single upload, and why
 *   parallel connections help there.
 * Without the window, a userspace proxy would acknowledge bytes at once (the kernel's loopback windows are huge)
 * and latency would only cost the few request round trips, not throughput.
 */
import net from 'node:net';

export interface DelayProxyOptions {
  targetPort: number;
  oneWayMs: number;
  windowBytes: number;
}

export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

function pipeDelayed(from: net.Socket, to: net.Socket, oneWayMs: number, windowBytes: number): void {
  let inFlight = 0;
  from.on('data', (chunk: Buffer) => {
    inFlight += chunk.byteLength;
    if (inFlight >= windowBytes) from.pause();
    // Equal delays fire in insertion order, so bytes stay in order.
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
      setTimeout(() => {
        inFlight -= chunk.byteLength;
        if (inFlight < windowBytes && from.isPaused() && !from.destroyed) from.resume();
      }, oneWayMs);
    }, oneWayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), oneWayMs));
}

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(options.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => setTimeout(() => upstream.destroy(), options.oneWayMs * 2));
    upstream.on('close', () => setTimeout(() => client.destroy(), options.oneWayMs * 2));
    pipeDelayed(client, upstream, options.oneWayMs, options.windowBytes);
    pipeDelayed(upstream, client, options.oneWayMs, options.windowBytes);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy on 127.0.0.1 that makes loopback look like a far-away link, for the upload benchmark. It models
 * what a long path does to ONE TCP connection, per connection and per direction, and nothing shared between
 * connections (the creator's access link is assumed faster than the sum; see docs/uploads.md):
 *
 * - Latency: every byte arrives `oneWayMs` after it was sent, in both directions (50 ms each way = 100 ms RTT),
 *   so each request/response exchange costs a round trip more than on loopback.
 * - Connection set-up: a new connection carries no byte for `handshakeRtts` round trips (TCP's handshake, and
 *   TLS 1.3's, as production is HTTPS): 2 by default.
 * - A congestion window: a byte is "in flight" from when it is sent until its acknowledgement comes back, which is
 *   one-way delay + the time the receiving side takes to accept it (the proxy's write into the next socket must
 *   complete: if the server reads slowly, acknowledgements slow down as with a full TCP receive window) + one-way
 *   delay again. At most `cwnd` bytes are in flight. `cwnd` starts at `initialWindowBytes` (Linux: 10 segments,
 *   ~14 KiB), grows by every acknowledged byte (slow start: doubling per round trip) up to `windowBytes`, and falls
 *   back to the initial window after an idle period longer than the retransmission timeout (Linux's
 *   `tcp_slow_start_after_idle`, on by default): a connection that waited for a response starts slowly again.
 *   The steady state, windowBytes / RTT, is the per-connection ceiling a lossy long path allows (Mathis et al.:
 *   rate ≈ MSS / RTT × 1.22 / √loss; 512 KiB per 100 ms ≈ 0.001 % loss for Reno), which is why parallel connections
 *   help.
 * Bytes the proxy has read but may not send yet wait in a bounded queue (the sender's socket buffer); when it is
 * full the proxy stops reading, and the client's writes back up as they would.
 * Without the window, a userspace proxy acknowledges bytes at once (loopback windows are huge) and latency would
 * cost only the few request round trips, not throughput.
 */
import net from 'node:net';

export interface DelayProxyOptions {
  targetPort: number;
  oneWayMs: number;
  /** The largest congestion window, per connection and direction. */
  windowBytes: number;
  /** The window a connection starts with, and falls back to after idling (default 10 × 1448 bytes). */
  initialWindowBytes?: number;
  /** Round trips before a new connection carries data (default 2: TCP + TLS 1.3). */
  handshakeRtts?: number;
}

export interface DelayProxy {
  port: number;
  /** Connections accepted so far (each one paid the handshake and slow start). */
  connections(): number;
  close(): Promise<void>;
}

const SEGMENT = 1448;
/** Bytes read from a socket but not yet sent, before the proxy stops reading (the sender's socket buffer). */
const SEND_QUEUE_BYTES = 1024 * 1024;

interface Link {
  oneWayMs: number;
  windowBytes: number;
  initialWindowBytes: number;
  /** Idle time after which the window restarts (Linux: the RTO, ≥ 200 ms + RTT). */
  idleRestartMs: number;
}

/** One direction of one connection. `ready` resolves when the handshake is over. */
function pipeDelayed(from: net.Socket, to: net.Socket, link: Link, ready: Promise<void>): void {
  const queue: Buffer[] = [];
  let queued = 0;
  let inFlight = 0;
  let cwnd = link.initialWindowBytes;
  let lastActivity = performance.now();
  let open = false;
  let ended = false;
  let endScheduled = false;

  const maybeEnd = () => {
    if (!ended || endScheduled || queued > 0) return;
    endScheduled = true;
    // Scheduled after every delivery already in the timer list, with the same delay: it arrives last.
    setTimeout(() => to.end(), link.oneWayMs);
  };

  const pump = () => {
    if (!open) return;
    const now = performance.now();
    if (inFlight === 0 && now - lastActivity > link.idleRestartMs) cwnd = Math.min(cwnd, link.initialWindowBytes);
    while (queued > 0 && inFlight < cwnd) {
      let chunk = queue[0]!;
      const room = cwnd - inFlight;
      if (chunk.byteLength > room) {
        queue[0] = chunk.subarray(room);
        chunk = chunk.subarray(0, room);
      } else {
        queue.shift();
      }
      queued -= chunk.byteLength;
      inFlight += chunk.byteLength;
      lastActivity = now;
      const size = chunk.byteLength;
      // Equal delays fire in insertion order, so bytes stay in order.
      setTimeout(() => {
        if (to.destroyed) return;
        to.write(chunk, () => {
          // The receiver has the bytes: the acknowledgement takes one more one-way delay.
          setTimeout(() => {
            inFlight -= size;
            cwnd = Math.min(link.windowBytes, cwnd + size);
            lastActivity = performance.now();
            pump();
          }, link.oneWayMs);
        });
      }, link.oneWayMs);
    }
    if (queued < SEND_QUEUE_BYTES && from.isPaused() && !from.destroyed) from.resume();
    maybeEnd();
  };

  from.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.byteLength;
    if (queued >= SEND_QUEUE_BYTES) from.pause();
    pump();
  });
  from.on('end', () => {
    ended = true;
    maybeEnd();
  });
  void ready.then(() => {
    open = true;
    lastActivity = performance.now();
    pump();
  });
}

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const rttMs = options.oneWayMs * 2;
  const link: Link = {
    oneWayMs: options.oneWayMs,
    windowBytes: options.windowBytes,
    initialWindowBytes: Math.min(options.windowBytes, options.initialWindowBytes ?? 10 * SEGMENT),
    idleRestartMs: 200 + rttMs,
  };
  const handshakeMs = (options.handshakeRtts ?? 2) * rttMs;
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
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
    client.on('close', () => setTimeout(() => upstream.destroy(), rttMs));
    upstream.on('close', () => setTimeout(() => client.destroy(), rttMs));
    const ready = new Promise<void>((resolve) => setTimeout(resolve, handshakeMs));
    pipeDelayed(client, upstream, link, ready);
    pipeDelayed(upstream, client, link, ready);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

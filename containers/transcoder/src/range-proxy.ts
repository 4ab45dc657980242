/**
 * Bounded reads of storage for ffmpeg/ffprobe. ffmpeg's http protocol asks for `Range: bytes=N-` (the whole rest
 * of the object) at every open and seek, and reads it at its own pace: a chunk encode for as long as it decodes,
 * the audio unit at `-readrate`, a probe a few KB before it seeks to the `moov` at the end and drops the
 * connection. Measured through the local stack (bench/storage-read, docs/parallel-transcoding.md): such an
 * open-ended range made the Worker read the original from the R2 simulator towards its end whether or not the
 * reader consumed it — a connection held open and drained slowly, or not at all, cost 0.35–0.5 of a core for as
 * long as it was open, so every reader of a long original slowed every other one.
 *
 * So ffmpeg reads a URL of this proxy (one per transcoder process, 127.0.0.1, ephemeral port) instead of the
 * storage URL. It answers ffmpeg exactly like the gateway (206 with the full `Content-Range` it asked for, or 200,
 * 404, 416), but fetches the bytes from storage in bounded pieces (`bytes=a-(a+PIECE-1)`), the next piece only
 * once the previous one has been written to ffmpeg's socket (backpressure), and stops the moment ffmpeg closes
 * the connection. Storage is never asked for more than one piece past what ffmpeg consumed. Why not let the
 * gateway send short 206s instead: ffmpeg 5.1 does not track a response's Content-Length; after a short body on
 * a kept-alive connection (wrangler dev's proxy keeps it, whatever ffmpeg's `Connection: close`) it waits on the
 * socket until the server drops it — about a second per piece locally, and with no bound elsewhere.
 *
 * Failures: a piece that cannot be fetched (after two quick retries) ends ffmpeg's response early (the socket is
 * destroyed); ffmpeg (`-reconnect 1`, http-read.ts) asks again from that offset, and if storage still fails the
 * proxy answers 502, which ffmpeg logs and `run` turns into a StorageReadError (never a cut input taken as whole).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Bytes per storage request. 4 MiB: locally, per-request overhead was lost in the noise at 4 MiB (1 MiB: +25% CPU). */
export const PIECE_BYTES = 4 * 1024 * 1024;
const PIECE_ATTEMPTS = 3;

/** What the proxy needs from storage: one bounded ranged GET (inclusive `end`). */
export type RangeFetch = (key: string, start: number, end: number, signal: AbortSignal) => Promise<Response>;

interface Piece {
  status: number;
  /** Total size of the object (from Content-Range), when known. */
  size: number | null;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

const parseRange = (header: string | undefined): { start: number; end: number | null } | null => {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header?.replace(/\s+/g, '') ?? '');
  return m ? { start: Number(m[1]), end: m[2] ? Number(m[2]) : null } : null;
};

/** Resolves when the socket can take more, or is gone (listeners removed either way). */
const drained = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

const sizeOf = (contentRange: string | null): number | null => {
  const m = /\/(\d+)$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : null;
};

export class RangeProxy {
  private server: Server | null = null;
  private port = 0;
  /** Storage requests made (for tests and the benchmark). */
  requests = 0;

  constructor(
    private readonly fetchRange: RangeFetch,
    private readonly pieceBytes = PIECE_BYTES,
  ) {}

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.serve(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
  }

  /** The URL ffmpeg reads `key` from (start() first). */
  url(key: string): string {
    if (!this.server) throw new Error('range proxy not started');
    return `http://127.0.0.1:${this.port}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** One piece, retried twice on a thrown fetch or a 5xx (a storage hiccup costs a retry, not the job). */
  private async piece(key: string, start: number, end: number, signal: AbortSignal): Promise<Piece> {
    let last: unknown = null;
    for (let attempt = 0; attempt < PIECE_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * attempt));
      try {
        this.requests++;
        const res = await this.fetchRange(key, start, end, signal);
        if (res.status >= 500) {
          await res.body?.cancel();
          last = new Error(`storage answered ${res.status}`);
          continue;
        }
        return { status: res.status, size: sizeOf(res.headers.get('Content-Range')), headers: res.headers, body: res.body };
      } catch (err) {
        if (signal.aborted) throw err;
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') return void res.writeHead(405, { 'Content-Length': '0' }).end();
    const key = req.url!.slice(1).split('/').map(decodeURIComponent).join('/');
    const asked = parseRange(req.headers.range);
    const from = asked?.start ?? 0;
    const abort = new AbortController();
    res.on('close', () => abort.abort());

    let first: Piece;
    try {
      first = await this.piece(key, from, Math.min(asked?.end ?? Infinity, from + this.pieceBytes - 1), abort.signal);
    } catch {
      if (!res.headersSent) res.writeHead(502, { 'Content-Length': '0' }).end();
      return;
    }
    // Anything but a 206 (404, 416, an error) is passed on as storage answered it, streamed (never buffered).
    if (first.status !== 206 || first.size === null || !first.body) {
      const headers: Record<string, string> = {};
      for (const h of ['Content-Range', 'Content-Type', 'Content-Length']) {
        const v = first.headers.get(h);
        if (v) headers[h] = v;
      }
      res.writeHead(first.status, headers);
      if (first.body) {
        for await (const chunk of first.body as unknown as AsyncIterable<Uint8Array>) {
          if (!res.write(chunk)) await drained(res);
          if (abort.signal.aborted) return;
        }
      }
      res.end();
      return;
    }
    const size = first.size;
    const end = Math.min(asked?.end ?? size - 1, size - 1);
    const headers: Record<string, string> = { 'Accept-Ranges': 'bytes', 'Content-Length': String(end - from + 1) };
    const type = first.headers.get('Content-Type');
    if (type) headers['Content-Type'] = type;
    if (asked) headers['Content-Range'] = `bytes ${from}-${end}/${size}`;
    res.writeHead(asked ? 206 : 200, headers);

    let at = from;
    let body: ReadableStream<Uint8Array> | null = first.body;
    try {
      while (at <= end) {
        if (!body) {
          const next = await this.piece(key, at, Math.min(end, at + this.pieceBytes - 1), abort.signal);
          if (next.status !== 206 || !next.body) throw new Error(`storage answered ${next.status} for a piece`);
          body = next.body;
        }
        let got = 0;
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          const take = chunk.subarray(0, Math.max(0, end - at + 1));
          if (take.length && !res.write(take)) await drained(res);
          at += take.length;
          got += take.length;
          if (abort.signal.aborted) return;
          if (at > end) break;
        }
        // A piece that ended short (a dropped storage connection) is asked for again from where it stopped; one
        // that brought nothing is a failure.
        if (got === 0) throw new Error('storage sent an empty piece');
        body = null;
      }
      res.end();
    } catch {
      // Storage failed mid-response: end ffmpeg's connection early; its reconnect asks again (see the header).
      res.destroy();
    } finally {
      abort.abort();
    }
  }
}

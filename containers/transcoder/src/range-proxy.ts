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
import type { ByteRange } from './mp4-index';

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

/** Written for skipped bytes (never modified, so one buffer serves every response). */
const ZEROS = new Uint8Array(64 * 1024);

/**
 * A sparse view of an object: the bytes in `skip` (sorted, non-overlapping, inclusive) are served as zeros without
 * being fetched. For a reader that never looks at them (ffmpeg discarding a stream's samples: mp4-index.ts).
 */
export interface SparseView {
  size: number;
  skip: ByteRange[];
  /** Bytes fetched from storage through this view so far. */
  fetched: number;
}

const sizeOf = (contentRange: string | null): number | null => {
  const m = /\/(\d+)$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : null;
};

export class RangeProxy {
  private server: Server | null = null;
  private port = 0;
  /** Storage requests made (for tests and the benchmark). */
  requests = 0;
  private readonly views = new Map<string, SparseView>();
  private nextView = 0;

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

  /** The URL ffmpeg reads a sparse view of `key` from (see `SparseView`); `release()` forgets it. */
  sparseUrl(key: string, view: SparseView): { url: string; release: () => void } {
    const id = `~${++this.nextView}`;
    this.views.set(id, view);
    const plain = new URL(this.url(key));
    return { url: `${plain.origin}/${id}${plain.pathname}`, release: () => this.views.delete(id) };
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
    const sparse = /^\/(~\d+)\//.exec(req.url!);
    if (sparse) {
      const view = this.views.get(sparse[1]!);
      if (!view) return void res.writeHead(404, { 'Content-Length': '0' }).end();
      return this.serveSparse(req.url!.slice(sparse[0].length).split('/').map(decodeURIComponent).join('/'), view, req, res);
    }
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

  /** Like `serve`, for a sparse view: skipped bytes are zeros, the others are fetched in bounded pieces. */
  private async serveSparse(key: string, view: SparseView, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const asked = parseRange(req.headers.range);
    const from = asked?.start ?? 0;
    if (from >= view.size) return void res.writeHead(416, { 'Content-Range': `bytes */${view.size}`, 'Content-Length': '0' }).end();
    const end = Math.min(asked?.end ?? view.size - 1, view.size - 1);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(asked ? 206 : 200, { 'Accept-Ranges': 'bytes', 'Content-Length': String(end - from + 1), ...(asked ? { 'Content-Range': `bytes ${from}-${end}/${view.size}` } : {}) });
    // The first skipped range that ends at or after `from` (binary search).
    let h = 0;
    for (let hi = view.skip.length; h < hi; ) {
      const mid = (h + hi) >> 1;
      if (view.skip[mid]![1] < from) h = mid + 1;
      else hi = mid;
    }
    let at = from;
    try {
      while (at <= end) {
        const hole = view.skip[h];
        if (hole && hole[0] <= at) {
          const stop = Math.min(hole[1], end);
          while (at <= stop) {
            const n = Math.min(ZEROS.length, stop - at + 1);
            if (!res.write(ZEROS.subarray(0, n))) await drained(res);
            at += n;
            if (abort.signal.aborted) return;
          }
          h++;
          continue;
        }
        const stop = Math.min(end, at + this.pieceBytes - 1, hole ? hole[0] - 1 : Infinity);
        const piece = await this.piece(key, at, stop, abort.signal);
        if (piece.status !== 206 || !piece.body) throw new Error(`storage answered ${piece.status} for a piece`);
        let got = 0;
        for await (const chunk of piece.body as unknown as AsyncIterable<Uint8Array>) {
          const take = chunk.subarray(0, Math.max(0, stop - at + 1));
          if (take.length && !res.write(take)) await drained(res);
          at += take.length;
          got += take.length;
          view.fetched += take.length;
          if (abort.signal.aborted) return;
          if (at > stop) break;
        }
        if (got === 0) throw new Error('storage sent an empty piece');
      }
      res.end();
    } catch {
      res.destroy();
    } finally {
      abort.abort();
    }
  }
}

/**
 * The transcoder's only view of storage: an HTTP origin with GET (Range) / PUT / DELETE on object keys. ffmpeg reads
 * objects through a local proxy that asks storage for bounded pieces (range-proxy.ts).
 * Locally it is the Worker's token-protected `/internal/storage` route; in a container it is a virtual host
 * (`http://storage.internal`) that the Worker intercepts and serves from the R2 binding. Same code either way.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FFMPEG_HTTP_READ } from './http-read';
import { readTrackSamples, skippableForAudio, type ByteRange } from './mp4-index';
import { RangeProxy } from './range-proxy';

export interface Storage {
  /** The object's storage URL (Node's own requests). */
  url(key: string): string;
  /** The URL ffmpeg/ffprobe read `key` from: the process's bounded-read proxy (range-proxy.ts). */
  ffmpegUrl(key: string): Promise<string>;
  /**
   * The URL the audio unit reads `key` from: for an MP4/MOV, a sparse view that skips the other tracks' samples
   * (mp4-index.ts); anything else, `ffmpegUrl(key)`. `stats` counts what was fetched; `release` when done.
   */
  ffmpegAudioSource(key: string): Promise<AudioSource>;
  /** ffmpeg/ffprobe input options for `ffmpegUrl(key)` (`FFMPEG_HTTP_READ`, http-read.ts). */
  ffmpegInput(): string[];
  download(key: string, file: string, signal?: AbortSignal): Promise<number>;
  /** The objects' bytes one after another, streamed (each checked complete against its Content-Length). */
  stream(keys: string[], signal?: AbortSignal): AsyncIterable<Uint8Array>;
  upload(key: string, file: string, contentType: string, signal?: AbortSignal): Promise<void>;
}

export interface AudioSource {
  url: string;
  /** The original's size, the bytes skipped (null: read whole), and the bytes fetched so far. */
  stats: { sourceBytes: number | null; skippedBytes: number | null; fetchedBytes: () => number | null };
  release(): void;
}

/**
 * What the audio unit skips (mp4-index.ts `skippableForAudio`): nothing in the first 8 MiB (ffmpeg/ffprobe decode
 * the first packets of every stream while probing — ffmpeg's default probesize is 5 MB — before they discard the
 * streams they do not use), and only runs of other tracks' samples of 1 MiB or more. A skipped run costs one more
 * storage request; locally a request costs the stack about as much CPU as reading 1 MB (bench/storage-read), and
 * a sparse read of a file interleaved per frame (900 requests for 30 s) cost more than reading it whole.
 */
const AUDIO_SKIP = { keepPrefix: 8 * 1024 * 1024, minSkip: 1024 * 1024 };

export class HttpStorage implements Storage {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    /** The audio unit's sparse reads (AUDIO_SKIP; smaller in tests). */
    private readonly audioSkip = AUDIO_SKIP,
  ) {}

  url(key: string): string {
    return `${this.baseUrl.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** ffmpeg reads through it: storage is asked for bounded pieces (range-proxy.ts); the token stays in this process. */
  private readonly proxy = new RangeProxy((key, start, end, signal) => fetch(this.url(key), { headers: { ...this.headers(), Range: `bytes=${start}-${end}` }, signal }));
  private proxyStarted: Promise<void> | null = null;

  async ffmpegUrl(key: string): Promise<string> {
    this.proxyStarted ??= this.proxy.start();
    await this.proxyStarted;
    return this.proxy.url(key);
  }

  ffmpegInput(): string[] {
    return [...FFMPEG_HTTP_READ];
  }

  async ffmpegAudioSource(key: string): Promise<AudioSource> {
    const plain: AudioSource = { url: await this.ffmpegUrl(key), stats: { sourceBytes: null, skippedBytes: null, fetchedBytes: () => null }, release: () => undefined };
    let size: number | null = null;
    const readAt = async (offset: number, length: number): Promise<Uint8Array> => {
      const res = await fetch(this.url(key), { headers: { ...this.headers(), Range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status !== 206) {
        await res.body?.cancel();
        throw new Error(`storage answered ${res.status}`);
      }
      size ??= Number(/\/(\d+)$/.exec(res.headers.get('Content-Range') ?? '')?.[1] ?? NaN);
      return new Uint8Array(await res.arrayBuffer());
    };
    let skip: ByteRange[] | null;
    try {
      // The first box header also tells the object's size; the index walk starts from it instead of asking again.
      const head = await readAt(0, 16);
      if (!Number.isFinite(size)) return plain;
      const read: typeof readAt = (offset, length) => (offset === 0 && length === 16 ? Promise.resolve(head) : readAt(offset, length));
      skip = skippableForAudio(await readTrackSamples(read, size!), this.audioSkip.keepPrefix, this.audioSkip.minSkip);
    } catch {
      // Not indexable (or storage hiccuped): read it whole, as ffmpeg would anyway; its own reads report failures.
      return plain;
    }
    if (!skip || skip.length === 0) return plain;
    const view = { size: size!, skip, fetched: 0 };
    const { url, release } = this.proxy.sparseUrl(key, view);
    return { url, release, stats: { sourceBytes: size, skippedBytes: skip.reduce((a, [s, e]) => a + e - s + 1, 0), fetchedBytes: () => view.fetched } };
  }

  async download(key: string, file: string, signal?: AbortSignal): Promise<number> {
    const res = await fetch(this.url(key), { headers: this.headers(), signal });
    if (res.status === 404) throw new Error(`storage: ${key} not found`);
    if (!res.ok || !res.body) throw new Error(`storage: GET ${key} failed with ${res.status}`);
    const expected = Number(res.headers.get('Content-Length') ?? NaN);
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(file), { signal });
    const { size } = await stat(file);
    // A dropped connection can end a body early without an error; a short file would look like a truncated upload.
    if (Number.isFinite(expected) && size !== expected) throw new Error(`storage: GET ${key} ended after ${size} of ${expected} bytes`);
    return size;
  }

  async *stream(keys: string[], signal?: AbortSignal): AsyncIterable<Uint8Array> {
    for (const key of keys) {
      const res = await fetch(this.url(key), { headers: this.headers(), signal });
      if (res.status === 404) throw new Error(`storage: ${key} not found`);
      if (!res.ok || !res.body) throw new Error(`storage: GET ${key} failed with ${res.status}`);
      const expected = Number(res.headers.get('Content-Length') ?? NaN);
      let size = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        yield chunk;
      }
      if (Number.isFinite(expected) && size !== expected) throw new Error(`storage: GET ${key} ended after ${size} of ${expected} bytes`);
    }
  }

  async upload(key: string, file: string, contentType: string, signal?: AbortSignal): Promise<void> {
    const { size } = await stat(file);
    let lastError: unknown;
    // A few quick retries per object: one failed PUT should not cost a whole re-encode.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const res = await fetch(this.url(key), {
          method: 'PUT',
          headers: { ...this.headers(), 'Content-Type': contentType, 'Content-Length': String(size) },
          body: Readable.toWeb(createReadStream(file)) as unknown as RequestInit['body'],
          duplex: 'half',
          signal,
        } as RequestInit);
        if (res.ok) return;
        lastError = new Error(`storage: PUT ${key} failed with ${res.status} ${await res.text()}`);
        if (res.status < 500) break;
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }
}

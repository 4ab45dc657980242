/**
 * Reads a request body in exact byte counts, so one PATCH body can be cut into R2 parts of a fixed size without
 * ever holding more than one read (at most `READ_MAX_BYTES`) in memory.
 *
 * Byte streams (workerd's request bodies and R2 object bodies) are read with a BYOB reader's `readAtLeast`, so
 * each trip through JS moves 64–256 KiB instead of the few KiB the transport hands out at a time (Miniflare's R2
 * simulator, for one, streams 4 KiB chunks): every chunk costs several promise hops (read, checksum, write into
 * the part stream), so that is 16–64× fewer hops per byte, i.e. less CPU time per upload. Other streams (built in
 * JS) are read as they come.
 */
export class BodyEndedEarly extends Error {
  constructor(readonly missing: number) {
    super(`request body ended ${missing} byte(s) early`);
  }
}

/** The fewest bytes a BYOB read waits for (unless the stream ends), and the buffer it reads into. */
export const READ_MIN_BYTES = 64 * 1024;
export const READ_MAX_BYTES = 256 * 1024;

export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/** workerd's BYOB reader (`readAtLeast` is its extension of the standard reader). */
interface ByobReader {
  readAtLeast(min: number, view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/** Reads `stream` in chunks of 64–256 KiB when it is a byte stream, else chunk by chunk as it comes. */
export function chunkReader(stream: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ByobReader | null = null;
  try {
    const reader = (stream as unknown as { getReader(options: { mode: 'byob' }): unknown }).getReader({ mode: 'byob' }) as Partial<ByobReader>;
    if (typeof reader.readAtLeast === 'function') byob = reader as ByobReader;
    else (reader as { releaseLock(): void }).releaseLock();
  } catch {
    // not a byte stream (a stream built in JS): read it as it comes
  }
  if (!byob) return stream.getReader();
  const reader = byob;
  let finished = false;
  return {
    async read() {
      if (finished) return { done: true, value: undefined };
      const next = await reader.readAtLeast(READ_MIN_BYTES, new Uint8Array(READ_MAX_BYTES));
      // The last bytes may come with done: hand them out first.
      if (next.done) finished = true;
      if (next.value && next.value.byteLength > 0) return { done: false, value: next.value };
      return { done: true, value: undefined };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

export class ByteSource {
  private leftover: Uint8Array | null = null;
  private readonly reader: ChunkReader;

  constructor(
    body: ReadableStream<Uint8Array>,
    /** Sees every byte once, in order (checksums). */
    private readonly observe?: (chunk: Uint8Array) => Promise<void> | void,
  ) {
    this.reader = chunkReader(body);
  }

  /** Writes exactly `n` bytes to `writer`; throws `BodyEndedEarly` if the body has fewer. */
  async pipeExactly(n: number, writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
    let remaining = n;
    while (remaining > 0) {
      let chunk = this.leftover;
      this.leftover = null;
      if (!chunk) {
        const next = await this.reader.read();
        if (next.done) throw new BodyEndedEarly(remaining);
        chunk = next.value;
        if (this.observe) await this.observe(chunk);
      }
      if (chunk.byteLength > remaining) {
        this.leftover = chunk.subarray(remaining);
        chunk = chunk.subarray(0, remaining);
      }
      remaining -= chunk.byteLength;
      // The write promise settles when the consumer (R2) has taken the bytes: this is the backpressure.
      await writer.write(chunk);
    }
  }

  /** True when no byte is left (reads ahead at most one chunk, kept as leftover). */
  async atEnd(): Promise<boolean> {
    if (this.leftover && this.leftover.byteLength > 0) return false;
    const next = await this.reader.read();
    if (next.done) return true;
    if (this.observe) await this.observe(next.value);
    this.leftover = next.value;
    return next.value.byteLength === 0 ? this.atEnd() : false;
  }

  cancel(reason: unknown): void {
    this.reader.cancel(reason).catch(() => undefined);
  }
}

/** Copies a whole stream into `writer` (a staged tail read back from R2). */
export async function pipeAll(stream: ReadableStream<Uint8Array>, writer: WritableStreamDefaultWriter<Uint8Array>): Promise<number> {
  const reader = chunkReader(stream);
  let total = 0;
  for (;;) {
    const next = await reader.read();
    if (next.done) return total;
    total += next.value.byteLength;
    await writer.write(next.value);
  }
}

/**
 * workerd's streaming digest (`crypto.DigestStream`). The Node typings in this project shadow the Workers
 * `Crypto` type, hence the narrow cast.
 */
export function digestStream(algorithm: 'SHA-1' | 'SHA-256'): DigestStream {
  const workersCrypto = crypto as unknown as { DigestStream: typeof DigestStream };
  return new workersCrypto.DigestStream(algorithm);
}

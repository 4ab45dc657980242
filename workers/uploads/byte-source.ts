/**
 * Reads a request body in exact byte counts, so one PATCH body can be cut into R2 parts of a fixed size without
 * ever holding more than one read (at most `READ_MAX_BYTES`) in memory.
 * Reads go through shared/chunk-reader.ts (large BYOB reads of byte streams).
 */
import { chunkReader, type ChunkReader } from '../shared/chunk-reader';

export class BodyEndedEarly extends Error {
  constructor(readonly missing: number) {
    super(`request body ended ${missing} byte(s) early`);
  }
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

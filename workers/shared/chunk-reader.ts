/**
 * Reads a byte stream in large chunks. Byte streams (workerd's request bodies and R2 object bodies) are read with a
 * BYOB reader's `readAtLeast`, so each trip through JS moves 64–256 KiB instead of the few KiB the transport hands
 * out at a time (Miniflare's R2 simulator, for one, streams 4 KiB chunks): every chunk costs several promise hops,
 * so that is 16–64× fewer hops per byte, i.e. less CPU time per upload or storage read. Other streams (built in
 * JS) are read as they come. Used by uploads (workers/uploads/byte-source.ts) and by reads of originals
 * (shared/original.ts).
 */
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

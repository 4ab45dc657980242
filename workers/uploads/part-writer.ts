/**
 * Streams request bodies into R2 multipart parts. Memory stays bounded by the runtime's stream chunks: bodies are
 * piped through `FixedLengthStream`s of the exact part size straight into `uploadPart`, never buffered whole.
 *
 * How a tus PATCH of any size becomes R2 parts (R2 needs every part but the last to be the same size ≥ 5 MiB):
 *
 *   The file is divided into parts of `partSize` bytes (the last may be shorter). The upload's durable state is
 *   "parts 1..k stored in R2" plus an optional *staged tail*: the bytes from the end of part k up to the offset,
 *   fewer than a part, kept as a temporary R2 object (`keys.uploadStagedTail`). `Upload-Offset` is exactly
 *   k × partSize + tail size: every byte the server acknowledged is durable.
 *
 *   A PATCH at that offset is cut as it is read: the first part is the staged tail (read back from R2) followed by
 *   the body's next bytes up to the part boundary; then whole parts; then, if the body ends before a boundary that
 *   is not the end of the file, its last bytes become the new staged tail (a new key, so a failed write never
 *   damages the committed one). Each part is committed to the UploadSession as soon as R2 has it, so an
 *   interrupted PATCH keeps every whole part it delivered; only the part in flight is lost and the client resumes
 *   from the offset HEAD reports. With `Upload-Checksum`, nothing of the PATCH is committed until the whole body
 *   matched (460 otherwise): parts written to R2 but not committed are simply overwritten by the retry.
 *
 *   One PATCH at a time: the session hands out a single write lease per upload, so a concurrent PATCH gets 409
 *   and the bytes of the winner are intact. Commits are also checked against the offset they started from.
 *
 *   With a deferred length (creation-defer-length) the file size is an upper bound until a PATCH declares it, so
 *   every part is full; a length declared mid-part turns the staged tail into the last part.
 *
 * A final upload (concatenation) writes nothing here: its original is a composite of the partials' objects
 * (shared/original.ts).
 */
import { keys } from '../shared/storage-keys';
import { BodyEndedEarly, ByteSource, digestStream, pipeAll } from './byte-source';
import type { CommitInput, CommitResult, StagedTail, StoredPart, WriteTarget } from './session-types';
import type { UploadSession } from './upload-session';

export type SessionStub = DurableObjectStub<UploadSession>;

/** Runs `fn` while renewing the writer's lease, and always releases it afterwards. */
export async function withLease<T>(stub: SessionStub, lease: string, leaseMs: number, fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    stub.renewLease(lease).catch((err: unknown) => console.warn('lease renewal failed', err));
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    await stub.release(lease).catch((err: unknown) => console.warn('lease release failed', err));
  }
}

/** Streams `size` bytes through a FixedLengthStream into `sink`, filling it with `fill`. */
async function streamOfLength<T>(
  size: number,
  fill: (writer: WritableStreamDefaultWriter<Uint8Array>) => Promise<void>,
  sink: (readable: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<T> {
  const stream = new FixedLengthStream(size);
  const writer = stream.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
  const consumed = sink(stream.readable);
  try {
    await fill(writer);
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => undefined);
    await consumed.catch(() => undefined);
    throw err;
  }
  return consumed;
}

/**
 * Chunk API: one chunk is one part. The request body (its Content-Length already checked to be the chunk's exact
 * size, which the runtime enforces) goes to R2 as is: no copy, no JS in the byte path.
 */
export async function uploadChunkPart(env: Env, target: WriteTarget, index: number, body: ReadableStream<Uint8Array>, size: number): Promise<StoredPart> {
  const multipart = env.MEDIA.resumeMultipartUpload(target.objectKey, target.r2UploadId);
  const part = await multipart.uploadPart(index + 1, body);
  return { partNumber: index + 1, size, etag: part.etag };
}

export interface TusWrite {
  target: WriteTarget & { offset: number; tail: StagedTail | null };
  videoId: string;
  body: ReadableStream<Uint8Array>;
  length: number;
  /** Expected SHA-1 of the body (`Upload-Checksum: sha1 …`). */
  sha1?: Uint8Array;
  commit: (input: CommitInput) => Promise<CommitResult>;
}

export type TusWriteOutcome =
  | { status: 'ok'; offset: number }
  | { status: 'checksum_mismatch'; offset: number }
  | { status: 'conflict'; offset: number }
  | { status: 'interrupted'; offset: number; error: unknown }
  | { status: 'ended' };

export async function writeTusPatch(env: Env, w: TusWrite): Promise<TusWriteOutcome> {
  const { target } = w;
  const partSize = target.partSize;
  const multipart = env.MEDIA.resumeMultipartUpload(target.objectKey, target.r2UploadId);
  const digest = w.sha1 ? digestStream('SHA-1') : null;
  const digestWriter = digest?.getWriter();
  const source = new ByteSource(w.body, digestWriter ? (chunk) => digestWriter.write(chunk) : undefined);
  const end = target.offset + w.length;
  const deferCommit = digest !== null;
  const pending: StoredPart[] = [];
  let newTail: StagedTail | null = null;
  let committedTail = target.tail;
  let committedOffset = target.offset;
  let pos = target.offset;

  const commit = async (parts: StoredPart[], tail: StagedTail | null, to: number): Promise<TusWriteOutcome | null> => {
    const result = await w.commit({ lease: target.lease, fromOffset: committedOffset, parts, tail });
    if (result.status === 'ok') {
      committedOffset = to;
      return null;
    }
    if (result.status === 'conflict') return { status: 'conflict', offset: result.offset };
    return { status: 'ended' };
  };

  // A deferred length declared at the current offset, mid-part: the staged tail becomes the last part.
  const tailIsLastPart = () => pos === target.fileSize && committedTail !== null && pos % partSize !== 0;
  try {
    while (pos < end || tailIsLastPart()) {
      const partIndex = Math.floor(pos / partSize);
      const partStart = partIndex * partSize;
      const partEnd = Math.min(partStart + partSize, target.fileSize);
      const stop = Math.min(end, partEnd);
      // Bytes [partStart, pos) of this part are the staged tail (the session guarantees its size matches).
      const prefix = pos > partStart ? committedTail : null;
      if (pos > partStart && (!prefix || prefix.size !== pos - partStart)) throw new Error('staged tail does not match the offset');
      const size = stop - partStart;
      const fill = async (writer: WritableStreamDefaultWriter<Uint8Array>) => {
        if (prefix) {
          const staged = await env.MEDIA.get(prefix.key);
          if (!staged) throw new Error(`staged tail ${prefix.key} is missing`);
          await pipeAll(staged.body, writer);
        }
        await source.pipeExactly(stop - pos, writer);
      };
      if (stop === partEnd) {
        const uploaded = await streamOfLength(size, fill, (readable) => multipart.uploadPart(partIndex + 1, readable));
        const part = { partNumber: partIndex + 1, size, etag: uploaded.etag };
        if (deferCommit) pending.push(part);
        else {
          const failed = await commit([part], null, stop);
          if (failed) return failed;
        }
        committedTail = null;
      } else {
        const key = keys.uploadStagedTail(w.videoId, target.uploadNonce, stop);
        await streamOfLength(size, fill, (readable) => env.MEDIA.put(key, readable));
        newTail = { key, size };
        if (!deferCommit) {
          const failed = await commit([], newTail, stop);
          if (failed) return failed;
        }
        committedTail = newTail;
      }
      pos = stop;
    }
    if (digest && digestWriter && w.sha1) {
      await digestWriter.close();
      const actual = new Uint8Array(await digest.digest);
      if (!equalBytes(actual, w.sha1)) {
        if (newTail) await env.MEDIA.delete(newTail.key).catch(() => undefined);
        return { status: 'checksum_mismatch', offset: target.offset };
      }
      const failed = await commit(pending, newTail, end);
      if (failed) return failed;
    }
    return { status: 'ok', offset: committedOffset };
  } catch (err) {
    source.cancel(err);
    if (deferCommit && newTail) await env.MEDIA.delete(newTail.key).catch(() => undefined);
    if (err instanceof BodyEndedEarly || isStreamError(err)) return { status: 'interrupted', offset: committedOffset, error: err };
    throw err;
  }
}

function isStreamError(err: unknown): boolean {
  // "Network connection lost.": workerd's error when the client goes away mid-body.
  return err instanceof Error && /disconnect|aborted|canceled|cancelled|stream|closed|connection lost/i.test(err.message);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A partial upload's bytes are gone (expired or terminated) while a final upload needed them. */

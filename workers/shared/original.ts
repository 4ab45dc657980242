/**
 * A video's original: the one module that writes a composite, reads (size, byte range, whole) and deletes it.
 * Every reader of an original goes through here: the transcoder's storage gateway (HTTP Range, so ffmpeg, the
 * download fallback encode and every transcoding unit), the operator start route, the completion checks and the
 * video deletion and purge sweeps, and the retention of originals.
 *
 * Two shapes, the reader cannot tell them apart:
 * - object: `originals/{id}/original`, one R2 object (the chunk API, a plain tus upload). Read exactly as before.
 * - composite: a tus concatenation (`Upload-Concat: final;…`). The partial uploads' own objects
 *   (`uploads/{partialId}/{nonce}/data`) stay where they are and become the original's parts, in order; the
 *   manifest `originals/{id}/composite.json` lists them with their sizes. Completing a final upload therefore
 *   writes one small object instead of copying every byte (the copy was 76 s of a 256 MB upload locally).
 *
 * Why not R2 multipart: its parts must all have one size (but the last) and a client cuts its file wherever it
 * likes, so partials cannot be parts of one multipart upload; and R2 has no server-side concatenation.
 *
 * Reading a composite: a byte range maps to the parts it touches, read one after the other, each with its own
 * R2 ranged get (a range across a boundary costs two gets), lazily: a part is opened when the previous one is
 * drained, so memory stays one read buffer whatever the size. The object shape is tried first, so a
 * single-object original costs what it always did; a composite costs one extra lookup (the miss) plus the
 * manifest read.
 *
 * Ownership: a composite owns its parts. The final upload claims each partial (its UploadSession ends it as
 * `concatenated`, which keeps the data object and cancels its 24 h expiry) before the manifest is written, so an
 * expiry can never take a part a manifest names; deleting the original deletes the parts' prefixes first, then
 * the manifest, so an interrupted deletion can be run again.
 */
import { chunkReader, type ChunkReader } from './chunk-reader';
import { resolveRange, type ByteRange } from './range';
import { keys, partialPrefixOfDataKey } from './storage-keys';

export interface OriginalPart {
  key: string;
  size: number;
}

export interface CompositeManifest {
  version: 1;
  /** The final upload that made it (its ETag). */
  uploadId: string;
  size: number;
  contentType: string | null;
  parts: OriginalPart[];
}

/** What a HEAD of the original (or of any object, see `headObject`) answers. */
export interface OriginalHead {
  kind: 'object' | 'composite';
  size: number;
  httpEtag: string;
  /** Content-Type and the other stored HTTP metadata. */
  writeHttpMetadata(headers: Headers): void;
}

export type RangeRead =
  | { status: 'not_found' }
  | { status: 'unsatisfiable'; size: number }
  /** `range`: the bytes sent (inclusive), or null for the whole object. */
  | { status: 'ok'; head: OriginalHead; body: ReadableStream<Uint8Array>; range: { start: number; end: number } | null };

/** A part named by a manifest is missing or has another size: the original is damaged. */
export class OriginalPartMissing extends Error {
  constructor(readonly key: string) {
    super(`part ${key} of a composite original is missing or changed`);
  }
}

const objectHead = (object: R2Object): OriginalHead => ({
  kind: 'object',
  size: object.size,
  httpEtag: object.httpEtag,
  writeHttpMetadata: (headers) => object.writeHttpMetadata(headers),
});

const compositeHead = (manifest: CompositeManifest): OriginalHead => ({
  kind: 'composite',
  size: manifest.size,
  httpEtag: `"${manifest.uploadId}"`,
  writeHttpMetadata: (headers) => {
    if (manifest.contentType) headers.set('Content-Type', manifest.contentType);
  },
});

function parseManifest(text: string, key: string): CompositeManifest {
  const value = JSON.parse(text) as Partial<CompositeManifest>;
  const parts = Array.isArray(value.parts) ? value.parts : [];
  const valid =
    value.version === 1 &&
    typeof value.uploadId === 'string' &&
    parts.every((p) => typeof p.key === 'string' && partialPrefixOfDataKey(p.key) !== null && Number.isSafeInteger(p.size) && p.size >= 0) &&
    value.size === parts.reduce((sum, p) => sum + p.size, 0);
  if (!valid) throw new Error(`malformed composite manifest ${key}`);
  return { version: 1, uploadId: value.uploadId!, size: value.size!, contentType: value.contentType ?? null, parts };
}

async function manifestOf(bucket: R2Bucket, videoId: string): Promise<CompositeManifest | null> {
  const key = keys.originalManifest(videoId);
  const object = await bucket.get(key);
  return object ? parseManifest(await object.text(), key) : null;
}

/** Records a composite original (after its parts were claimed and verified). */
export async function writeCompositeOriginal(bucket: R2Bucket, videoId: string, manifest: CompositeManifest): Promise<void> {
  await bucket.put(keys.originalManifest(videoId), JSON.stringify(manifest), {
    httpMetadata: { contentType: 'application/json' },
    customMetadata: { uploadId: manifest.uploadId },
  });
}

/** Size and metadata of the original, or null when the video has none. */
export async function headOriginal(bucket: R2Bucket, videoId: string): Promise<OriginalHead | null> {
  const object = await bucket.head(keys.original(videoId));
  if (object) return objectHead(object);
  const manifest = await manifestOf(bucket, videoId);
  return manifest ? compositeHead(manifest) : null;
}

/** HEAD of any object, in the same shape (the gateway's other keys). */
export async function headObject(bucket: R2Bucket, key: string): Promise<OriginalHead | null> {
  const object = await bucket.head(key);
  return object ? objectHead(object) : null;
}

/** The R2 read for one byte range (R2 clamps the end to the object, as RFC 9110 does). */
function r2Range(range: ByteRange): R2Range {
  if ('suffix' in range) return { suffix: range.suffix };
  return range.end === null ? { offset: range.start } : { offset: range.start, length: range.end - range.start + 1 };
}

/** One R2 object, whole or one byte range (RFC 9110 resolution: see shared/range.ts). */
export async function readObject(bucket: R2Bucket, key: string, range: ByteRange | null): Promise<RangeRead> {
  let object: R2ObjectBody | null;
  try {
    object = await bucket.get(key, range ? { range: r2Range(range) } : undefined);
  } catch (err) {
    // R2 rejects a range that starts past the end instead of returning the object.
    const head = range ? await bucket.head(key) : null;
    if (!head) throw err;
    return { status: 'unsatisfiable', size: head.size };
  }
  if (!object) return { status: 'not_found' };
  if (!range) return { status: 'ok', head: objectHead(object), body: object.body, range: null };
  const resolved = resolveRange(range, object.size);
  if (resolved.kind === 'unsatisfiable') {
    await object.body.cancel();
    return { status: 'unsatisfiable', size: object.size };
  }
  return { status: 'ok', head: objectHead(object), body: object.body, range: { start: resolved.start, end: resolved.end } };
}

/** The original, whole or one byte range; a composite's body is exactly `Content-Length` bytes long. */
export async function readOriginal(bucket: R2Bucket, videoId: string, range: ByteRange | null = null): Promise<RangeRead> {
  const single = await readObject(bucket, keys.original(videoId), range);
  if (single.status !== 'not_found') return single;
  const manifest = await manifestOf(bucket, videoId);
  if (!manifest) return { status: 'not_found' };
  const head = compositeHead(manifest);
  let from = 0;
  let to = manifest.size;
  if (range) {
    const resolved = resolveRange(range, manifest.size);
    if (resolved.kind === 'unsatisfiable') return { status: 'unsatisfiable', size: manifest.size };
    from = resolved.start;
    to = resolved.end + 1;
  }
  const body = partsBody(bucket, manifest.parts, from, to).pipeThrough(new FixedLengthStream(to - from));
  return { status: 'ok', head, body, range: range ? { start: from, end: to - 1 } : null };
}

/**
 * Bytes [from, to) of the parts' concatenation as one lazy stream: each part is fetched (a ranged get when only
 * some of it is needed) once the previous one is drained. `observe` sees every byte once, in order.
 */
export function partsBody(
  bucket: R2Bucket,
  parts: OriginalPart[],
  from: number,
  to: number = parts.reduce((sum, p) => sum + p.size, 0),
  observe?: (chunk: Uint8Array) => Promise<void> | void,
): ReadableStream<Uint8Array> {
  let index = 0;
  let start = 0;
  let reader: ChunkReader | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      for (;;) {
        if (!reader) {
          while (index < parts.length && start + parts[index]!.size <= from) start += parts[index++]!.size;
          const part = parts[index];
          if (!part || from >= to) return ctl.close();
          const skip = from - start;
          const length = Math.min(part.size, to - start) - skip;
          const whole = skip === 0 && length === part.size;
          const object = await bucket.get(part.key, whole ? undefined : { range: { offset: skip, length } });
          if (!object || object.size !== part.size) throw new OriginalPartMissing(part.key);
          reader = chunkReader(object.body);
        }
        const next = await reader.read();
        if (next.done) {
          reader = null;
          start += parts[index++]!.size;
          from = start;
          continue;
        }
        if (next.value.byteLength === 0) continue;
        if (observe) await observe(next.value);
        ctl.enqueue(next.value);
        return;
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}

/** Deletes every object under `prefix`; returns how many. */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    const names = page.objects.map((o) => o.key);
    if (names.length) {
      await bucket.delete(names);
      deleted += names.length;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** Deletes the parts' objects (each partial's whole staging prefix); returns how many objects went. */
export async function deleteParts(bucket: R2Bucket, parts: OriginalPart[]): Promise<number> {
  let deleted = 0;
  for (const part of parts) {
    const prefix = partialPrefixOfDataKey(part.key);
    if (prefix) deleted += await deletePrefix(bucket, prefix);
  }
  return deleted;
}

/** Deletes the original in either shape: a composite's parts first, then everything under `originals/{id}/`. */
export async function deleteOriginal(bucket: R2Bucket, videoId: string): Promise<number> {
  const manifest = await manifestOf(bucket, videoId).catch((err: unknown) => {
    console.warn(`composite manifest of ${videoId} unreadable; deleting the prefix only`, err);
    return null;
  });
  const parts = manifest ? await deleteParts(bucket, manifest.parts) : 0;
  return parts + (await deletePrefix(bucket, keys.originalPrefix(videoId)));
}

/**
 * Deletes the original's own bytes in either shape (a composite's parts, then its manifest or the object) and
 * nothing else under `originals/{id}/` (an extra audio track's file stays): what retention removes from a video
 * that lives on. Running it again after an interruption finishes the job.
 */
export async function deleteOriginalFile(bucket: R2Bucket, videoId: string): Promise<void> {
  const manifest = await manifestOf(bucket, videoId).catch((err: unknown) => {
    console.warn(`composite manifest of ${videoId} unreadable; deleting the object shape only`, err);
    return null;
  });
  if (manifest) await deleteParts(bucket, manifest.parts);
  await bucket.delete([keys.original(videoId), keys.originalManifest(videoId)]);
}

/** Sum of the sizes of every object listed under `prefix`. */
export async function prefixBytes(bucket: R2Bucket, prefix: string): Promise<number> {
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const o of page.objects) total += o.size;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return total;
}

/** Bytes the video's original occupies: the object, or a composite's manifest and the parts it owns. */
export async function originalBytes(bucket: R2Bucket, videoId: string): Promise<number> {
  const listed = await prefixBytes(bucket, keys.originalPrefix(videoId));
  const manifest = await manifestOf(bucket, videoId).catch(() => null);
  return listed + (manifest?.parts.reduce((sum, p) => sum + p.size, 0) ?? 0);
}

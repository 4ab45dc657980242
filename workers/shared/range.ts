/**
 * `Range: bytes=…` requests (RFC 9110 §14), parsed once for every route that serves R2 objects: playback
 * (workers/playback/edge-cache.ts) and the transcoder's storage gateway (workers/transcoding/storage-gateway.ts).
 *
 * Two steps, because a caller needs the range before it knows the object's size (to ask the cache or R2 for it):
 * - `parseRange(header)`: none (absent) / malformed / one byte range. Malformed covers what this parser does not
 *   honour: several ranges (`bytes=0-1,5-9`), other units, syntax errors, reversed bounds (`bytes=5-2`) and
 *   headers over 100 characters. Only one range is honoured so that no header can fan one request out into many
 *   (multipart/byteranges); players and ffmpeg only ever send one.
 * - `resolveRange(range, size)`: satisfiable (bounds clamped to the object: an end past the last byte is the last
 *   byte, `bytes=-n` is the last n bytes) or unsatisfiable (a start at or past the end, a zero-length suffix, an
 *   empty object).
 *
 * The policy every caller applies (RFC 9110 §14.2 lets a server ignore Range; §15.5.17 and §14.4 say how to refuse):
 * a malformed header is ignored and the whole object is sent with 200; an unsatisfiable range gets 416 with
 * `Content-Range: bytes *\/{size}`; a satisfiable one gets 206 with `Content-Range: bytes {start}-{end}/{size}`.
 */
export type ByteRange = { start: number; end: number | null } | { suffix: number };

export type ParsedRange = { kind: 'none' } | { kind: 'malformed' } | { kind: 'range'; range: ByteRange };

export type ResolvedRange = { kind: 'satisfiable'; start: number; end: number } | { kind: 'unsatisfiable' };

export const UNSATISFIABLE: ResolvedRange = { kind: 'unsatisfiable' };

const MAX_HEADER = 100;
const SINGLE = /^bytes=(\d{0,20})-(\d{0,20})$/;
const MALFORMED: ParsedRange = { kind: 'malformed' };

export function parseRange(header: string | null): ParsedRange {
  if (header === null) return { kind: 'none' };
  if (header.length > MAX_HEADER) return MALFORMED;
  const m = SINGLE.exec(header.replace(/\s+/g, ''));
  if (!m) return MALFORMED;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return MALFORMED;
  if (first === '') return { kind: 'range', range: { suffix: Number(last) } };
  const start = Number(first);
  const end = last === '' ? null : Number(last);
  if (end !== null && end < start) return MALFORMED;
  return { kind: 'range', range: { start, end } };
}

export function resolveRange(range: ByteRange, size: number): ResolvedRange {
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'satisfiable', start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) return UNSATISFIABLE;
  return { kind: 'satisfiable', start: range.start, end: range.end === null ? size - 1 : Math.min(range.end, size - 1) };
}

/** `Content-Range` of a 206 (`bytes 0-99/1000`) or of a 416 (`bytes *\/1000`). */
export function contentRange(resolved: ResolvedRange, size: number): string {
  return resolved.kind === 'satisfiable' ? `bytes ${resolved.start}-${resolved.end}/${size}` : `bytes */${size}`;
}

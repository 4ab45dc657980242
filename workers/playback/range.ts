/**
 * `Range` requests on playback objects (RFC 9110 §14).
 *
 * Policy, chosen so that no header can make the Worker do unbounded work:
 * - Only one `bytes=` range is honoured. Several ranges (`bytes=0-1,5-9`), other units, syntax errors, reversed
 *   ranges and absurdly long headers are ignored, which the RFC allows: the client gets the whole object with 200.
 *   Players only ever send one range, and multipart/byteranges would let a client fan one request out into many.
 * - A syntactically valid range that starts at or past the end (`bytes=99999999999-`, or a zero-length suffix)
 *   is answered with 416 and `Content-Range: bytes *\/{size}`.
 * - An end past the last byte is clamped; `bytes=-n` is the last n bytes.
 */
export type RangeRequest = { start: number; end: number | null } | { suffix: number };

export type ResolvedRange = { start: number; end: number } | 'unsatisfiable';

const MAX_HEADER = 100;
const SINGLE = /^bytes=(\d{0,20})-(\d{0,20})$/;

/** The single range asked for, or null when the header is absent or should be ignored. */
export function parseRange(header: string | null): RangeRequest | null {
  if (header === null || header.length > MAX_HEADER) return null;
  const m = SINGLE.exec(header.replace(/\s+/g, ''));
  if (!m) return null;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return null;
  if (first === '') return { suffix: Number(last) };
  const start = Number(first);
  const end = last === '' ? null : Number(last);
  if (end !== null && end < start) return null;
  return { start, end };
}

export function resolveRange(range: RangeRequest, size: number): ResolvedRange {
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) return 'unsatisfiable';
  return { start: range.start, end: range.end === null ? size - 1 : Math.min(range.end, size - 1) };
}

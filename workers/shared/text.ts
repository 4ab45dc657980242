/**
 * The one rule for text that other people see: video titles and descriptions, clip titles, caption labels (also
 * when a title arrives in tus `Upload-Metadata` or with a direct upload URL). What a viewer sees must be what the
 * creator typed, and no string may reorder, hide or break the text around it:
 *
 * - no control characters (C0, DEL, C1 — U+0085 included); a description may hold line breaks and tabs;
 * - no explicit bidirectional controls — embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069):
 *   `abc\u202Egnp.exe` would show as `abcexe.png`. The implicit marks (U+200E, U+200F, U+061C) stay allowed: they
 *   only set the direction of neutral characters next to them, and right-to-left writers need them;
 * - no line or paragraph separators (U+2028, U+2029), which some readers (hls.js among them) take for line breaks;
 * - no unpaired UTF-16 surrogates (JSON can carry `\ud800`; no UTF-8 can store it);
 * - a one-line field (everything but a description) must show something: a title of zero-width characters only
 *   is refused.
 *
 * Schemas apply it with `visibleText` (zod); other readers of such text (tus metadata) call `textProblem`. Writers
 * of formats with their own syntax (HLS attribute values) still escape what they write: `lineSafe`.
 */
import { z } from './openapi';

export type TextShape = 'line' | 'multiline';

const BIDI_CONTROLS = '\\u202A-\\u202E\\u2066-\\u2069';
const SEPARATORS = '\\u2028\\u2029';
const BIDI_CONTROL = new RegExp(`[${BIDI_CONTROLS}]`, 'u');
const LINE_SEPARATOR = new RegExp(`[${SEPARATORS}]`, 'u');
const LONE_SURROGATE = /\p{Cs}/u;
/** Letters, digits, punctuation and symbols; Hangul fillers and the blank Braille pattern are letters that show nothing. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;
const BLANK_LETTERS = /[\u115F\u1160\u3164\uFFA0\u2800]/gu;

const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function firstControl(value: string, shape: TextShape): string | null {
  for (const ch of value) {
    if (!/\p{Cc}/u.test(ch)) continue;
    if (shape === 'multiline' && (ch === '\n' || ch === '\r' || ch === '\t')) continue;
    return ch;
  }
  return null;
}

/** Why `value` breaks the rule (a phrase to follow the field's name), or null when it is fine. */
export function textProblem(value: string, shape: TextShape): string | null {
  const control = firstControl(value, shape);
  if (control !== null) return `must not contain control characters (found ${codePoint(control)})`;
  const bidi = BIDI_CONTROL.exec(value);
  if (bidi) return `must not contain bidirectional control characters (found ${codePoint(bidi[0])})`;
  const separator = LINE_SEPARATOR.exec(value);
  if (separator) return `must not contain line or paragraph separators (found ${codePoint(separator[0])})`;
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (found an unpaired surrogate)';
  if (shape === 'line' && value !== '' && !VISIBLE.test(value.replace(BLANK_LETTERS, ''))) {
    return 'must contain at least one visible character';
  }
  return null;
}

/**
 * A string field under the rule: at most `max` characters, trimmed; `required` (the default) refuses an empty one
 * with `emptyMessage`. `tooLong`/`emptyMessage` keep each field's long-standing wording.
 */
export function visibleText(field: string, options: { max: number; shape?: TextShape; required?: boolean; typeMessage?: string; tooLong?: string; emptyMessage?: string }) {
  const shape = options.shape ?? 'line';
  const typeMessage = options.typeMessage ?? `${field} must be a string`;
  let schema = z.string({ error: typeMessage }).max(options.max, options.tooLong ?? `${field} must be at most ${options.max} characters`);
  if (shape === 'line') schema = schema.trim();
  if (options.required !== false) schema = schema.min(1, options.emptyMessage ?? `${field} must not be empty`);
  return schema.refine((value) => textProblem(value, shape) === null, {
    error: (issue) => `${field} ${textProblem(String(issue.input), shape) ?? 'is not valid text'}`,
  });
}

const UNSAFE_IN_LINE = new RegExp(`[\\p{Cc}\\p{Cs}${SEPARATORS}${BIDI_CONTROLS}"]`, 'gu');

/**
 * `value` with every character that could end or bend a one-line value replaced by a space: controls (CR, LF,
 * U+0085), line and paragraph separators, bidirectional controls, unpaired surrogates and `"` (the end of an HLS quoted-string, which
 * has no escape: RFC 8216 §4.2). Input is refused before it gets this far; this keeps a stored value from before
 * the rule (or a future field) from cutting a playlist line.
 */
export function lineSafe(value: string): string {
  return value.replace(UNSAFE_IN_LINE, ' ');
}

/**
 * Caption files: WebVTT or SRT in, one normalised WebVTT out (pure functions, no I/O).
 *
 * Business rules (the playlist that references the result must never break):
 * - The body must be UTF-8 text (a BOM is allowed): NUL bytes or invalid UTF-8 are a 400, not a "best effort".
 * - WebVTT is recognised by its `WEBVTT` signature; anything else is parsed as SRT (numbered blocks with
 *   `00:00:01,000 --> 00:00:02,500` timings) and converted.
 * - Every cue's timing line must parse and end after it starts; the first malformed one is a 400 naming its line.
 * - Cues past the end of the video are clipped: a cue that starts at or after the end is dropped, one that runs
 *   over is cut at the end. A file left with no cue at all is a 400.
 * - The output is re-serialised from the parsed cues (timings in canonical `hh:mm:ss.mmm`, settings and text kept,
 *   NOTE/STYLE/REGION blocks dropped), so what is stored is always a valid file whatever the input's quirks.
 */
export interface Cue {
  id: string | null;
  start: number;
  end: number;
  settings: string;
  text: string;
}

export type ParseResult = { ok: true; cues: Cue[]; clipped: number; dropped: number } | { ok: false; message: string };

const TIME = /^(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})$/;

function parseTime(text: string): number | null {
  const m = TIME.exec(text.trim());
  if (!m) return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
}

export function formatTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** Decodes the body as UTF-8 text; null when it is not text. */
export function decodeText(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

interface Block {
  lines: string[];
  firstLine: number;
}

function blocks(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: Block[] = [];
  let current: Block | null = null;
  lines.forEach((line, i) => {
    if (line.trim() === '') {
      current = null;
      return;
    }
    if (!current) {
      current = { lines: [], firstLine: i + 1 };
      out.push(current);
    }
    current.lines.push(line);
  });
  return out;
}

/** Parses the cue blocks of either format; `isVtt` decides whether the first block is the header. */
export function parseCaptions(text: string): ParseResult {
  const isVtt = /^WEBVTT(?:[ \t].*)?$/.test(text.split(/\r\n?|\n/, 1)[0] ?? '');
  const all = blocks(text);
  const cueBlocks = isVtt ? all.slice(1) : all;
  const cues: Cue[] = [];
  for (const block of cueBlocks) {
    const head = block.lines[0]!;
    if (isVtt && /^(NOTE|STYLE|REGION)(\s|$)/.test(head)) continue;
    const arrowAt = block.lines.findIndex((l) => l.includes('-->'));
    // A cue is an optional identifier line, then the timing line.
    if (arrowAt < 0 || arrowAt > 1) {
      return { ok: false, message: `line ${block.firstLine}: expected a cue timing line like "00:00:01.000 --> 00:00:02.000"` };
    }
    const timingLine = block.lines[arrowAt]!;
    const m = /^\s*(\S+)\s+-->\s+(\S+)(.*)$/.exec(timingLine);
    const start = m ? parseTime(m[1]!) : null;
    const end = m ? parseTime(m[2]!) : null;
    const lineNo = block.firstLine + arrowAt;
    if (start === null || end === null) return { ok: false, message: `line ${lineNo}: malformed cue timing ${JSON.stringify(timingLine.slice(0, 80))}` };
    if (end <= start) return { ok: false, message: `line ${lineNo}: cue ends (${m![2]}) before it starts (${m![1]})` };
    const textLines = block.lines.slice(arrowAt + 1);
    if (textLines.some((l) => l.includes('-->'))) return { ok: false, message: `line ${lineNo}: cue text must not contain "-->"` };
    const id = arrowAt === 1 ? head.trim() : null;
    cues.push({ id: isVtt ? id : null, start, end, settings: isVtt ? (m![3] ?? '').trim() : '', text: textLines.join('\n') });
  }
  if (cues.length === 0) return { ok: false, message: 'the file has no cues' };
  return { ok: true, cues, clipped: 0, dropped: 0 };
}

/** Drops cues that start at or after `duration` and cuts the ones that run past it. */
export function clipCues(cues: readonly Cue[], duration: number): { cues: Cue[]; clipped: number; dropped: number } {
  const out: Cue[] = [];
  let clipped = 0;
  let dropped = 0;
  for (const cue of cues) {
    if (cue.start >= duration) {
      dropped++;
      continue;
    }
    if (cue.end > duration) {
      clipped++;
      out.push({ ...cue, end: duration });
    } else out.push(cue);
  }
  return { cues: out, clipped, dropped };
}

/** Canonical WebVTT. `timestampMap` adds the HLS `X-TIMESTAMP-MAP` header line (only for the HLS segment). */
export function serializeVtt(cues: readonly Cue[], timestampMap?: { mpegTs: number }): string {
  const parts = [timestampMap ? `WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:${timestampMap.mpegTs},LOCAL:00:00:00.000` : 'WEBVTT'];
  for (const cue of cues) {
    const timing = `${formatTime(cue.start)} --> ${formatTime(cue.end)}${cue.settings ? ` ${cue.settings}` : ''}`;
    parts.push([cue.id, timing, cue.text].filter((l): l is string => l !== null && l !== '').join('\n'));
  }
  return parts.join('\n\n') + '\n';
}

export { canonicalLanguageTag } from '../shared/language';

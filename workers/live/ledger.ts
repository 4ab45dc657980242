/**
 * The broadcast's segment ledger: the pure rules a LiveInput object applies to what ffmpeg pushes.
 *
 * ffmpeg's HLS muxer names segments `{base}{n}.ts` with n counting from 0 per run, streams each one with a chunked
 * PUT while it is being written, and PUTs the playlist (with each segment's EXTINF) when a segment closes; the
 * playlist may arrive before the segment's own PUT has finished. So a segment is published when both its bytes and
 * its duration are in, in order. Segments get the broadcast's own numbers (`seq`, the recording's segment numbers),
 * so a restarted ffmpeg (n back to 0) continues the same recording after an `EXT-X-DISCONTINUITY`.
 */

export interface LedgerRow {
  seq: number;
  connection: number;
  num: number;
  duration: number | null;
  bytes: number | null;
  /** SHA-256 of the stored bytes (null until stored): a retry has the same, a restarted ffmpeg's segment another. */
  digest: string | null;
}

export type SegmentDecision =
  | { kind: 'duplicate'; seq: number }
  | { kind: 'store'; seq: number; newConnection: boolean; newRow: boolean }
  | { kind: 'out_of_order'; reason: string }
  | { kind: 'mismatch'; reason: string };

/**
 * Where a pushed segment `num` goes, given the current connection's rows (in `seq` order) and the next free seq.
 * - already stored on this connection with the same bytes: a retry, idempotent;
 * - 0 again with other bytes: ffmpeg restarted (a reconnect): a new connection;
 * - another number again with other bytes: refused (it is neither a retry nor a restart);
 * - announced by a playlist but not stored yet: store it in its row;
 * - above every number of this connection: a new row;
 * - 0 below them: a reconnect whose first segment was lost; anything else below them: out of order, refused.
 */
export function placeSegment(rows: readonly LedgerRow[], num: number, nextSeq: number, digest: string): SegmentDecision {
  const same = rows.find((r) => r.num === num);
  if (same && same.bytes === null) return { kind: 'store', seq: same.seq, newConnection: false, newRow: false };
  if (same && same.digest === digest) return { kind: 'duplicate', seq: same.seq };
  if (same && num === 0) return { kind: 'store', seq: nextSeq, newConnection: true, newRow: true };
  if (same) return { kind: 'mismatch', reason: `segment ${num} of this connection was already received with other bytes; a restarted broadcaster starts again at 0` };
  const highest = rows.reduce((m, r) => Math.max(m, r.num), -1);
  if (num > highest) return { kind: 'store', seq: nextSeq, newConnection: false, newRow: true };
  if (num === 0) return { kind: 'store', seq: nextSeq, newConnection: true, newRow: true };
  return { kind: 'out_of_order', reason: `segment ${num} arrived after segment ${highest} of this connection; segments must be pushed in order` };
}

/** A playlist lists a restarted ffmpeg's segments when its numbers start at 0 and stay below this connection's highest. */
export function isRestartPlaylist(rows: readonly LedgerRow[], listed: readonly number[]): boolean {
  if (listed.length === 0 || rows.length === 0) return false;
  const highest = rows.reduce((m, r) => Math.max(m, r.num), -1);
  return listed[0] === 0 && Math.max(...listed) < highest && !rows.some((r) => r.num === 0 && r.bytes === null);
}

/** The publishable prefix: rows in seq order up to the first one missing its bytes or its duration. */
export function publishable<T extends LedgerRow>(rows: readonly T[]): (T & { duration: number; bytes: number })[] {
  const out: (T & { duration: number; bytes: number })[] = [];
  for (const r of rows) {
    if (r.duration === null || r.bytes === null) break;
    out.push(r as T & { duration: number; bytes: number });
  }
  return out;
}

export interface PlaylistEntries {
  entries: { num: number; duration: number }[];
  ended: boolean;
}

/** Reads ffmpeg's media playlist: each `#EXTINF:<seconds>,` and the URI after it (`{base}{n}.ts`); ENDLIST ends it. */
export function parsePushedPlaylist(text: string): PlaylistEntries | string {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') return 'the playlist does not start with #EXTM3U';
  const entries: { num: number; duration: number }[] = [];
  let pending: number | null = null;
  for (const line of lines) {
    if (line.startsWith('#EXTINF:')) {
      const seconds = Number(line.slice(8).split(',')[0]);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 60) return `bad EXTINF ${JSON.stringify(line.slice(0, 40))}`;
      pending = seconds;
    } else if (line && !line.startsWith('#') && pending !== null) {
      const num = segmentNumber(line);
      if (num === null) return `segment URI ${JSON.stringify(line.slice(0, 80))} is not a name ending in a number and .ts`;
      entries.push({ num, duration: pending });
      pending = null;
    }
  }
  return { entries, ended: lines.includes('#EXT-X-ENDLIST') };
}

/** `index12.ts` → 12 (the number ffmpeg's HLS muxer appends); null for anything else. */
export function segmentNumber(name: string): number | null {
  const m = /^[A-Za-z_-]{0,48}(\d{1,9})\.ts$/.exec(name);
  return m ? Number(m[1]) : null;
}

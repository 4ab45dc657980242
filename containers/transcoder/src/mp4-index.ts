/**
 * Where each track's samples lie in an ISO BMFF file (MP4/MOV), read from its `moov` box with a few small ranged
 * reads — so a job that needs one track (the audio unit) can skip the bytes of the others (range-proxy.ts serves
 * them as zeros without fetching them; ffmpeg never looks at the samples of a stream it discards).
 *
 * Reads the top-level box headers (16 bytes each) until `moov`, then `moov` whole (bounded by MAX_MOOV_BYTES), and
 * per `trak`: the handler type (`hdlr`), sample sizes (`stsz`), sample-to-chunk (`stsc`) and chunk offsets
 * (`stco`/`co64`). Returns null for anything else — not ISO BMFF, a `moov` too large, compact sample sizes
 * (`stz2`), a malformed table — and the caller reads the whole file as before. A fragmented file (`moof`) has no
 * samples in its `moov` tables, so nothing is skipped there either.
 */

/** Inclusive byte range. */
export type ByteRange = [start: number, end: number];

export interface TrackSamples {
  /** `hdlr` handler type: `vide`, `soun`, `text`, … */
  handler: string;
  /** The track's sample data, merged where contiguous, in file order. */
  ranges: ByteRange[];
  bytes: number;
}

/** Reads `length` bytes at `offset` (fewer only at the end of the file). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 64;

interface Box {
  type: string;
  /** Offset of the payload, and its end (exclusive), within the buffer or file. */
  start: number;
  end: number;
}

const fourcc = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/** The box header at `at` in `b` (null if it does not fit or is malformed); `limit` is where its parent ends. */
function boxAt(b: Uint8Array, at: number, limit: number): Box | null {
  if (at + 8 > limit) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let size = v.getUint32(at);
  const type = fourcc(b, at + 4);
  let header = 8;
  if (size === 1) {
    if (at + 16 > limit) return null;
    size = Number(v.getBigUint64(at + 8));
    header = 16;
  } else if (size === 0) {
    size = limit - at;
  }
  if (size < header || at + size > limit) return null;
  return { type, start: at + header, end: at + size };
}

function children(b: Uint8Array, parent: Box): Box[] {
  const out: Box[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const box = boxAt(b, at, parent.end);
    if (!box) throw new Error('malformed box');
    out.push(box);
    at = box.end;
  }
  return out;
}

const child = (b: Uint8Array, parent: Box, type: string) => children(b, parent).find((c) => c.type === type);

/** Sample data ranges of one `trak`, or null when its tables are missing or unusable. */
function trackSamples(b: Uint8Array, trak: Box): TrackSamples | null {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const mdia = child(b, trak, 'mdia');
  const hdlr = mdia && child(b, mdia, 'hdlr');
  const stbl = mdia && (() => {
    const minf = child(b, mdia, 'minf');
    return minf && child(b, minf, 'stbl');
  })();
  if (!hdlr || !stbl) return null;
  const handler = fourcc(b, hdlr.start + 8);
  const stsz = child(b, stbl, 'stsz');
  const stsc = child(b, stbl, 'stsc');
  const stco = child(b, stbl, 'stco');
  const co64 = child(b, stbl, 'co64');
  if (!stsz || !stsc || (!stco && !co64)) return null;

  const fixed = v.getUint32(stsz.start + 4);
  const count = v.getUint32(stsz.start + 8);
  if (fixed === 0 && stsz.start + 12 + 4 * count > stsz.end) return null;
  const sizeOf = (i: number) => (fixed !== 0 ? fixed : v.getUint32(stsz.start + 12 + 4 * i));

  const offsets: number[] = [];
  const table = (co64 ?? stco)!;
  const chunks = v.getUint32(table.start + 4);
  const width = co64 ? 8 : 4;
  if (table.start + 8 + width * chunks > table.end) return null;
  for (let i = 0; i < chunks; i++) offsets.push(co64 ? Number(v.getBigUint64(table.start + 8 + 8 * i)) : v.getUint32(table.start + 8 + 4 * i));

  const entries = v.getUint32(stsc.start + 4);
  if (stsc.start + 8 + 12 * entries > stsc.end) return null;
  const ranges: ByteRange[] = [];
  let sample = 0;
  let bytes = 0;
  for (let e = 0; e < entries; e++) {
    const firstChunk = v.getUint32(stsc.start + 8 + 12 * e) - 1;
    const perChunk = v.getUint32(stsc.start + 8 + 12 * e + 4);
    const nextFirst = e + 1 < entries ? v.getUint32(stsc.start + 8 + 12 * (e + 1)) - 1 : chunks;
    for (let c = firstChunk; c < nextFirst && c < chunks; c++) {
      let size = 0;
      for (let s = 0; s < perChunk && sample < count; s++) size += sizeOf(sample++);
      if (size === 0) continue;
      const start = offsets[c]!;
      const last = ranges.at(-1);
      if (last && last[1] + 1 === start) last[1] = start + size - 1;
      else ranges.push([start, start + size - 1]);
      bytes += size;
    }
  }
  ranges.sort((x, y) => x[0] - y[0]);
  return { handler, ranges, bytes };
}

/** Every track's sample ranges, in `trak` order (= ffmpeg's stream order), or null (see the file comment). */
export async function readTrackSamples(readAt: ReadAt, fileSize: number): Promise<TrackSamples[] | null> {
  let moov: Uint8Array | null = null;
  for (let at = 0, n = 0; at < fileSize && n < MAX_TOP_LEVEL_BOXES; n++) {
    const head = await readAt(at, 16);
    if (head.length < 8) return null;
    const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const type = fourcc(head, 4);
    let size = v.getUint32(0);
    if (size === 1) {
      if (head.length < 16) return null;
      size = Number(v.getBigUint64(8));
    } else if (size === 0) {
      size = fileSize - at;
    }
    if (size < 8 || at + size > fileSize || !/^[\x20-\x7e]{4}$/.test(type)) return null;
    if (type === 'moov') {
      if (size > MAX_MOOV_BYTES) return null;
      moov = await readAt(at, size);
      if (moov.length !== size) return null;
      break;
    }
    at += size;
  }
  if (!moov) return null;
  try {
    const root = boxAt(moov, 0, moov.length);
    if (!root) return null;
    const traks = children(moov, root).filter((c) => c.type === 'trak');
    const tracks = traks.map((t) => trackSamples(moov, t));
    return tracks.every((t): t is TrackSamples => t !== null) ? tracks : null;
  } catch {
    return null;
  }
}

/**
 * The byte ranges a reader of the first audio track does not need: every other track's samples, except in the
 * first `keepPrefix` bytes (ffmpeg and ffprobe decode the first packets of every stream while probing the input,
 * before they discard the streams they do not use), and only runs of at least `minSkip` bytes: every skipped range
 * splits the read into one more storage request, which costs more than reading a short run (files muxed by ffmpeg
 * interleave per frame, ~100 KB of video between audio samples at 25 Mb/s: nothing is worth skipping there; camera
 * files interleave about one second per chunk, megabytes of video between audio runs). Null when the file has no
 * audio track or could not be indexed.
 */
export function skippableForAudio(tracks: TrackSamples[] | null, keepPrefix: number, minSkip = 0): ByteRange[] | null {
  const audio = tracks?.findIndex((t) => t.handler === 'soun') ?? -1;
  if (!tracks || audio < 0) return null;
  const skip = tracks
    .filter((_, i) => i !== audio)
    .flatMap((t) => t.ranges)
    .map(([s, e]): ByteRange => [Math.max(s, keepPrefix), e])
    .filter(([s, e]) => s <= e)
    .sort((x, y) => x[0] - y[0]);
  // Merge, and never let a skipped range cover an audio sample (tracks may interleave within one range).
  const merged: ByteRange[] = [];
  for (const r of skip) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return subtract(merged, tracks[audio]!.ranges).filter(([s, e]) => e - s + 1 >= minSkip);
}

/** `ranges` minus `remove` (both sorted, non-overlapping). */
function subtract(ranges: ByteRange[], remove: ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  let j = 0;
  for (const [s0, e] of ranges) {
    let s = s0;
    while (j < remove.length && remove[j]![1] < s) j++;
    for (let k = j; k < remove.length && remove[k]![0] <= e; k++) {
      if (remove[k]![0] > s) out.push([s, remove[k]![0] - 1]);
      s = Math.max(s, remove[k]![1] + 1);
    }
    if (s <= e) out.push([s, e]);
  }
  return out;
}

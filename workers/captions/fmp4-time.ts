/**
 * The start time of a CMAF (fragmented MP4) segment, for the HLS `X-TIMESTAMP-MAP` of caption tracks: the first
 * fragment's `tfdt` (base media decode time) in the track's timescale (`mdhd` of the init segment), as players
 * take a fragmented MP4's start (hls.js: the same decode time, in the 90 kHz clock of the map).
 */

type Box = { type: string; start: number; end: number; body: number };

function* boxes(bytes: Uint8Array, start: number, end: number): Generator<Box> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = start; at + 8 <= end; ) {
    let size = view.getUint32(at);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(view.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = end - at;
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    // A box cut off by a range read still yields its start (enough for the small boxes read here).
    yield { type, start: at, end: Math.min(at + size, end), body };
    if (size < 8) return;
    at += size;
  }
}

function find(bytes: Uint8Array, path: string[], start = 0, end = bytes.length): Box | null {
  for (const box of boxes(bytes, start, end)) {
    if (box.type !== path[0]) continue;
    return path.length === 1 ? box : find(bytes, path.slice(1), box.body, box.end);
  }
  return null;
}

/** The first track's timescale from an init segment (moov/trak/mdia/mdhd), or null. */
export function trackTimescale(init: Uint8Array): number | null {
  const mdhd = find(init, ['moov', 'trak', 'mdia', 'mdhd']);
  if (!mdhd) return null;
  const view = new DataView(init.buffer, init.byteOffset, init.byteLength);
  const version = init[mdhd.body]!;
  const at = mdhd.body + (version === 1 ? 20 : 12);
  return at + 4 <= mdhd.end ? view.getUint32(at) : null;
}

/** The first fragment's base media decode time (moof/traf/tfdt), or null. */
export function firstDecodeTime(segment: Uint8Array): number | null {
  const tfdt = find(segment, ['moof', 'traf', 'tfdt']);
  if (!tfdt) return null;
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  const version = segment[tfdt.body]!;
  if (version === 1) return tfdt.body + 12 <= tfdt.end ? Number(view.getBigUint64(tfdt.body + 4)) : null;
  return tfdt.body + 8 <= tfdt.end ? view.getUint32(tfdt.body + 4) : null;
}

/** The segment's start on the 90 kHz clock (`X-TIMESTAMP-MAP=MPEGTS:`), or null when either box is missing. */
export function fragmentStart90k(init: Uint8Array, segment: Uint8Array): number | null {
  const timescale = trackTimescale(init);
  const time = firstDecodeTime(segment);
  return timescale && time !== null ? Math.round((time * 90_000) / timescale) : null;
}

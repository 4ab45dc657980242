/**
 * Scrub previews from a WebVTT storyboard: each cue's payload is a sprite-sheet URL with a media fragment
 * `#xywh=x,y,w,h` naming the tile for that time range (the format JW Player, Video.js and Vidstack read).
 */
export interface StoryboardTile {
  start: number;
  end: number;
  /** Absolute URL of the sprite sheet (resolved against the VTT's URL, so signed query strings survive). */
  image: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function parseTimestamp(text: string): number | null {
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]!.padEnd(3, '0')) / 1000;
}

export function parseStoryboard(vtt: string, baseUrl: string): StoryboardTile[] {
  const lines = vtt.replace(/\r\n?/g, '\n').split('\n');
  if (!lines[0]?.startsWith('WEBVTT')) return [];
  const tiles: StoryboardTile[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('-->')) continue;
    const [from, to] = line.split('-->');
    const start = parseTimestamp(from ?? '');
    const end = parseTimestamp((to ?? '').trim().split(/\s+/)[0] ?? '');
    const payload = lines[i + 1]?.trim() ?? '';
    const hash = payload.lastIndexOf('#xywh=');
    if (start === null || end === null || hash < 0) continue;
    const dims = payload.slice(hash + 6).split(',').map(Number);
    if (dims.length !== 4 || dims.some((n) => !Number.isFinite(n))) continue;
    let image: string;
    try {
      image = resolveKeepingQuery(payload.slice(0, hash), baseUrl);
    } catch {
      continue;
    }
    tiles.push({ start, end, image, x: dims[0]!, y: dims[1]!, w: dims[2]!, h: dims[3]! });
  }
  return tiles;
}

/**
 * Resolves a sprite reference against the storyboard URL. When the storyboard came from a signed URL whose token
 * is in the query string, a bare relative reference would drop it, so the base's query is carried over unless the
 * reference has its own.
 */
function resolveKeepingQuery(ref: string, baseUrl: string): string {
  const url = new URL(ref, baseUrl);
  const base = new URL(baseUrl);
  if (!url.search && base.search && url.origin === base.origin) url.search = base.search;
  return url.toString();
}

/** The tile covering `time` (binary search; tiles are in time order). */
export function tileAt(tiles: readonly StoryboardTile[], time: number): StoryboardTile | null {
  let lo = 0;
  let hi = tiles.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const tile = tiles[mid]!;
    if (time < tile.start) hi = mid - 1;
    else if (time >= tile.end) lo = mid + 1;
    else return tile;
  }
  // Past the last cue (rounding at the very end): show the last tile.
  const last = tiles[tiles.length - 1];
  return last && time >= last.start ? last : null;
}

/**
 * How playback plays an instant clip (workers/clips makes them), resolved at request time.
 *
 * A clip is a video row with `clip_of` (its source) and `[clip_start, clip_end)`, a range of the source already
 * rounded outward to segment boundaries when the clip was made. It owns no media: its rungs are windows onto the
 * source's rungs, recomputed from the source's *current* `renditions` rows on every playback-state load. So a source
 * that is re-transcoded (new segment boundaries, new rungs) keeps its clips playing: the window is re-derived from
 * the new segment list, in seconds, not frozen as segment numbers.
 *
 * Window rule: segment i of a rung (its time range [s, e)) belongs to the clip when it overlaps the range by more
 * than `EDGE_TOLERANCE` seconds. Rungs of one ladder share keyframes (same GOP), so every rung gets the same window;
 * the tolerance absorbs the millisecond differences of their written durations.
 */
import type { PlayableRendition } from './manifest';

const EDGE_TOLERANCE = 0.05;

export interface SegmentWindow {
  first: number;
  count: number;
  start: number;
  end: number;
}

/** Segments of `durations` overlapping [start, end), with the window's own start and end times. */
export function segmentWindow(durations: readonly number[], start: number, end: number): SegmentWindow | null {
  let t = 0;
  let first = -1;
  let count = 0;
  let windowStart = 0;
  let windowEnd = 0;
  durations.forEach((d, i) => {
    const s = t;
    const e = t + d;
    t = e;
    if (e > start + EDGE_TOLERANCE && s < end - EDGE_TOLERANCE) {
      if (first < 0) {
        first = i;
        windowStart = s;
      }
      count++;
      windowEnd = e;
    }
  });
  return first < 0 ? null : { first, count, start: windowStart, end: windowEnd };
}

/** Rounds [start, end) outward to the boundaries of `durations` (the source's top rung). */
export function roundOutward(durations: readonly number[], start: number, end: number): SegmentWindow | null {
  return segmentWindow(durations, start, end);
}

/** The clip's rungs: each source rung cut to the window, its segments keeping their source numbers. */
export function clipRenditions(source: Iterable<PlayableRendition>, start: number, end: number): Map<string, PlayableRendition> {
  const out = new Map<string, PlayableRendition>();
  for (const r of source) {
    const w = segmentWindow(r.segmentDurations, start, end);
    if (!w) continue;
    out.set(r.name, { ...r, segmentDurations: r.segmentDurations.slice(w.first, w.first + w.count), firstSegment: w.first, firstSegmentStart: w.start });
  }
  return out;
}

/** Clip ids carry their own prefix, so playback can tell a clip from its path alone (no lookup on cache hits). */
export const CLIP_ID_PREFIX = 'clp';
export const isClipId = (videoId: string) => videoId.startsWith(`${CLIP_ID_PREFIX}_`);

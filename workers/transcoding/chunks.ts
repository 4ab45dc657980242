/**
 * Chunk planning. Business rules:
 * - the chunk length is `chunkSec` rounded to a multiple of the segment duration D (at least D), so every chunk
 *   starts on a segment boundary and its first segment number is `startSec / D`;
 * - the last chunk is open-ended (`endSec` null: to the end of the stream), so a duration that analysis slightly
 *   under-reports cannot drop the last frames; videos shorter than one chunk are one chunk.
 */
import type { ChunkSpec } from '../../containers/transcoder/src/protocol';

export function chunkLength(chunkSec: number, segmentSec: number): number {
  return Math.max(segmentSec, Math.round(chunkSec / segmentSec) * segmentSec);
}

export function planChunks(durationSec: number, chunkSec: number, segmentSec: number): ChunkSpec[] {
  const c = chunkLength(chunkSec, segmentSec);
  const count = Math.max(1, Math.ceil(durationSec / c - 1e-6));
  return Array.from({ length: count }, (_, index) => ({
    index,
    startSec: index * c,
    endSec: index === count - 1 ? null : (index + 1) * c,
    firstSegment: Math.round((index * c) / segmentSec),
  }));
}

/** A chunk's spec from its job row's range (the row is the source of truth, whatever the config says now). */
export function chunkFromRange(index: number, rangeStart: number, rangeEnd: number | null, segmentSec: number): ChunkSpec {
  return { index, startSec: rangeStart, endSec: rangeEnd, firstSegment: Math.round(rangeStart / segmentSec) };
}

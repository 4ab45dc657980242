/**
 * The contract every ABR controller implements, shared by the lab's simulator (abr/lab/sim) and the player's hls.js
 * adapter (hls-abr-controller.ts). Pure data in, a rung index out: no DOM, no timers, no clock. Every time is in
 * seconds and every rate in bits/s, so the same controller runs in a browser and in a trace-driven simulation.
 */

/** What a controller knows about the stream, fixed while it plays. */
export interface AbrStream {
  /** Nominal bitrate of each rung, bits/s, ascending (index 0 is the lowest rung). */
  bitrates: readonly number[];
  /** Nominal segment duration, seconds. */
  segmentDurationSec: number;
  /** The player stops fetching once this many seconds are buffered (hls.js `maxBufferLength`). */
  maxBufferSec: number;
}

/** Everything a controller may look at when it picks the rung of the next segment. */
export interface AbrDecision {
  /** Seconds of media buffered ahead of the playhead. */
  bufferSec: number;
  /** Rung of the previous segment; -1 before the first one. */
  lastLevel: number;
  /** Index of the segment about to be requested (0-based). */
  segmentIndex: number;
  /** Segments left including this one, when known (VOD); lookahead controllers clip their horizon to it. */
  segmentsLeft?: number;
  /** Size in bits of segment `index` at `level` when the player knows it; else bitrate × duration is assumed. */
  segmentBits?: (level: number, index: number) => number;
  /** Highest rung allowed (hls.js `autoLevelCapping` / `maxAutoLevel`); defaults to the top rung. */
  maxLevel?: number;
}

/** A completed segment download. */
export interface DownloadSample {
  level: number;
  bits: number;
  /** Request sent → last byte, seconds (includes the time to first byte). */
  durationSec: number;
  /** Request sent → first byte, seconds (≈ one RTT). */
  ttfbSec: number;
}

/** Progress of the download in flight, reported periodically so a controller can abandon it. */
export interface DownloadProgress {
  level: number;
  segmentIndex: number;
  bitsLoaded: number;
  bitsTotal: number;
  /** Seconds since the request was sent. */
  elapsedSec: number;
  /** Seconds of media buffered right now (it drains while the download runs). */
  bufferSec: number;
}

/** What a controller can hand to the player to keep for the viewer's next visit (stored in localStorage by the adapter). */
export interface PersistedAbrState {
  /** Bandwidth estimate, bits/s. */
  bandwidthBps: number;
  /** Wall-clock time it was saved, ms since the epoch. */
  savedAtMs: number;
}

export interface AbrController {
  readonly name: string;
  /** Rung index for the next segment. */
  chooseLevel(decision: AbrDecision): number;
  /** Feed one completed download. */
  onDownloaded(sample: DownloadSample): void;
  /**
   * Called while a download is in flight. Return a lower rung to abandon the request and fetch the same segment
   * there instead, or null to let it finish. Controllers without an emergency rule omit it.
   */
  onProgress?(progress: DownloadProgress): number | null;
  /** Current bandwidth estimate in bits/s, or null before the first sample. */
  bandwidthEstimate(): number | null;
  /** State worth keeping for the viewer's next visit (null when nothing has been learnt yet). */
  exportState?(nowMs: number): PersistedAbrState | null;
}

export type AbrControllerFactory = (stream: AbrStream) => AbrController;

/** Highest rung whose bitrate is ≤ `bps`, never below 0 and never above `maxLevel`. */
export function highestRungUnder(bitrates: readonly number[], bps: number, maxLevel = bitrates.length - 1): number {
  for (let i = Math.min(maxLevel, bitrates.length - 1); i > 0; i--) {
    if ((bitrates[i] ?? Infinity) <= bps) return i;
  }
  return 0;
}

export function capLevel(stream: AbrStream, decision: AbrDecision): number {
  return Math.max(0, Math.min(decision.maxLevel ?? stream.bitrates.length - 1, stream.bitrates.length - 1));
}

/** Bits of segment `index` at `level`: the real size when known, else nominal bitrate × duration. */
export function segmentBitsOf(stream: AbrStream, decision: AbrDecision, level: number, index: number): number {
  return decision.segmentBits ? decision.segmentBits(level, index) : (stream.bitrates[level] ?? 0) * stream.segmentDurationSec;
}

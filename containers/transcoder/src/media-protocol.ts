/**
 * Wire contract of the transcoder's media jobs beyond the ladder (workers/frames, workers/downloads). Types only.
 *
 *   POST /v1/frame     FrameRequest    → 200 image/jpeg (the bytes themselves; small and synchronous)
 *   POST /v1/download  DownloadRequest → NDJSON JobEvents ending in DownloadResult (like /v1/encode)
 */

export interface FrameRequest {
  /** The one segment holding the frame (read through storage). */
  segmentKey: string;
  /** CMAF: the rendition's init segment, read before the segment. */
  initKey?: string;
  /** Seconds from the segment's first frame. */
  offset: number;
  width: number;
  height: number;
}

export interface DownloadEncodeFallback {
  sourceKey: string;
  /** Range of the source to encode (a clip's window), seconds. */
  start: number;
  duration: number;
  width: number;
  height: number;
  bitrate: number;
  maxrate: number;
  bufsize: number;
  audioBitrate: number;
  x264Preset: string;
}

export interface DownloadRequest {
  /** The rung's segments in order; remuxed (copied) into one MP4 when that gives a valid file. */
  segmentKeys: string[];
  /**
   * `segmentKeys` (and `initKey`) are an audio rendition's: the result is an M4A of that AAC track alone, copied
   * (never encoded; there is no fallback), checked as AAC of the expected duration.
   */
  audioOnly?: boolean;
  /** CMAF: the rendition's init segment, which makes its segments one fragmented MP4. */
  initKey?: string;
  /** The rung's video codec as ffprobe names it (`h264`, `hevc`, `av1`; absent: `h264`): a remux must keep it. */
  videoCodec?: string;
  /**
   * The audio rendition's segments over the same window (the ladder's audio is its own HLS rendition), copied in
   * as the MP4's audio track; absent or empty: the rung's segments carry whatever audio there is.
   */
  audioSegmentKeys?: string[];
  /** CMAF: the audio rendition's init segment. */
  audioInitKey?: string;
  outputKey: string;
  /** What the rung's playlist says it lasts; a remux off by more than the tolerance is not trusted. */
  expectedDuration: number;
  durationToleranceSec: number;
  /** Used when the remux fails or does not check out; null when there is no original to encode from. */
  encodeFallback: DownloadEncodeFallback | null;
}

export interface DownloadResult {
  method: 'remux' | 'encode';
  size: number;
  duration: number;
}

/**
 * The wire contract between the Worker (queue consumer) and the transcoder server. The Worker imports these types
 * (`import type`), so both sides agree at compile time; nothing here has runtime code.
 *
 * Every job endpoint answers 200 with an NDJSON stream of `JobEvent`s: progress lines while working, then exactly
 * one `result` or `error` line. A stream that ends without either means the transcoder died mid-job (transient).
 */

/** One rung as the Worker planned it: exact output size (even dims, aspect kept) and the seed's rate control. */
export interface RungSpec {
  name: string;
  width: number;
  height: number;
  /** bits/s */
  bitrate: number;
  maxrate: number;
  bufsize: number;
  /** Storage key prefix the rung's segments go under (ends with `/`); files are `segment_%04d.ts`. */
  outputPrefix: string;
}

export interface AnalyzeRequest {
  sourceKey: string;
}

export interface EncodeRequest {
  sourceKey: string;
  rungs: RungSpec[];
  segmentDurationSec: number;
  audioBitrate: number;
  x264Preset: string;
  /** From analysis: used for progress and to detect truncated inputs. */
  sourceDuration: number;
  sourceHasAudio: boolean;
  sourceFrameRate: number;
  /** Frame-rate cap: sources above it are resampled down to it. */
  maxFrameRate: number;
}

export interface ThumbnailsRequest {
  sourceKey: string;
  outputPrefix: string;
  sourceDuration: number;
  /** Seconds between storyboard thumbnails. */
  intervalSec: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  posterMaxHeight: number;
}

export interface AnalyzeResult {
  duration: number;
  /** Display size (after rotation). */
  width: number;
  height: number;
  rotation: number;
  frameRate: number;
  hasAudio: boolean;
  videoCodec: string;
  audioCodec: string | null;
  formatName: string;
}

export interface RenditionResult {
  name: string;
  width: number;
  height: number;
  /** RFC 6381, from the encoded bitstream (SPS profile/constraints/level) and the AAC object type. */
  codecs: string;
  frameRate: number;
  segmentDurations: number[];
  segmentSizes: number[];
  /** Peak segment bitrate, bits/s. */
  bandwidth: number;
  averageBandwidth: number;
  totalBytes: number;
}

export interface EncodeResult {
  renditions: RenditionResult[];
}

export interface ThumbnailsResult {
  poster: string;
  sprites: string[];
  storyboard: string;
  count: number;
}

export type JobEvent<R> =
  | { type: 'progress'; progress: number }
  | { type: 'result'; result: R }
  /** `permanent`: the input itself is the problem (retrying cannot help); `message` is user-readable. */
  | { type: 'error'; permanent: boolean; message: string };

/**
 * Wire contract of the live ladder (workers/live): one pushed source segment in, the broadcast's lower rungs of
 * that segment out. Types only.
 *
 *   POST /v1/live  LiveSegmentRequest → NDJSON JobEvents ending in LiveSegmentResult
 */

/** One lower rung of a live broadcast: exact output size, the ladder's rate control, and where its segment goes. */
export interface LiveRungSpec {
  name: string;
  width: number;
  height: number;
  /** bits/s target, and its caps (the file ladder's factors). */
  bitrate: number;
  maxrate: number;
  bufsize: number;
  /** Storage key of this rung's copy of the segment (`videos/{id}/{rung}/segment_{n}.ts`). */
  outputKey: string;
}

export interface LiveSegmentRequest {
  /** Storage key of the pushed segment (MPEG-TS, H.264, starting with a keyframe, as the ingest checked). */
  sourceKey: string;
  /** The segment's number in the broadcast (logs and test holds: `live@{seq}`). */
  seq: number;
  rungs: LiveRungSpec[];
  x264Preset: string;
  /** Also measure each rung's RFC 6381 codecs from its bitstream (the first segment of a rung; costs two probes). */
  measureCodecs: boolean;
}

export interface LiveRungResult {
  name: string;
  bytes: number;
  /** `avc1.…,mp4a.40.2` when measured, else null. */
  codecs: string | null;
}

export interface LiveSegmentResult {
  rungs: LiveRungResult[];
  /** Wall seconds of the encode (ffmpeg alone), and of the whole job (download, encode, uploads). */
  encodeSec: number;
  totalSec: number;
}

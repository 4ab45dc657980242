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
}

export interface LiveRungResult {
  name: string;
  bytes: number;
  /** RFC 6381 `avc1.PPCCLL`, read from the segment's SPS (the audio is the pushed segment's, copied). */
  videoCodec: string;
}

export interface LiveSegmentResult {
  rungs: LiveRungResult[];
  /** Wall seconds of the encode (ffmpeg alone), and of the whole job (download, encode, uploads). */
  encodeSec: number;
  totalSec: number;
}

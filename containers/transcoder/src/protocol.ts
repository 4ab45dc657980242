/**
 * The wire contract between the Worker (queue consumer) and the transcoder server. The Worker imports these types
 * (`import type`), so both sides agree at compile time; nothing here has runtime code.
 *
 * Two ways to run a job:
 * - streamed (no `callback` in the request; analysis, which is short): 200 with an NDJSON stream of `JobEvent`s,
 *   progress lines while working, then exactly one `result` or `error` line. A stream that ends without either
 *   means the transcoder died mid-job (transient).
 * - dispatched (`callback` set; every encode, the audio track, thumbnails): 202 at once, and the same events are
 *   POSTed as `CallbackBody` to `callback.url` with `Authorization: Bearer INTERNAL_TOKEN`. Nobody waits for the
 *   job: progress posts extend the job's lease, a lost transcoder is noticed when the lease expires.
 */

/** The video codecs a ladder can have: H.264 always, HEVC and AV1 as extra rungs (CMAF only). */
export type VideoCodec = 'h264' | 'hevc' | 'av1';

/**
 * How segments are packaged: `ts` — MPEG-TS `segment_{n}.ts` (HLS only); `cmaf` — fragmented MP4 `segment_{n}.m4s`
 * after one `init.mp4` per rendition, the same files for HLS (`EXT-X-MAP`) and DASH.
 */
export type Packaging = 'ts' | 'cmaf';

/**
 * Added to every output timestamp, video and audio alike, in both packagings: the first frame of the video is at
 * this time on the media timeline (see pipeline.ts; a DASH manifest's `presentationTimeOffset`).
 */
export const TIMELINE_OFFSET_SEC = 10;

/** One rung as the Worker planned it: exact output size (even dims, aspect kept), codec and rate control. */
export interface RungSpec {
  name: string;
  /** Absent: `h264`. */
  codec?: VideoCodec;
  width: number;
  height: number;
  /** bits/s: the target of a fixed-bitrate rung. */
  bitrate: number;
  maxrate: number;
  bufsize: number;
  /** Capped CRF: the quality target, `maxrate`/`bufsize` only capping the peaks. Absent: `bitrate` is the target. */
  crf?: number;
  /** Storage key prefix the rung's segments go under (ends with `/`); files are `segment_%04d.ts` or `.m4s`. */
  outputPrefix: string;
}

export interface AnalyzeRequest {
  sourceKey: string;
}

/** Where and for which claim a dispatched job reports (see `CallbackBody`). */
export interface CallbackSpec {
  url: string;
  jobId: string;
  /** The claim (job `startedAt`) this run belongs to: reports of an older, taken-over run are refused. */
  claim: number;
  /** Which claim of the job this is (1: the first); test holds read it (hold.ts). */
  attempt?: number;
}

/** What a dispatched job POSTs to its callback URL. Answers: 200 accepted, 409 stale claim, 410 video gone. */
export interface CallbackBody {
  jobId: string;
  claim: number;
  event: JobEvent<unknown>;
}

/**
 * One chunk of the timeline (seconds on the source's video timeline, 0 = its first frame). `endSec` null: to the
 * end of the stream (the last chunk). `startSec` is a multiple of the segment duration, so its first segment is
 * number `startSec / segmentDurationSec` of the whole rendition.
 */
export interface ChunkSpec {
  index: number;
  startSec: number;
  endSec: number | null;
  firstSegment: number;
}

export interface EncodeRequest {
  sourceKey: string;
  rungs: RungSpec[];
  chunk: ChunkSpec;
  callback?: CallbackSpec;
  segmentDurationSec: number;
  /** Absent: `ts`. */
  packaging?: Packaging;
  x264Preset: string;
  /** libx265 preset and libaom `-cpu-used` of HEVC and AV1 rungs. */
  hevcPreset?: string;
  av1CpuUsed?: number;
  /** From analysis: used for progress and to detect truncated inputs. */
  sourceDuration: number;
  sourceFrameRate: number;
  /** Frame-rate cap: sources above it are resampled down to it. */
  maxFrameRate: number;
}

/** The whole source's audio, encoded once (an HLS audio rendition every video rung references). */
export interface AudioRequest {
  sourceKey: string;
  /** Storage prefix of the audio rendition (ends with `/`). */
  outputPrefix: string;
  segmentDurationSec: number;
  audioBitrate: number;
  /** The video's duration: audio is padded with silence or cut to exactly this. */
  sourceDuration: number;
  /** No audio in the source: a silent track, so every video has the same codec set. */
  sourceHasAudio: boolean;
  /** Read the source at most this many times real time (ffmpeg `-readrate`); absent or 0: as fast as it can. */
  readRate?: number;
  /** Absent: `ts`. */
  packaging?: Packaging;
  /**
   * The source is an audio file given for an extra audio track (workers/audio-tracks), not the video's original:
   * it must hold an audio stream (else the job fails as an input problem), its own first sample is the video's 0,
   * and the result reports its length (`inputDuration`) so the caller can say whether it was cut or padded.
   */
  addedTrack?: boolean;
  callback?: CallbackSpec;
}

export interface AudioResult {
  /** `addedTrack` only: the given file's audio length in seconds, before it was cut or padded to `sourceDuration`. */
  inputDuration?: number;
  /** RFC 6381, e.g. `mp4a.40.2`. */
  codecs: string;
  /** CMAF: SHA-256 (hex) of the uploaded `init.mp4`. */
  initSha256?: string;
  segmentDurations: number[];
  segmentSizes: number[];
  bandwidth: number;
  averageBandwidth: number;
  totalBytes: number;
  /**
   * What reading the source cost (final result only): its size, the bytes skipped as other tracks' samples and
   * those fetched from storage (null: not known, e.g. a source that is not MP4/MOV, read whole).
   */
  sourceRead?: { sourceBytes: number | null; skippedBytes: number | null; fetchedBytes: number | null };
}

export interface ThumbnailsRequest {
  /** The original: the poster is a frame of it. Absent (only with `framesFrom`): no poster is made. */
  sourceKey?: string;
  callback?: CallbackSpec;
  outputPrefix: string;
  sourceDuration: number;
  /** Seconds between storyboard thumbnails. */
  intervalSec: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  posterMaxHeight: number;
  /**
   * Storage keys of an encoded rendition's MPEG-TS segments, in order (the lowest rung): the storyboard frames are
   * decoded from them instead of the source — a small fraction of the decoding, and the same frames. Without it
   * the source is decoded whole. The poster comes from the source (one frame, by input seeking).
   * CMAF: the rendition's `init.mp4` key comes first, then the `.m4s` segments. MPEG-TS segments whose timestamps
   * restart (a live broadcaster that reconnected) are stitched into one timeline by ffmpeg's discontinuity handling.
   */
  framesFrom?: string[];
  /** How `framesFrom` is packaged (absent: `ts`). */
  framesPackaging?: Packaging;
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
  /** RFC 6381, from the encoded bitstream (SPS / hvcC / av1C) and the AAC object type. */
  codecs: string;
  /** CMAF: SHA-256 (hex) of the chunk's `init.mp4`; every chunk of a rung must write the same bytes. */
  initSha256?: string;
  frameRate: number;
  segmentDurations: number[];
  segmentSizes: number[];
  /** Peak segment bitrate, bits/s. */
  bandwidth: number;
  averageBandwidth: number;
  totalBytes: number;
}

/** One chunk's output per rung: segments `firstSegment …` of the rendition (video only; audio is its own track). */
/**
 * Where an encode unit's time went, in seconds (diagnostics: the parallel bench prints them per unit): the probe of
 * the source's start time, the ffmpeg process, the uploads still pending after it exited, measuring the output.
 */
export interface EncodeTiming {
  probeSec: number;
  ffmpegSec: number;
  /** Of `ffmpegSec`: on a CPU, and runnable but waiting for one (the rest it was blocked on I/O); null off Linux. */
  ffmpegCpuSec: number | null;
  ffmpegRunqueueSec: number | null;
  drainSec: number;
  measureSec: number;
}

export interface EncodeResult {
  chunk: ChunkSpec;
  renditions: RenditionResult[];
  /** Bytes ffmpeg read from the original (HTTP range reads), for the benchmark's disk/bandwidth report. */
  bytesRead: number | null;
  /** Diagnostics; `queuedSec`: how long the dispatched unit waited for a free slot in its transcoder. */
  timing?: EncodeTiming & { queuedSec?: number };
}

export interface ThumbnailsResult {
  /** Null when the request had no `sourceKey`. */
  poster: string | null;
  sprites: string[];
  storyboard: string;
  count: number;
}

/**
 * What a job cost the transcoder (its own accounting, process.ts `jobAccounting`): CPU seconds of the processes it
 * ran and its wall seconds from start to result. workers/metering counts them as container vCPU- and instance-seconds.
 */
export interface JobUsage {
  cpuSec: number;
  wallSec: number;
}

export type JobEvent<R> =
  /**
   * `partial`: the part of the result already usable while the job runs (the audio job: the leading segments that
   * are complete and uploaded, an `AudioResult` of that prefix), sent each time it grows. Players can use it before
   * the job ends; the final `result` supersedes it.
   */
  | { type: 'progress'; progress: number; partial?: R }
  | { type: 'result'; result: R; usage?: JobUsage }
  /** `permanent`: the input itself is the problem (retrying cannot help); `message` is user-readable. */
  | { type: 'error'; permanent: boolean; message: string };

/**
 * Dispatched jobs that do not hold a CPU slot: the audio unit reads the source at `-readrate` and spends most of its
 * time waiting for it (an AAC encode is a few seconds of CPU for an hour), and the storyboard decodes the lowest
 * rung. In a process that runs several jobs (local pools, TRANSCODER_CONCURRENCY) they run beside the encodes
 * instead of taking a slot an encode could use; in production every unit has its own instance anyway.
 */
export const LIGHT_JOB_PATHS: readonly string[] = ['/v1/audio', '/v1/thumbnails'];

/**
 * Request header of a dispatch that should only start at once, else be refused with 503 `{ error: { code: 'busy' } }`
 * rather than queued: `idle` — only by a process running no job at all; `1` — by one with a free CPU slot (light
 * jobs are always accepted then). Local pools ask for `idle` first, then `1`, so each unit goes to an idle process
 * when there is one, as production gives each unit its own instance.
 */
export const ONLY_IF_FREE_HEADER = 'x-transcoder-only-if-free';


/** One rung the complexity probe measures: its size and the fixed ladder's rate control. */
export type ProbeRung = Omit<RungSpec, 'outputPrefix' | 'crf' | 'codec'> & {
  /** The H.264 CRF when it is given (the lowest rung's constant one): measured, not searched. */
  h264Crf?: number;
  /**
   * The name of an earlier probed rung whose chosen H.264 CRF this rung takes (the ladder gives it to the rungs
   * above the largest searched one): measured, not searched, so the extra codecs are searched against that picture.
   */
  h264CrfOf?: string;
  /** Whether the extra codecs are searched at this rung. */
  codecs: boolean;
};

/**
 * The complexity probe (`POST /v1/ladder`, dispatched): short windows of the source, scaled to a few rungs, encoded
 * with the fixed ladder's rate control and with capped CRFs; SSIM against the scaled sample decides.
 */
export interface LadderProbeRequest {
  sourceKey: string;
  sourceDuration: number;
  sourceFrameRate: number;
  maxFrameRate: number;
  /** `count` windows of `seconds` each, spread evenly over the source. */
  windows: { count: number; seconds: number };
  rungs: ProbeRung[];
  /**
   * H.264: the largest CRF in [minCrf, maxCrf] whose SSIM is at most `maxSsimLoss` below the fixed encode's, searched
   * from `startCrf` in steps of `step` until bracketed, then narrowed to one CRF.
   */
  h264: CrfSearch & { maxSsimLoss: number };
  /**
   * Other codecs: the largest CRF whose SSIM is at most `ssimTolerance` below the chosen H.264 encode's (0: at
   * least equal to it), capped at the rung's rates × `rateFactor`.
   */
  codecs: (CrfSearch & { codec: Exclude<VideoCodec, 'h264'>; rateFactor: number })[];
  ssimTolerance: number;
  segmentDurationSec: number;
  x264Preset: string;
  hevcPreset?: string;
  av1CpuUsed?: number;
  callback?: CallbackSpec;
}

export interface CrfSearch {
  minCrf: number;
  maxCrf: number;
  startCrf: number;
  step: number;
}

/** One measured encode of the sample: `crf` null is the fixed-bitrate encode. */
export interface ProbeTrial {
  crf: number | null;
  kbps: number;
  ssim: number;
}

export interface ProbeChoice {
  codec: VideoCodec;
  /** Null: no CRF in the range met the target. */
  crf: number | null;
  /** Whether `crf` was given (the lowest rung's H.264 CRF) rather than searched. */
  given?: boolean;
  trials: ProbeTrial[];
}

export interface LadderProbeResult {
  /** Seconds of source sampled, and where each window starts. */
  sampleSec: number;
  windowStarts: number[];
  rungs: { name: string; fixed: ProbeTrial; choices: ProbeChoice[] }[];
  /** CPU seconds of the probe's ffmpeg processes (sampled; diagnostics). */
  cpuSec: number;
}

/**
 * The encoding pipeline, one chunk of the timeline at a time: one ffmpeg process decodes the chunk once and feeds
 * every requested rung through a `split` filter, each rung an H.264 HLS rendition written by ffmpeg's HLS muxer
 * straight into MPEG-TS segments. Audio is not here: it is encoded once for the whole source (`encodeAudio`) and
 * played as an HLS audio rendition, so chunk edges never cut an AAC stream (no priming gaps, no clicks).
 *
 * Seamless chunks — the stitched playlists are indistinguishable from one pass:
 * - every timestamp is on the source's video timeline: `-copyts` keeps the demuxer's, `setpts=PTS-start` makes the
 *   first video frame 0 (as the single pass's `PTS-STARTPTS` did), whatever input seek the chunk used;
 * - the input is seeked a little before the chunk (`-ss`, fast over HTTP range reads), and `trim=start:end` cuts
 *   exactly: a frame at t belongs to the chunk with start ≤ t < end, so adjacent chunks neither share nor lose one;
 * - IDR frames are forced at the absolute times start, start+D, … (`-force_key_frames` with a list: a list is
 *   compared with the frame's timestamp, while `expr:` counts from the chunk's first frame), `-sc_threshold 0` and
 *   a long GOP keep x264 from adding its own, so every rung and every chunk cuts at the same global boundaries;
 * - the HLS muxer numbers the chunk's segments from 0 and they are uploaded as `firstSegment + n`;
 * - every output is shifted by the same `-output_ts_offset` (`TS_OFFSET_SEC`), so no chunk ever hands the muxer a
 *   negative timestamp: x264's B-frame reorder delay makes the first chunk's first DTS negative, and the muxer's
 *   default `avoid_negative_ts` then shifted that chunk alone by two frames (PTS jumped back at its end: frames with
 *   the same PTS on both sides of the edge), while later chunks (DTS > 0) were not shifted;
 * - the MPEG-TS muxer adds the same constant delay in every process, so PTS continue across chunk edges.
 *
 * Segments are uploaded while ffmpeg is still encoding: the muxer writes `segment_N.ts.tmp` and renames it when the
 * segment is complete (`-hls_flags temp_file`); a poller uploads each renamed file once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, looksLikeInputProblem, stderrTail } from './errors';
import { run, type RunResult } from './process';
import { INIT_FILE, segmentMuxerArgs, videoEncoderArgs } from './encoders';
import { measureOutput, parseMediaPlaylist, segmentsOf, SegmentShipper, sha256Of, type Upload } from './segment-output';
import { TIMELINE_OFFSET_SEC, type AudioRequest, type AudioResult, type EncodeRequest, type EncodeTiming, type Packaging, type RenditionResult, type RungSpec } from './protocol';

export { parseMediaPlaylist } from './segment-output';

export interface PipelineHooks {
  onProgress?: (fraction: number) => void;
  /** Called once per finished file, in order per rung; the pipeline awaits all uploads before returning. */
  upload?: Upload;
  signal?: AbortSignal;
  /** ffmpeg input options placed before `-i` (the storage token header for HTTP sources). */
  inputOptions?: string[];
  /**
   * Called once the encoding process has exited successfully: what is left (the last uploads, measuring a segment)
   * is mostly waiting, so the server lets the next job start its encode meanwhile.
   */
  onEncoded?: (sched: RunResult['sched']) => void;
  /** Called once the encoding ffmpeg is spawned, with the directories it writes segments into (test holds: hold.ts). */
  onSpawn?: (child: ChildProcess, outputDirs: string[]) => void;
}

/**
 * The audio encode's hooks: besides the common ones, `onPartial` hears the part of the result that is already
 * usable, i.e. the leading segments that are complete and uploaded, each time that prefix grows.
 */
export interface AudioHooks extends PipelineHooks {
  onPartial?: (partial: AudioResult) => void;
}

/** How far before a chunk the input seek lands; the `trim` filter then cuts exactly. */
const SEEK_MARGIN_SEC = 0.5;
/**
 * Added to every output timestamp, video and audio alike (so they stay in sync): larger than x264's reorder delay
 * (at most 2 frames with B-pyramid, i.e. up to 10 s for sources down to 0.2 fps) and the AAC encoder's priming
 * (1024 samples), so no DTS is ever negative and the muxer never shifts one process's timeline on its own.
 */
export const TS_OFFSET_SEC = TIMELINE_OFFSET_SEC;

const secs = (x: number): string => String(Math.round(x * 1e6) / 1e6);

/** Absolute IDR times of a chunk: its start, then every segment duration until its end (or the source's). */
export function keyframeTimes(req: Pick<EncodeRequest, 'chunk' | 'segmentDurationSec' | 'sourceDuration'>): number[] {
  const { startSec, endSec } = req.chunk;
  const d = req.segmentDurationSec;
  const until = endSec ?? Math.max(startSec, req.sourceDuration) + 2 * d;
  const times: number[] = [];
  for (let n = 0; startSec + n * d < until - 1e-9; n++) times.push(startSec + n * d);
  return times;
}

/** The ffmpeg argument list for one chunk of a multi-rung encode (encodeRungs runs it). */
function encodeArgs(source: string, req: EncodeRequest, outDirs: string[], videoStartSec = 0, inputOptions: string[] = []): string[] {
  const sourceFrameRate = req.sourceFrameRate;
  const n = req.rungs.length;
  const d = req.segmentDurationSec;
  const { startSec, endSec } = req.chunk;
  const outFps = sourceFrameRate > req.maxFrameRate ? req.maxFrameRate : sourceFrameRate;
  const gop = Math.max(1, Math.round(outFps * d * 2));
  const fpsFilter = sourceFrameRate > req.maxFrameRate ? `fps=${req.maxFrameRate},` : '';
  const trim = `trim=start=${secs(startSec)}${endSec === null ? '' : `:end=${secs(endSec)}`}`;
  const graph = [
    `[0:v:0]setpts=PTS-${secs(videoStartSec)}/TB,${fpsFilter}${trim},format=yuv420p,split=${n}${req.rungs.map((_, i) => `[v${i}]`).join('')}`,
    ...req.rungs.map((r, i) => `[v${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1[o${i}]`),
  ].join(';');
  const seek = Math.max(0, startSec - SEEK_MARGIN_SEC);
  const args = ['-hide_banner', '-nostdin', '-y', '-nostats', '-v', 'verbose', '-progress', 'pipe:1', '-copyts', ...inputOptions];
  if (seek > 0) args.push('-ss', secs(seek));
  args.push('-i', source, '-filter_complex', graph);
  const keyframes = keyframeTimes(req).map(secs).join(',');
  const settings = { x264Preset: req.x264Preset, hevcPreset: req.hevcPreset, av1CpuUsed: req.av1CpuUsed };
  req.rungs.forEach((r, i) => {
    args.push(
      '-map', `[o${i}]`, '-an',
      ...videoEncoderArgs(r, settings, { gop, keyframes }),
      '-output_ts_offset', String(TS_OFFSET_SEC),
      ...segmentMuxerArgs(outDirs[i]!, d, req.packaging ?? 'ts', 'vod'),
    );
  });
  return args;
}

/** The audio track of the whole source, on the video timeline, padded or cut to the video's duration. */
export function audioArgs(source: string, req: AudioRequest, outDir: string, videoStartSec = 0, inputOptions: string[] = []): string[] {
  const dur = secs(req.sourceDuration);
  const args = ['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1'];
  let chain: string;
  if (req.sourceHasAudio) {
    // The track is published as it grows, so it only has to stay ahead of playback: a read rate keeps a long
    // source's audio from competing with the first chunks for storage reads and CPU.
    const rate = req.readRate && req.readRate > 0 ? ['-readrate', String(req.readRate)] : [];
    args.push('-copyts', ...inputOptions, ...rate, '-vn', '-i', source);
    // `aresample=async=1:first_pts=0` fills a late start and any gap with silence: the track is continuous from 0.
    chain = `[0:a:0]asetpts=PTS-${secs(videoStartSec)}/TB,aresample=48000:async=1:first_pts=0,apad=whole_dur=${dur},atrim=end=${dur}[a]`;
  } else {
    args.push('-f', 'lavfi', '-t', dur, '-i', 'anullsrc=r=48000:cl=stereo');
    chain = `[0:a]atrim=end=${dur}[a]`;
  }
  args.push(
    '-filter_complex', chain, '-map', '[a]',
    '-c:a', 'aac', '-b:a', String(req.audioBitrate), '-ac', '2', '-ar', '48000',
    '-output_ts_offset', String(TS_OFFSET_SEC),
    // `event`, not `vod`: the muxer then rewrites its playlist (atomically, through a temporary file) after every
    // segment instead of once at the end, so the segments already done are known while the encode goes on.
    ...segmentMuxerArgs(outDir, req.segmentDurationSec, req.packaging ?? 'ts', 'event'),
  );
  return args;
}

/** The first video frame's timestamp (the 0 of the video timeline), from a quick probe of the container. */
export async function videoStartTime(source: string, inputOptions: string[] = [], signal?: AbortSignal): Promise<number> {
  const r = await run('ffprobe', ['-v', 'warning', ...inputOptions, '-select_streams', 'v:0', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', source], { signal });
  if (r.code !== 0) throw new Error(`ffprobe of the original failed: ${stderrTail(r.stderr)}`);
  const t = Number(r.stdout.trim().split('\n')[0]);
  return Number.isFinite(t) ? t : 0;
}

/**
 * An added track's file: its first audio stream's start (the track's 0) and its length. A file without an audio
 * stream, or one ffprobe cannot read, is an input problem: retrying cannot help.
 */
export async function addedTrackFacts(source: string, inputOptions: string[] = [], signal?: AbortSignal): Promise<{ start: number; duration: number }> {
  const r = await run('ffprobe', ['-v', 'error', ...inputOptions, '-select_streams', 'a:0', '-show_entries', 'stream=codec_type,start_time,duration:format=duration', '-of', 'json', source], { signal });
  if (r.code !== 0) throw new InputError(`the file is not a readable audio file: ${stderrTail(r.stderr, 1) || 'ffprobe failed'}`);
  let parsed: { streams?: { codec_type?: string; start_time?: string; duration?: string }[]; format?: { duration?: string } };
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    throw new InputError('the file is not a readable audio file');
  }
  const stream = parsed.streams?.find((s) => s.codec_type === 'audio');
  if (!stream) throw new InputError('the file has no audio stream');
  const start = Number(stream.start_time);
  const duration = Number(stream.duration ?? parsed.format?.duration);
  if (!Number.isFinite(duration) || duration <= 0) throw new InputError('the audio stream has no length');
  return { start: Number.isFinite(start) ? start : 0, duration: Math.round(duration * 1000) / 1000 };
}

/** Bytes ffmpeg read from its input, from the `Statistics: N bytes read` line it logs at verbose level. */
export function bytesReadFromLog(stderr: string): number | null {
  let best: number | null = null;
  for (const m of stderr.matchAll(/Statistics: (\d+) bytes read/g)) best = Math.max(best ?? 0, Number(m[1]));
  return best;
}

interface FfmpegRun {
  args: string[];
  dirs: string[];
  shippers: SegmentShipper[];
  /** Converts ffmpeg's `out_time_us` into a 0..1 fraction. */
  progress: (outTimeSec: number) => number;
}

/** Runs one ffmpeg with a segment poller; returns its stderr (for statistics) or throws a classified error. */
async function runSegmenting(job: FfmpegRun, hooks: PipelineHooks): Promise<string> {
  const abort = new AbortController();
  hooks.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const poll = setInterval(() => {
    for (const s of job.shippers) {
      if (s.error) abort.abort();
      else void s.scan().catch(() => undefined);
    }
  }, 500);
  let result;
  try {
    result = await run('ffmpeg', job.args, {
      signal: abort.signal,
      stderrLimit: 16_000,
      onSpawn: hooks.onSpawn ? (child) => hooks.onSpawn!(child, job.dirs) : undefined,
      onStdoutLine: (line) => {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m && hooks.onProgress) hooks.onProgress(Math.max(0, Math.min(1, job.progress(Number(m[1]) / 1e6))));
      },
    });
  } finally {
    clearInterval(poll);
  }
  for (const s of job.shippers) if (s.error) throw s.error;
  if (hooks.signal?.aborted) throw new Error('encode aborted');
  if (result.code !== 0) {
    const tail = stderrTail(result.stderr.split('\n').filter((l) => !/^\[(AVIOContext|hls|mpegts|h264|aac|tcp|http)/.test(l)).join('\n'));
    if (looksLikeInputProblem(result.stderr)) throw new InputError(`The video could not be decoded (${tail}).`);
    throw new Error(`ffmpeg failed (${result.signal ?? result.code}): ${tail}`);
  }
  hooks.onEncoded?.(result.sched);
  await Promise.all(job.shippers.map((s) => s.drain()));
  return result.stderr;
}

/**
 * A chunk that is not the last covers exactly [start, end): the next chunk's first segment starts at `end`. ffmpeg
 * measures its last segment up to the end of the last frame, which in a variable-frame-rate source can be before
 * `end` (a gap in the frames); that gap then belonged to no segment and the playlist ran short of the timestamps.
 * The last segment is stretched to the chunk's end (never shortened: `trim` ends the chunk at `end`).
 */
export function spanChunk(durations: number[], startSec: number, endSec: number | null): void {
  if (endSec === null || durations.length === 0) return;
  const before = durations.slice(0, -1).reduce((a, b) => a + b, 0);
  const last = Math.round((endSec - startSec - before) * 1e6) / 1e6;
  if (last > durations.at(-1)!) durations[durations.length - 1] = last;
}

const peakBitrate = (sizes: number[], durations: number[]): number => Math.max(0, ...sizes.map((s, k) => Math.ceil((s * 8) / Math.max(durations[k]!, 0.001))));

/**
 * Encodes one chunk into every requested rung. A chunk past the end of the streams (a container that claims more
 * than its streams hold) yields no segments, which is not an error — except for the first chunk: a video whose
 * first chunk has no frame at all is not decodable.
 */
export async function encodeRungs(source: string, req: EncodeRequest, workDir: string, hooks: PipelineHooks = {}): Promise<{ renditions: RenditionResult[]; bytesRead: number | null; timing: EncodeTiming }> {
  const dirs = req.rungs.map((r) => path.join(workDir, r.name));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  const inputOptions = hooks.inputOptions ?? [];
  const t0 = performance.now();
  const lap = (from: number) => Math.round(performance.now() - from) / 1000;
  const videoStart = await videoStartTime(source, inputOptions, hooks.signal);
  const timing: EncodeTiming = { probeSec: lap(t0), ffmpegSec: 0, ffmpegCpuSec: null, ffmpegRunqueueSec: null, drainSec: 0, measureSec: 0 };
  const t1 = performance.now();
  let t2 = 0;
  const onEncoded = hooks.onEncoded;
  hooks = {
    ...hooks,
    onEncoded: (sched) => {
      t2 = performance.now();
      timing.ffmpegSec = lap(t1);
      timing.ffmpegCpuSec = sched ? Math.round(sched.cpuSec * 1000) / 1000 : null;
      timing.ffmpegRunqueueSec = sched ? Math.round(sched.runqueueSec * 1000) / 1000 : null;
      onEncoded?.(sched);
    },
  };
  const packaging = req.packaging ?? 'ts';
  const shippers = hooks.upload ? req.rungs.map((r, i) => new SegmentShipper(r, dirs[i]!, hooks.upload!, req.chunk.firstSegment, packaging)) : [];
  const { startSec, endSec } = req.chunk;
  const span = Math.max(0.001, (endSec ?? req.sourceDuration) - startSec);
  const stderr = await runSegmenting({ args: encodeArgs(source, req, dirs, videoStart, inputOptions), dirs, shippers, progress: (t) => (t - startSec) / span }, hooks);
  timing.drainSec = lap(t2);
  const t3 = performance.now();

  const renditions: RenditionResult[] = [];
  for (const [i, rung] of req.rungs.entries()) {
    const { durations, sizes, files } = await segmentsOf(dirs[i]!);
    spanChunk(durations, startSec, endSec);
    if (files.length === 0 && req.chunk.index === 0) throw new InputError('The video produced no frames; the file may be corrupt.');
    const total = durations.reduce((a, b) => a + b, 0);
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    const measured = files.length ? await measureOutput(dirs[i]!, files[0]!, packaging, workDir) : { codecs: '', frameRate: 0, width: rung.width, height: rung.height };
    renditions.push({
      name: rung.name,
      width: measured.width || rung.width,
      height: measured.height || rung.height,
      codecs: measured.codecs,
      ...(measured.initSha256 ? { initSha256: measured.initSha256 } : {}),
      frameRate: measured.frameRate,
      segmentDurations: durations,
      segmentSizes: sizes,
      bandwidth: peakBitrate(sizes, durations),
      averageBandwidth: total > 0 ? Math.ceil((totalBytes * 8) / total) : 0,
      totalBytes,
    });
  }
  timing.measureSec = lap(t3);
  return { renditions, bytesRead: bytesReadFromLog(stderr), timing };
}

/** RFC 6381 codecs of an AAC segment: LC = 2, HE-AAC = 5, HE-AACv2 = 29 (`mp4a.40.N`). */
async function aacCodecs(file: string): Promise<string> {
  const probe = await run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=profile', '-of', 'csv=p=0', file]);
  const profile = probe.stdout.trim();
  return `mp4a.40.${profile === 'HE-AACv2' ? 29 : profile === 'HE-AAC' ? 5 : 2}`;
}

function audioResult(codecs: string, durations: number[], sizes: number[]): AudioResult {
  const total = durations.reduce((a, b) => a + b, 0);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  return {
    codecs,
    segmentDurations: durations,
    segmentSizes: sizes,
    bandwidth: peakBitrate(sizes, durations),
    averageBandwidth: total > 0 ? Math.ceil((totalBytes * 8) / total) : 0,
    totalBytes,
  };
}

/**
 * The audio track as it grows: after every upload (and every second, in case the muxer listed a segment after its
 * upload finished) the leading segments that ffmpeg's playlist lists **and** that are uploaded are reported, once
 * per new length. A prefix is final: the muxer lists a segment only once it is closed, and never changes it.
 */
class AudioPartials {
  private readonly uploaded = new Set<string>();
  private reported = 0;
  private codecs: string | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly onPartial: (partial: AudioResult) => void,
    private readonly packaging: Packaging,
  ) {}

  uploadedFile(file: string): Promise<void> {
    this.uploaded.add(path.basename(file));
    return this.update();
  }

  /** Resolves once every report started so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Serialised, never rejects: a missed report is followed by the next one or by the final result. */
  update(): Promise<void> {
    this.chain = this.chain.then(() => this.report()).catch(() => undefined);
    return this.chain;
  }

  private async report(): Promise<void> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, 'index.m3u8'), 'utf8');
    } catch {
      return; // no segment closed yet
    }
    const entries = parseMediaPlaylist(text);
    let n = 0;
    while (n < entries.length && this.uploaded.has(entries[n]!.file)) n++;
    if (n <= this.reported) return;
    this.codecs ??= await aacCodecs(path.join(this.dir, this.packaging === 'cmaf' ? INIT_FILE : entries[0]!.file));
    const sizes: number[] = [];
    for (const e of entries.slice(0, n)) sizes.push((await stat(path.join(this.dir, e.file))).size);
    this.reported = n;
    this.onPartial(audioResult(this.codecs, entries.slice(0, n).map((e) => e.duration), sizes));
  }
}

/**
 * The whole source's audio as one HLS audio rendition (segments of the same duration as the video's). With
 * `onPartial`, the segments already uploaded are reported while it runs, so the track can be played as it grows
 * (see `AudioPartials`): the first video chunk need not wait for the whole source's audio.
 */
export async function encodeAudio(source: string, req: AudioRequest, workDir: string, hooks: AudioHooks = {}): Promise<AudioResult> {
  const dir = path.join(workDir, 'audio');
  await mkdir(dir, { recursive: true });
  const inputOptions = hooks.inputOptions ?? [];
  const added = req.addedTrack ? await addedTrackFacts(source, inputOptions, hooks.signal) : null;
  const videoStart = added ? added.start : req.sourceHasAudio ? await videoStartTime(source, inputOptions, hooks.signal) : 0;
  const rung: RungSpec = { name: 'audio', width: 0, height: 0, bitrate: req.audioBitrate, maxrate: req.audioBitrate, bufsize: req.audioBitrate, outputPrefix: req.outputPrefix };
  const upload = hooks.upload;
  const packaging = req.packaging ?? 'ts';
  const partials = upload && hooks.onPartial ? new AudioPartials(dir, hooks.onPartial, packaging) : null;
  const shippers = upload
    ? [
        new SegmentShipper(
          rung,
          dir,
          async (r, file, name) => {
            await upload(r, file, name);
            if (name !== INIT_FILE) await partials?.uploadedFile(file);
          },
          0,
          packaging,
        ),
      ]
    : [];
  const tick = partials ? setInterval(() => void partials.update(), 1000) : null;
  try {
    await runSegmenting({ args: audioArgs(source, req, dir, videoStart, inputOptions), dirs: [dir], shippers, progress: (t) => t / Math.max(0.001, req.sourceDuration) }, hooks);
  } finally {
    if (tick) clearInterval(tick);
    await partials?.idle();
  }
  const { durations, sizes, files } = await segmentsOf(dir);
  if (files.length === 0) throw new Error('the audio encode produced no segments');
  const extra = added ? { inputDuration: added.duration } : {};
  if (packaging === 'ts') return { ...audioResult(await aacCodecs(files[0]!), durations, sizes), ...extra };
  const init = path.join(dir, INIT_FILE);
  return { ...audioResult(await aacCodecs(init), durations, sizes), initSha256: await sha256Of(init), ...extra };
}

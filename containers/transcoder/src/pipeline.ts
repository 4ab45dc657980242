/**
 * The encoding pipeline: one ffmpeg process decodes the source once and feeds every requested rung through a
 * `split` filter (decoding a 1080p source five times was most of the seed's cost), each rung an H.264 + AAC HLS
 * rendition written by ffmpeg's HLS muxer straight into MPEG-TS segments (no intermediate MP4, no second pass).
 *
 * Segment alignment across renditions (players switch rungs at segment boundaries without glitches):
 * - timestamps are rebased to 0 (`setpts=PTS-STARTPTS`) so every job, however the source starts, cuts at the same t;
 * - `-force_key_frames expr:gte(t,n_forced*D)` puts an IDR (`-forced-idr 1`, closed GOPs) at every multiple of D;
 * - `-sc_threshold 0` and a GOP of 2·D disable x264's own keyframes, so nothing else starts a segment;
 * - the muxer cuts at the first keyframe at or after each multiple of D: the forced ones.
 * The same rules in a separate process (the fast first-rung job) give the same boundaries.
 *
 * Segments are uploaded while ffmpeg is still encoding: the muxer writes `segment_N.ts.tmp` and renames it when the
 * segment is complete (`-hls_flags temp_file`); a poller uploads each renamed file once.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, looksLikeInputProblem, stderrTail } from './errors';
import { parseRate } from './probe';
import { run } from './process';
import type { EncodeRequest, RenditionResult, RungSpec } from './protocol';

export interface PipelineHooks {
  onProgress?: (fraction: number) => void;
  /** Called once per finished file, in order per rung; the pipeline awaits all uploads before returning. */
  upload?: (rung: RungSpec, file: string, fileName: string) => Promise<void>;
  signal?: AbortSignal;
}

const SEGMENT_FILE = /^segment_(\d{4,6})\.ts$/;

/** The ffmpeg argument list for one multi-rung encode (exported for the benchmark and tests). */
export function encodeArgs(source: string, req: EncodeRequest, outDirs: string[]): string[] {
  const sourceFrameRate = req.sourceFrameRate;
  const n = req.rungs.length;
  const d = req.segmentDurationSec;
  const outFps = sourceFrameRate > req.maxFrameRate ? req.maxFrameRate : sourceFrameRate;
  const gop = Math.max(1, Math.round(outFps * d * 2));
  const fpsFilter = sourceFrameRate > req.maxFrameRate ? `fps=${req.maxFrameRate},` : '';
  const audioIn = req.sourceHasAudio ? '[0:a:0]' : '[1:a]';
  const graph = [
    `[0:v:0]setpts=PTS-STARTPTS,${fpsFilter}format=yuv420p,split=${n}${req.rungs.map((_, i) => `[v${i}]`).join('')}`,
    ...req.rungs.map((r, i) => `[v${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1[o${i}]`),
    `${audioIn}asetpts=PTS-STARTPTS,aresample=48000,asplit=${n}${req.rungs.map((_, i) => `[a${i}]`).join('')}`,
  ].join(';');
  const args = ['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1', '-i', source];
  // Sources without audio get a silent AAC track: every rendition then has the same codec set (`avc1…,mp4a.40.2`),
  // which keeps master playlists uniform and avoids players that stall waiting for an audio track.
  if (!req.sourceHasAudio) args.push('-f', 'lavfi', '-t', String(req.sourceDuration), '-i', 'anullsrc=r=48000:cl=stereo');
  args.push('-filter_complex', graph);
  req.rungs.forEach((r, i) => {
    args.push(
      '-map', `[o${i}]`, '-map', `[a${i}]`,
      '-c:v', 'libx264', '-preset', req.x264Preset, '-profile:v', 'high',
      '-b:v', String(r.bitrate), '-maxrate', String(r.maxrate), '-bufsize', String(r.bufsize),
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
      '-force_key_frames', `expr:gte(t,n_forced*${d})`, '-forced-idr', '1',
      '-c:a', 'aac', '-b:a', String(req.audioBitrate), '-ac', '2',
      '-f', 'hls', '-hls_time', String(d), '-hls_playlist_type', 'vod', '-hls_list_size', '0',
      '-hls_segment_type', 'mpegts', '-hls_flags', 'temp_file',
      '-hls_segment_filename', path.join(outDirs[i]!, 'segment_%04d.ts'),
      path.join(outDirs[i]!, 'index.m3u8'),
    );
  });
  return args;
}

/** EXTINF durations and segment file names, in order, from ffmpeg's own media playlist. */
export function parseMediaPlaylist(text: string): { file: string; duration: number }[] {
  const out: { file: string; duration: number }[] = [];
  let pending: number | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^#EXTINF:([\d.]+)/.exec(line);
    if (m) pending = Number(m[1]);
    else if (line && !line.startsWith('#') && pending !== null) {
      out.push({ file: line, duration: pending });
      pending = null;
    }
  }
  return out;
}

/** `avc1.PPCCLL` from the first SPS in an Annex B H.264 stream (profile_idc, constraint flags, level_idc). */
export function avcCodecFromAnnexB(bytes: Uint8Array): string | null {
  for (let i = 0; i + 6 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && (bytes[i + 3]! & 0x1f) === 7) {
      const hex = (b: number) => b.toString(16).padStart(2, '0');
      return `avc1.${hex(bytes[i + 4]!)}${hex(bytes[i + 5]!)}${hex(bytes[i + 6]!)}`;
    }
  }
  return null;
}

interface OutputProbe {
  streams?: { codec_type?: string; codec_name?: string; profile?: string; r_frame_rate?: string; avg_frame_rate?: string; width?: number; height?: number }[];
}

/** Codecs string, frame rate and size measured from an encoded segment (not from what we asked for). */
export async function measureSegment(file: string, workDir: string): Promise<{ codecs: string; frameRate: number; width: number; height: number }> {
  const probe = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', file]);
  if (probe.code !== 0) throw new Error(`ffprobe of output failed: ${stderrTail(probe.stderr)}`);
  const streams = (JSON.parse(probe.stdout) as OutputProbe).streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video || video.codec_name !== 'h264') throw new Error('encoded segment has no H.264 video stream');
  const annexB = path.join(workDir, `${path.basename(path.dirname(file))}-sps.h264`);
  const extract = await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', file, '-map', '0:v:0', '-c', 'copy', '-frames:v', '1', '-f', 'h264', annexB]);
  if (extract.code !== 0) throw new Error(`could not extract H.264 parameters: ${stderrTail(extract.stderr)}`);
  const avc = avcCodecFromAnnexB(await readFile(annexB));
  if (!avc) throw new Error('encoded segment has no H.264 SPS');
  // AAC object type: LC = 2, HE-AAC = 5, HE-AACv2 = 29 (RFC 6381 `mp4a.40.N`).
  const aot = audio?.profile === 'HE-AACv2' ? 29 : audio?.profile === 'HE-AAC' ? 5 : 2;
  const codecs = audio ? `${avc},mp4a.40.${aot}` : avc;
  const frameRate = Math.round((parseRate(video.r_frame_rate) || parseRate(video.avg_frame_rate)) * 1000) / 1000;
  return { codecs, frameRate, width: video.width ?? 0, height: video.height ?? 0 };
}

/** Uploads each completed segment once, in order, while ffmpeg keeps writing. */
class SegmentShipper {
  private readonly shipped = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly rung: RungSpec,
    private readonly dir: string,
    private readonly upload: NonNullable<PipelineHooks['upload']>,
  ) {}

  async scan(): Promise<void> {
    const names = (await readdir(this.dir)).filter((f) => SEGMENT_FILE.test(f)).sort();
    for (const name of names) {
      if (this.shipped.has(name)) continue;
      this.shipped.add(name);
      this.chain = this.chain.then(async () => {
        if (this.failure) return;
        try {
          await this.upload(this.rung, path.join(this.dir, name), name);
        } catch (err) {
          this.failure = err;
        }
      });
    }
  }

  get error(): unknown {
    return this.failure;
  }

  async drain(): Promise<void> {
    await this.scan();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

export async function encodeRungs(source: string, req: EncodeRequest, workDir: string, hooks: PipelineHooks = {}): Promise<RenditionResult[]> {
  const dirs = req.rungs.map((r) => path.join(workDir, r.name));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  const shippers = hooks.upload ? req.rungs.map((r, i) => new SegmentShipper(r, dirs[i]!, hooks.upload!)) : [];
  const abort = new AbortController();
  hooks.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const poll = setInterval(() => {
    for (const s of shippers) {
      if (s.error) abort.abort();
      else void s.scan().catch(() => undefined);
    }
  }, 500);
  let result;
  try {
    result = await run('ffmpeg', encodeArgs(source, req, dirs), {
      signal: abort.signal,
      onStdoutLine: (line) => {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m && hooks.onProgress && req.sourceDuration > 0) hooks.onProgress(Math.min(1, Number(m[1]) / 1e6 / req.sourceDuration));
      },
    });
  } finally {
    clearInterval(poll);
  }
  for (const s of shippers) if (s.error) throw s.error;
  if (hooks.signal?.aborted) throw new Error('encode aborted');
  if (result.code !== 0) {
    const tail = stderrTail(result.stderr);
    if (looksLikeInputProblem(result.stderr)) throw new InputError(`The video could not be decoded (${tail}).`);
    throw new Error(`ffmpeg failed (${result.signal ?? result.code}): ${tail}`);
  }
  await Promise.all(shippers.map((s) => s.drain()));

  const renditions: RenditionResult[] = [];
  for (const [i, rung] of req.rungs.entries()) {
    const entries = parseMediaPlaylist(await readFile(path.join(dirs[i]!, 'index.m3u8'), 'utf8'));
    if (entries.length === 0) throw new InputError('The video produced no frames; the file may be corrupt.');
    const durations = entries.map((e) => e.duration);
    const total = durations.reduce((a, b) => a + b, 0);
    // ffmpeg stops quietly at the end of what it can decode: a faststart MP4 cut short probes fine but ends early.
    if (total < req.sourceDuration * 0.9 - 0.5) {
      throw new InputError(`Only ${total.toFixed(1)} s of the ${req.sourceDuration.toFixed(1)} s video could be decoded; the file looks truncated or corrupt.`);
    }
    const sizes: number[] = [];
    for (const e of entries) sizes.push((await stat(path.join(dirs[i]!, e.file))).size);
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    const bandwidth = Math.max(...sizes.map((s, k) => Math.ceil((s * 8) / Math.max(durations[k]!, 0.001))));
    const measured = await measureSegment(path.join(dirs[i]!, entries[0]!.file), workDir);
    renditions.push({
      name: rung.name,
      width: measured.width || rung.width,
      height: measured.height || rung.height,
      codecs: measured.codecs,
      frameRate: measured.frameRate,
      segmentDurations: durations,
      segmentSizes: sizes,
      bandwidth,
      averageBandwidth: Math.ceil((totalBytes * 8) / total),
      totalBytes,
    });
  }
  return renditions;
}

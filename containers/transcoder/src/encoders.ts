/**
 * The video encoder and segment muxer arguments of one rung, per codec and packaging. The chunk encode
 * (pipeline.ts) and the complexity probe (complexity.ts) both build their commands here, so what the probe measures
 * is what the ladder gets.
 *
 * Codecs (Debian's ffmpeg 5.1):
 * - `h264`: libx264, High profile.
 * - `hevc`: libx265, tagged `hvc1` (parameter sets in the sample entry, as Apple's HLS spec asks).
 * - `av1`: libaom-av1 in its real-time mode. libsvtav1 is faster at equal quality, but ffmpeg 5.1's wrapper ignores
 *   forced keyframes (a 6 s chunk asked for an IDR at 3 s came out with one keyframe), and every rung of every codec
 *   must cut at the same global segment boundaries; libaom honours them.
 *
 * Rate control: with `crf` (capped CRF) the encoder aims at a constant quality and `maxrate`/`bufsize` only cap the
 * peaks; without it, `bitrate` is the target (the production design's fixed ladder). libaom has no capped CRF: its
 * constrained-quality mode (`-crf` with `-b:v`) spends up to the bitrate it is given (a 1080p talking head: 898 kb/s
 * at CRF 40 with `-b:v 9M`, 45 kb/s at the same SSIM in constant-quality mode), and `-maxrate` needs a bitrate. So
 * an AV1 rung with a CRF is constant quality (`-b:v 0`), uncapped; the probe chose that CRF for the H.264 rung's picture.
 */
import path from 'node:path';
import type { Packaging, RungSpec, VideoCodec } from './protocol';

export interface EncoderSettings {
  x264Preset: string;
  hevcPreset?: string;
  /** libaom `-cpu-used` (real-time mode: 5–10, higher is faster). */
  av1CpuUsed?: number;
}

export interface KeyframePlan {
  /** Frames between forced keyframes at most (the forced list decides; this keeps the encoder from adding any). */
  gop: number;
  /** Comma-separated absolute times (seconds) of the forced IDR frames. */
  keyframes: string;
}

export const codecOf = (rung: Pick<RungSpec, 'codec'>): VideoCodec => rung.codec ?? 'h264';

function rateControl(rung: Pick<RungSpec, 'bitrate' | 'maxrate' | 'bufsize' | 'crf'>, codec: VideoCodec): string[] {
  const caps = ['-maxrate', String(rung.maxrate), '-bufsize', String(rung.bufsize)];
  if (rung.crf === undefined) return ['-b:v', String(rung.bitrate), ...caps];
  // libaom: constant quality (see the file comment).
  if (codec === 'av1') return ['-crf', String(rung.crf), '-b:v', '0'];
  return ['-crf', String(rung.crf), ...caps];
}

/** Encoder arguments for one output (after its `-map`). */
export function videoEncoderArgs(rung: Pick<RungSpec, 'codec' | 'bitrate' | 'maxrate' | 'bufsize' | 'crf'>, settings: EncoderSettings, keys: KeyframePlan): string[] {
  const codec = codecOf(rung);
  const rc = rateControl(rung, codec);
  const forced = ['-force_key_frames', keys.keyframes, '-forced-idr', '1'];
  const gop = String(keys.gop);
  switch (codec) {
    case 'h264':
      return ['-c:v', 'libx264', '-preset', settings.x264Preset, '-profile:v', 'high', ...rc, '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', ...forced];
    case 'hevc':
      return [
        '-c:v', 'libx265', '-preset', settings.hevcPreset ?? 'veryfast', '-tag:v', 'hvc1', ...rc,
        '-x265-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0:open-gop=0:log-level=error`, ...forced,
      ];
    case 'av1':
      return [
        '-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', String(settings.av1CpuUsed ?? 6), '-row-mt', '1', ...rc,
        '-g', gop, '-force_key_frames', keys.keyframes,
      ];
  }
}

/** `segment_0007.ts` / `segment_0007.m4s`: the file name of segment n in a packaging. */
export const segmentName = (n: number, packaging: Packaging = 'ts'): string => `segment_${String(n).padStart(4, '0')}.${packaging === 'cmaf' ? 'm4s' : 'ts'}`;

/** The init segment of a CMAF rendition (`EXT-X-MAP` in HLS, `initialization` in DASH). */
export const INIT_FILE = 'init.mp4';

/** Local segment files of ffmpeg's HLS muxer, either packaging: `segment_0007.ts`, `segment_0007.m4s`. */
export const SEGMENT_FILE = /^segment_(\d{4,6})\.(ts|m4s)$/;

/**
 * The HLS muxer writing `dir/segment_%04d.{ts,m4s}` (+ `init.mp4` for CMAF) and `dir/index.m3u8`. For CMAF,
 * `frag_discont` makes the MP4 muxer write each fragment's real decode time (`tfdt`) instead of restarting every
 * process at 0, so the fragments of separately encoded chunks continue one timeline, and their init segments are
 * byte-identical (checked at fan-in).
 */
export function segmentMuxerArgs(dir: string, segmentSec: number, packaging: Packaging, playlistType: 'vod' | 'event'): string[] {
  const common = ['-f', 'hls', '-hls_time', String(segmentSec), '-hls_playlist_type', playlistType, '-hls_list_size', '0', '-hls_flags', 'temp_file', '-start_number', '0'];
  if (packaging === 'ts') {
    return [...common, '-hls_segment_type', 'mpegts', '-hls_segment_filename', path.join(dir, 'segment_%04d.ts'), path.join(dir, 'index.m3u8')];
  }
  return [
    ...common, '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', INIT_FILE, '-hls_segment_options', 'movflags=+frag_discont',
    '-hls_segment_filename', path.join(dir, 'segment_%04d.m4s'), path.join(dir, 'index.m3u8'),
  ];
}

/** Content type of an uploaded output file. */
export function contentTypeOf(file: string): string {
  if (file.endsWith('.ts')) return 'video/mp2t';
  if (file.endsWith('.m4s') || file.endsWith('.mp4')) return 'video/mp4';
  if (file.endsWith('.jpg')) return 'image/jpeg';
  if (file.endsWith('.vtt')) return 'text/vtt';
  return 'application/octet-stream';
}

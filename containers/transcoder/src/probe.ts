/**
 * Analysis of an original with ffprobe, and the rules for what counts as a processable video.
 *
 * Rejected (permanently, with a user-readable reason): anything ffprobe cannot parse (random bytes, text, an MP4
 * whose index is missing because the upload was cut short), files without a video stream (audio-only is not
 * supported: the platform is a video player), still images (image demuxers, a single frame, no duration), and
 * text-art "video" codecs ffmpeg can synthesise from text files. Then the first video frame must actually decode.
 */
import { InputError, stderrTail } from './errors';
import { run } from './process';
import type { AnalyzeResult } from './protocol';

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
  disposition?: { attached_pic?: number };
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

const IMAGE_CODECS = new Set(['png', 'mjpeg', 'bmp', 'webp', 'tiff', 'jpeg2000', 'jpegls', 'gif', 'pam', 'ppm', 'pgm', 'svg', 'qoi', 'exr', 'psd']);
const TEXT_ART_CODECS = new Set(['ansi', 'bintext', 'xbin', 'idf', 'tty']);
/** Storage or network trouble: retry later, the file itself may be fine. */
const TRANSIENT = /Connection refused|Server returned [45]|timed out|Connection reset|Broken pipe/i;
/** Longest original accepted (a 12-hour upload is almost certainly a mistake and would occupy a worker for hours). */
const MAX_DURATION_SEC = 12 * 3600;

export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  if (!n || !Number.isFinite(n)) return 0;
  return d ? n / d : n;
}

function rotationOf(stream: ProbeStream): number {
  const fromSideData = stream.side_data_list?.find((s) => typeof s.rotation === 'number')?.rotation;
  const raw = fromSideData ?? Number(stream.tags?.rotate ?? 0);
  const normalized = ((Math.round(raw / 90) * 90) % 360 + 360) % 360;
  return Number.isFinite(normalized) ? normalized : 0;
}

/** Turns ffprobe JSON into facts, or throws InputError with the reason the file is not a processable video. */
export function interpretProbe(probe: ProbeOutput): AnalyzeResult {
  const streams = probe.streams ?? [];
  const formatName = probe.format?.format_name ?? 'unknown';
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video) {
    if (audio) throw new InputError('The file contains only audio; please upload a video file (audio-only uploads are not supported).');
    throw new InputError('The file contains no video stream.');
  }
  const codec = video.codec_name ?? 'unknown';
  if (TEXT_ART_CODECS.has(codec) || formatName === 'tty') throw new InputError('The file is a text file, not a video.');
  // The video stream's own duration when the container states one: a container may claim more than its streams
  // hold (a wrong mvhd, audio longer than video), and the renditions are as long as the video.
  const streamDuration = Number(video.duration ?? NaN);
  const duration = streamDuration > 0 ? streamDuration : Number(probe.format?.duration ?? NaN);
  const frames = Number(video.nb_frames ?? NaN);
  if (formatName === 'image2' || formatName.endsWith('_pipe') || (IMAGE_CODECS.has(codec) && !(duration > 0.5)) || frames === 1) {
    throw new InputError('The file is a still image, not a video.');
  }
  if (!(duration > 0)) throw new InputError('The video has no duration; the file may be incomplete or corrupt.');
  if (duration > MAX_DURATION_SEC) throw new InputError(`The video is longer than ${MAX_DURATION_SEC / 3600} hours.`);
  const codedW = video.width ?? 0;
  const codedH = video.height ?? 0;
  if (codedW < 16 || codedH < 16) throw new InputError(`The video's frame size (${codedW}x${codedH}) is too small or unknown.`);
  const rotation = rotationOf(video);
  const swap = rotation === 90 || rotation === 270;
  const frameRate = parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate);
  return {
    duration,
    width: swap ? codedH : codedW,
    height: swap ? codedW : codedH,
    rotation,
    frameRate: frameRate > 0 && frameRate < 1000 ? Math.round(frameRate * 1000) / 1000 : 30,
    hasAudio: Boolean(audio),
    videoCodec: codec,
    audioCodec: audio?.codec_name ?? null,
    formatName,
  };
}

/**
 * ffprobe + a decode of the first video frame. `input` is a URL or path; `inputOptions` are the storage URL's
 * (`Storage.ffmpegInput()`: reconnect on an early end, http-read.ts). Warnings are logged so that a failed storage read
 * is seen (process.ts) rather than taken for an undecodable file.
 */
export async function analyze(input: string, inputOptions: string[] = [], signal?: AbortSignal): Promise<AnalyzeResult> {
  const probe = await run('ffprobe', ['-v', 'warning', ...inputOptions, '-print_format', 'json', '-show_format', '-show_streams', input], { signal });
  if (probe.code !== 0) {
    const why = stderrTail(probe.stderr, 1).replace(/^.*?:\s*/, '');
    if (TRANSIENT.test(probe.stderr)) {
      throw new Error(`ffprobe could not read the original: ${why}`);
    }
    throw new InputError(`The file is not a readable video (${why || 'unrecognised format'}).`);
  }
  let parsed: ProbeOutput;
  try {
    parsed = JSON.parse(probe.stdout) as ProbeOutput;
  } catch {
    throw new Error('ffprobe printed invalid JSON');
  }
  const facts = interpretProbe(parsed);
  const decode = await run('ffmpeg', ['-v', 'warning', '-nostdin', ...inputOptions, '-i', input, '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'], { signal });
  if (decode.code !== 0 && TRANSIENT.test(decode.stderr)) throw new Error(`ffmpeg could not read the original: ${stderrTail(decode.stderr, 1)}`);
  if (decode.code !== 0 || /error while decoding|Invalid data|no frame/i.test(decode.stderr)) {
    throw new InputError(`The video stream cannot be decoded (${stderrTail(decode.stderr, 1) || 'decoder error'}).`);
  }
  return facts;
}

/**
 * What ffmpeg's HLS muxer leaves in a rung's work directory, and how it leaves the machine: the segments listed in
 * its playlist, shipped to storage as they are closed, and the stream facts measured from them.
 *
 * CMAF: the rendition's `init.mp4` is shipped before its first segment, and shipped again at the end if its bytes
 * changed meanwhile (the muxer writes it once the first fragment is known). Its SHA-256 is part of the result, so
 * fan-in can check that every chunk of a rung wrote the same init segment.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { stderrTail } from './errors';
import { avcCodecFromAnnexB, videoCodecFromInit } from './codec-strings';
import { INIT_FILE, SEGMENT_FILE, segmentName } from './encoders';
import { parseRate } from './probe';
import { run } from './process';
import type { Packaging, RungSpec } from './protocol';

export type Upload = (rung: RungSpec, file: string, fileName: string) => Promise<void>;

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

/** The segments ffmpeg's playlist lists, with their sizes; none when the chunk was past the end of the streams. */
export async function segmentsOf(dir: string): Promise<{ durations: number[]; sizes: number[]; files: string[] }> {
  let text = '';
  try {
    text = await readFile(path.join(dir, 'index.m3u8'), 'utf8');
  } catch {
    // A chunk past the end of the streams writes no playlist at all.
  }
  const entries = parseMediaPlaylist(text);
  const sizes: number[] = [];
  for (const e of entries) sizes.push((await stat(path.join(dir, e.file))).size);
  return { durations: entries.map((e) => e.duration), sizes, files: entries.map((e) => path.join(dir, e.file)) };
}

export const sha256Of = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

interface OutputProbe {
  streams?: { codec_type?: string; codec_name?: string; profile?: string; r_frame_rate?: string; avg_frame_rate?: string; width?: number; height?: number }[];
}

export interface MeasuredOutput {
  codecs: string;
  frameRate: number;
  width: number;
  height: number;
  initSha256?: string;
}

/**
 * Codecs string, frame rate and size measured from a rung's first encoded segment (not from what was asked for):
 * MPEG-TS from the H.264 SPS in the stream, CMAF from the codec record of the init segment.
 */
export async function measureOutput(dir: string, firstSegment: string, packaging: Packaging, workDir: string): Promise<MeasuredOutput> {
  const init = path.join(dir, INIT_FILE);
  const input = packaging === 'cmaf' ? `concat:${init}|${firstSegment}` : firstSegment;
  const probe = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', input]);
  if (probe.code !== 0) throw new Error(`ffprobe of output failed: ${stderrTail(probe.stderr)}`);
  const streams = (JSON.parse(probe.stdout) as OutputProbe).streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video) throw new Error('encoded segment has no video stream');
  let codec: string | null;
  if (packaging === 'cmaf') {
    codec = videoCodecFromInit(await readFile(init));
    if (!codec) throw new Error(`the init segment has no H.264, HEVC or AV1 codec record (${video.codec_name})`);
  } else {
    if (video.codec_name !== 'h264') throw new Error('encoded segment has no H.264 video stream');
    const annexB = path.join(workDir, `${path.basename(dir)}-sps.h264`);
    const extract = await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', firstSegment, '-map', '0:v:0', '-c', 'copy', '-frames:v', '1', '-f', 'h264', annexB]);
    if (extract.code !== 0) throw new Error(`could not extract H.264 parameters: ${stderrTail(extract.stderr)}`);
    codec = avcCodecFromAnnexB(await readFile(annexB));
    if (!codec) throw new Error('encoded segment has no H.264 SPS');
  }
  // AAC object type: LC = 2, HE-AAC = 5, HE-AACv2 = 29 (RFC 6381 `mp4a.40.N`).
  const aot = audio?.profile === 'HE-AACv2' ? 29 : audio?.profile === 'HE-AAC' ? 5 : 2;
  const frameRate = Math.round((parseRate(video.r_frame_rate) || parseRate(video.avg_frame_rate)) * 1000) / 1000;
  return {
    codecs: audio ? `${codec},mp4a.40.${aot}` : codec,
    frameRate,
    width: video.width ?? 0,
    height: video.height ?? 0,
    ...(packaging === 'cmaf' ? { initSha256: await sha256Of(init) } : {}),
  };
}

/**
 * Uploads each completed segment once, in order, while ffmpeg keeps writing; local `n` is uploaded as `offset + n`
 * (the rendition's global numbering). CMAF: the init segment goes first.
 */
export class SegmentShipper {
  private readonly shipped = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private initShipped: string | null = null;

  constructor(
    private readonly rung: RungSpec,
    private readonly dir: string,
    private readonly upload: Upload,
    private readonly offset = 0,
    private readonly packaging: Packaging = 'ts',
  ) {}

  private enqueue(file: string, remote: string): void {
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.upload(this.rung, path.join(this.dir, file), remote);
      } catch (err) {
        this.failure = err;
      }
    });
  }

  private shipInit(): void {
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        const hash = await sha256Of(path.join(this.dir, INIT_FILE));
        if (hash === this.initShipped) return;
        await this.upload(this.rung, path.join(this.dir, INIT_FILE), INIT_FILE);
        this.initShipped = hash;
      } catch (err) {
        this.failure = err;
      }
    });
  }

  async scan(): Promise<void> {
    const names = (await readdir(this.dir)).filter((f) => SEGMENT_FILE.test(f)).sort();
    for (const name of names) {
      if (this.shipped.has(name)) continue;
      if (this.packaging === 'cmaf' && this.shipped.size === 0) this.shipInit();
      this.shipped.add(name);
      this.enqueue(name, segmentName(Number(SEGMENT_FILE.exec(name)![1]) + this.offset, this.packaging));
    }
  }

  get error(): unknown {
    return this.failure;
  }

  async drain(): Promise<void> {
    await this.scan();
    if (this.packaging === 'cmaf' && this.shipped.size > 0) this.shipInit();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

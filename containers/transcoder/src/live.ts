/**
 * The live ladder's encode: one pushed source segment becomes the same segment in each lower rung, in one ffmpeg
 * (one decode, one scaler and libx264 per rung).
 *
 * Why every rung lines up with the source, segment by segment: the broadcaster starts each segment with a keyframe
 * (the ingest's documented `-g`), and libx264 opens each output with an IDR frame and adds none (`-g` far above a
 * segment's frames, no scene cuts), so every output segment is one closed GOP over exactly the source's frames.
 * `-copyts` keeps the source's timestamps (video and the copied audio), so all rungs share one timeline across
 * segments and hls.js can switch between them anywhere; a reconnect's new timeline reaches every rung the same way.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { InputError, looksLikeInputProblem, stderrTail } from './errors';
import { avcCodecFromAnnexB } from './codec-strings';
import { run } from './process';
import type { Storage } from './storage';
import type { LiveSegmentRequest, LiveSegmentResult } from './live-protocol';

/** Frames per GOP ceiling: one keyframe per segment (a 10 s segment at 60 fps is 600 frames). */
const LIVE_GOP = 1200;

/** The ffmpeg arguments: the source file in, one MPEG-TS file per rung out (`outFiles[i]` for `req.rungs[i]`). */
export function liveArgs(source: string, req: Pick<LiveSegmentRequest, 'rungs' | 'x264Preset'>, outFiles: string[]): string[] {
  const n = req.rungs.length;
  const scales = req.rungs.map((r, i) => `[v${i}]scale=${r.width}:${r.height}:flags=bicubic[o${i}]`).join(';');
  const graph = n === 1 ? `[0:v:0]scale=${req.rungs[0]!.width}:${req.rungs[0]!.height}:flags=bicubic[o0]` : `[0:v:0]split=${n}${req.rungs.map((_, i) => `[v${i}]`).join('')};${scales}`;
  const args = ['-hide_banner', '-nostdin', '-y', '-nostats', '-v', 'error', '-copyts', '-i', source, '-filter_complex', graph];
  req.rungs.forEach((r, i) => {
    args.push(
      '-map', `[o${i}]`, '-map', '0:a:0?',
      '-c:v', 'libx264', '-preset', req.x264Preset, '-profile:v', 'high',
      '-b:v', String(r.bitrate), '-maxrate', String(r.maxrate), '-bufsize', String(r.bufsize),
      '-g', String(LIVE_GOP), '-keyint_min', String(LIVE_GOP), '-sc_threshold', '0',
      '-c:a', 'copy', '-muxdelay', '0', '-muxpreload', '0', '-f', 'mpegts', outFiles[i]!,
    );
  });
  return args;
}

export interface LiveOptions {
  signal?: AbortSignal;
  /** Called when ffmpeg starts, with the directories it writes into (test holds: hold.ts). */
  onSpawn?: (child: ChildProcess, dirs: string[]) => void;
}

/** Encodes `req`'s source segment into its rungs and uploads each to its `outputKey`. */
export async function encodeLiveSegment(storage: Storage, req: LiveSegmentRequest, workDir: string, options: LiveOptions = {}): Promise<LiveSegmentResult> {
  const started = Date.now();
  const source = path.join(workDir, 'source.ts');
  await storage.download(req.sourceKey, source, options.signal);
  const dirs = req.rungs.map((_, i) => path.join(workDir, `rung${i}`));
  for (const dir of dirs) await mkdir(dir);
  // Named like a muxer's segment so a test hold sees the output appear (hold.ts).
  const outFiles = dirs.map((dir) => path.join(dir, 'segment_0000.ts'));
  const encodeStart = Date.now();
  const result = await run('ffmpeg', liveArgs(source, req, outFiles), { signal: options.signal, onSpawn: (child) => options.onSpawn?.(child, dirs) });
  const encodeSec = (Date.now() - encodeStart) / 1000;
  if (result.code !== 0) {
    const message = `live encode of segment ${req.seq} failed: ${stderrTail(result.stderr)}`;
    throw looksLikeInputProblem(result.stderr) ? new InputError(message) : new Error(message);
  }
  const rungs = [];
  for (const [i, rung] of req.rungs.entries()) {
    const file = outFiles[i]!;
    const bytes = await readFile(file);
    // The SPS is in the first TS packet (right after the PES header and the access unit delimiter), so the Annex B
    // scan finds it whole without unpacking the transport stream.
    const codec = avcCodecFromAnnexB(bytes.subarray(0, 4096));
    if (bytes.length === 0 || !codec) throw new Error(`live encode of segment ${req.seq} wrote no H.264 stream for ${rung.name}`);
    await storage.upload(rung.outputKey, file, 'video/mp2t', options.signal);
    rungs.push({ name: rung.name, bytes: bytes.length, videoCodec: codec });
  }
  return { rungs, encodeSec, totalSec: (Date.now() - started) / 1000 };
}

/**
 * Poster and scrub-preview storyboard. Step 1 extracts one small frame every `intervalSec` (decoding the source
 * once); step 2 tiles them into `sprite_{n}.jpg` sheets of columns×rows; the WebVTT storyboard maps each time
 * range to its tile with a `#xywh=` media fragment (the format hls.js/Video.js/Plyr storyboards consume).
 * Counting the extracted files, rather than predicting the fps filter's rounding, keeps the VTT exact.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, looksLikeInputProblem, stderrTail } from './errors';
import { run } from './process';
import type { Packaging, ThumbnailsRequest } from './protocol';

export interface ThumbnailFiles {
  poster: string | null;
  sprites: string[];
  storyboard: string;
  count: number;
}

const vttTime = (sec: number): string => {
  const ms = Math.round(sec * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
};

export function storyboardVtt(count: number, req: Pick<ThumbnailsRequest, 'intervalSec' | 'tileWidth' | 'tileHeight' | 'columns' | 'rows' | 'sourceDuration'>, spriteName: (n: number) => string): string {
  const perSheet = req.columns * req.rows;
  const lines = ['WEBVTT', ''];
  for (let i = 0; i < count; i++) {
    const start = i * req.intervalSec;
    const end = i === count - 1 ? Math.max(req.sourceDuration, start + 0.001) : (i + 1) * req.intervalSec;
    const idx = i % perSheet;
    const x = (idx % req.columns) * req.tileWidth;
    const y = Math.floor(idx / req.columns) * req.tileHeight;
    lines.push(`${vttTime(start)} --> ${vttTime(end)}`, `${spriteName(Math.floor(i / perSheet))}#xywh=${x},${y},${req.tileWidth},${req.tileHeight}`, '');
  }
  return lines.join('\n');
}

async function ffmpeg(args: string[], what: string, signal?: AbortSignal, stdin?: AsyncIterable<Uint8Array>): Promise<void> {
  const r = await run('ffmpeg', ['-hide_banner', ...(stdin ? [] : ['-nostdin']), '-y', '-v', 'warning', ...args], { signal, stdin });
  if (r.code !== 0) {
    if (looksLikeInputProblem(r.stderr)) throw new InputError(`The video could not be decoded for thumbnails (${stderrTail(r.stderr)}).`);
    throw new Error(`${what} failed: ${stderrTail(r.stderr)}`);
  }
}

/**
 * `source` is a path or the storage URL (read by HTTP range requests; `inputOptions` carry the token header); null
 * (only with `frames`) makes no poster.
 * `frames`, when given, is an encoded rendition's segments in order (`req.framesFrom`, streamed; CMAF: its init
 * segment first, which makes the stream one fragmented MP4): the
 * storyboard is decoded from it rather than from the source. Same timeline (`setpts=PTS-STARTPTS` takes both to 0 at
 * the first frame) and the same frames; a 240p rendition decodes in a small fraction of a 720p/1080p original's time.
 */
export async function makeThumbnails(
  source: string | null,
  req: ThumbnailsRequest,
  workDir: string,
  signal?: AbortSignal,
  inputOptions: string[] = [],
  frames?: { bytes: AsyncIterable<Uint8Array>; packaging: Packaging },
): Promise<ThumbnailFiles> {
  const framesDir = path.join(workDir, 'frames');
  const out = path.join(workDir, 'thumbs');
  await mkdir(framesDir, { recursive: true });
  await mkdir(out, { recursive: true });

  // Poster: a frame 10% in (capped at 10 s), past fade-ins and title cards; input seeking keeps it cheap.
  const posterAt = Math.min(req.sourceDuration * 0.1, 10);
  const poster = source === null ? null : path.join(out, 'poster.jpg');
  if (source !== null && poster !== null) {
    await ffmpeg([...inputOptions, '-ss', posterAt.toFixed(3), '-i', source, '-map', '0:v:0', '-frames:v', '1', '-vf', `scale=-2:'min(${req.posterMaxHeight},ih)'`, '-q:v', '3', poster], 'poster', signal);
  }

  if (!frames && source === null) throw new InputError('thumbnails need a source or the frames of a rendition');
  const input = frames ? ['-f', frames.packaging === 'cmaf' ? 'mp4' : 'mpegts', '-i', 'pipe:0'] : [...inputOptions, '-i', source!];
  await ffmpeg(
    [...input, '-map', '0:v:0', '-vf', `setpts=PTS-STARTPTS,fps=1/${req.intervalSec},scale=${req.tileWidth}:${req.tileHeight},setsar=1`, '-q:v', '5', '-start_number', '0', path.join(framesDir, 'f_%06d.jpg')],
    'storyboard frames',
    signal,
    frames?.bytes,
  );
  const count = (await readdir(framesDir)).filter((f) => f.endsWith('.jpg')).length;
  if (count === 0) throw new InputError('No frames could be extracted for thumbnails.');
  await ffmpeg(
    ['-framerate', '1', '-start_number', '0', '-i', path.join(framesDir, 'f_%06d.jpg'), '-vf', `tile=${req.columns}x${req.rows}`, '-q:v', '5', '-start_number', '0', path.join(out, 'sprite_%d.jpg')],
    'sprite sheets',
    signal,
  );
  const sprites = (await readdir(out)).filter((f) => /^sprite_\d+\.jpg$/.test(f)).sort((a, b) => Number(a.slice(7, -4)) - Number(b.slice(7, -4)));
  const storyboard = path.join(out, 'storyboard.vtt');
  await writeFile(storyboard, storyboardVtt(count, req, (n) => `sprite_${n}.jpg`));
  return { poster, sprites: sprites.map((s) => path.join(out, s)), storyboard, count };
}

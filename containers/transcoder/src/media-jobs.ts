/**
 * Media jobs beyond the ladder: a frame at any time (cut from one segment) and a progressive MP4 download
 * (remuxed from the segments, or encoded when the remux does not check out).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError, looksLikeInputProblem, stderrTail } from './errors';
import { splitHttpReadLog, StorageReadError } from './http-read';
import { run } from './process';
import type { DownloadEncodeFallback, DownloadRequest, DownloadResult, FrameRequest } from './media-protocol';
import type { Storage } from './storage';

/**
 * The frame at `offset` seconds into a segment, as JPEG bytes of exactly width×height. `-ss` as an *output* option:
 * the segment (which opens on a keyframe) is decoded from its start and frames are dropped until the asked time —
 * exact, and never a demuxer seek into the middle of a GOP (MPEG-TS has no index; such a seek lands on a
 * non-keyframe). A segment is a few seconds, so decoding it whole is cheap.
 */
export async function cutFrame(storage: Storage, req: FrameRequest, signal: AbortSignal, workDir?: string): Promise<Buffer> {
  // A CMAF segment needs its init segment in front: both are small, so they are fetched into one local file.
  let input = [...storage.ffmpegInput(), '-i', await storage.ffmpegUrl(req.segmentKey)];
  if (req.initKey && workDir) {
    const joined = path.join(workDir, 'frame.mp4');
    const sink = createWriteStream(joined);
    for await (const chunk of storage.stream([req.initKey, req.segmentKey], signal)) if (!sink.write(chunk)) await new Promise((r) => sink.once('drain', r));
    await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
    input = ['-i', joined];
  }
  // prettier-ignore
  const args = [
    '-hide_banner', '-loglevel', 'warning', '-nostdin',
    ...input,
    '-ss', req.offset.toFixed(3), '-map', '0:v:0', '-frames:v', '1', '-an',
    '-vf', `scale=${req.width}:${req.height}:flags=bicubic,setsar=1`,
    '-q:v', '3', '-f', 'mjpeg', 'pipe:1',
  ];
  const result = await runBinary('ffmpeg', args, signal);
  const log = splitHttpReadLog(result.stderr);
  if (log.failure) throw new StorageReadError(`reading the segment failed: ${stderrTail(log.failure, 1)}`);
  if (result.code !== 0 || result.stdout.length === 0) {
    const tail = stderrTail(log.rest);
    if (looksLikeInputProblem(log.rest) || result.code === 0) throw new InputError(`no frame at that time: ${tail || 'empty output'}`);
    throw new Error(`ffmpeg frame failed (${result.code ?? result.signal}): ${tail}`);
  }
  return result.stdout;
}

/** `run` collects stdout as text; a JPEG needs the bytes. Not tracked by process.ts: a frame takes well under a second. */
function runBinary(cmd: string, args: string[], signal: AbortSignal): Promise<{ code: number | null; signal: string | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    const abort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', abort, { once: true });
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-16_000);
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', abort);
      resolve({ code, signal: sig, stdout: Buffer.concat(out), stderr });
    });
  });
}

interface Probe {
  duration: number;
  videoCodec: string | null;
  audioCodec: string | null;
}

async function probe(file: string, signal: AbortSignal): Promise<Probe | null> {
  const r = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', file], { signal });
  if (r.code !== 0) return null;
  try {
    const j = JSON.parse(r.stdout) as { format?: { duration?: string }; streams?: { codec_type?: string; codec_name?: string }[] };
    const streams = j.streams ?? [];
    return {
      duration: Number(j.format?.duration ?? NaN),
      videoCodec: streams.find((s) => s.codec_type === 'video')?.codec_name ?? null,
      audioCodec: streams.find((s) => s.codec_type === 'audio')?.codec_name ?? null,
    };
  } catch {
    return null;
  }
}

/** An audio-only remux is trusted when it is AAC alone and lasts what the playlist says. */
function audioChecksOut(p: Probe | null, req: DownloadRequest): boolean {
  return p !== null && p.videoCodec === null && p.audioCodec === 'aac' && Number.isFinite(p.duration) && Math.abs(p.duration - req.expectedDuration) <= req.durationToleranceSec;
}

/** A remux is trusted only when it is H.264 (+ AAC if audio, which it must have when an audio track was given), and lasts what the playlist says. */
function checksOut(p: Probe | null, req: DownloadRequest): boolean {
  const audioGiven = (req.audioSegmentKeys?.length ?? 0) > 0;
  return (
    p !== null &&
    p.videoCodec === (req.videoCodec ?? 'h264') &&
    (p.audioCodec === null ? !audioGiven : p.audioCodec === 'aac') &&
    Number.isFinite(p.duration) &&
    Math.abs(p.duration - req.expectedDuration) <= req.durationToleranceSec
  );
}

/** The joined video segments (with their own audio, if any), or with the joined audio rendition's as the audio track. */
async function remux(joined: string, audio: string | null, out: string, signal: AbortSignal, audioOnly = false): Promise<boolean> {
  const inputs = audioOnly ? ['-i', joined, '-map', '0:a:0'] : audio ? ['-i', joined, '-i', audio, '-map', '0:v:0', '-map', '1:a:0'] : ['-i', joined, '-map', '0:v:0', '-map', '0:a:0?'];
  // AAC in MPEG-TS is ADTS-framed; an MP4 wants it without (CMAF's fMP4 already is).
  const adts = (audio ?? joined).endsWith('.ts') ? ['-bsf:a', 'aac_adtstoasc'] : [];
  // prettier-ignore
  const r = await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...inputs,
    '-c', 'copy', ...adts,
    '-movflags', '+faststart', '-f', 'mp4', out,
  ], { signal });
  return r.code === 0;
}

async function encode(storage: Storage, f: DownloadEncodeFallback, out: string, signal: AbortSignal): Promise<void> {
  // prettier-ignore
  const r = await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'warning', '-nostdin', '-y',
    ...storage.ffmpegInput(), '-ss', f.start.toFixed(3), '-t', f.duration.toFixed(3), '-i', await storage.ffmpegUrl(f.sourceKey),
    '-map', '0:v:0', '-map', '0:a:0?',
    '-vf', `scale=${f.width}:${f.height}`, '-c:v', 'libx264', '-preset', f.x264Preset, '-pix_fmt', 'yuv420p',
    '-b:v', String(f.bitrate), '-maxrate', String(f.maxrate), '-bufsize', String(f.bufsize),
    '-c:a', 'aac', '-b:a', String(f.audioBitrate), '-ac', '2',
    '-movflags', '+faststart', '-f', 'mp4', out,
  ], { signal });
  if (r.code !== 0) {
    const tail = stderrTail(r.stderr);
    if (looksLikeInputProblem(r.stderr)) throw new InputError(`the video could not be encoded into an MP4: ${tail}`);
    throw new Error(`ffmpeg encode failed (${r.code ?? r.signal}): ${tail}`);
  }
}

/**
 * A rendition's segments concatenate byte for byte into one valid stream (continuous timestamps): MPEG-TS as they
 * are, CMAF after the rendition's init segment (one fragmented MP4). `progress(done)` hears how many are in.
 */
async function join(storage: Storage, initKey: string | undefined, segmentKeys: string[], dir: string, name: string, signal: AbortSignal, progress: (done: number) => void): Promise<string> {
  const joined = path.join(dir, initKey ? `${name}.mp4` : `${name}.ts`);
  const sink = createWriteStream(joined);
  if (initKey) {
    const init = path.join(dir, `${name}_init.mp4`);
    await storage.download(initKey, init, signal);
    await pipeline(createReadStream(init), sink, { end: false, signal });
  }
  for (let i = 0; i < segmentKeys.length; i++) {
    const file = path.join(dir, `${name}_${i}.seg`);
    await storage.download(segmentKeys[i]!, file, signal);
    await pipeline(createReadStream(file), sink, { end: false, signal });
    progress(i + 1);
  }
  await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return joined;
}

/** An M4A of one audio rendition: its segments joined and copied into an MP4 container (ADTS headers dropped for TS). */
async function makeAudioDownload(storage: Storage, req: DownloadRequest, dir: string, signal: AbortSignal, onProgress: (f: number) => void): Promise<DownloadResult> {
  const out = path.join(dir, 'download.m4a');
  const joined = await join(storage, req.initKey, req.segmentKeys, dir, 'audio', signal, (n) => onProgress((0.8 * n) / req.segmentKeys.length));
  const facts = (await remux(joined, null, out, signal, true)) ? await probe(out, signal) : null;
  if (!audioChecksOut(facts, req)) {
    throw new InputError(`the audio segments do not remux into a valid M4A (${facts ? `${facts.duration} s, ${facts.audioCodec}` : 'ffmpeg failed'})`);
  }
  onProgress(0.9);
  await storage.upload(req.outputKey, out, 'audio/mp4', signal);
  onProgress(1);
  const { size } = await stat(out);
  return { method: 'remux', size, duration: Math.round(facts!.duration * 1000) / 1000 };
}

export async function makeDownload(storage: Storage, req: DownloadRequest, dir: string, signal: AbortSignal, onProgress: (f: number) => void): Promise<DownloadResult> {
  if (req.audioOnly) return makeAudioDownload(storage, req, dir, signal, onProgress);
  const out = path.join(dir, 'download.mp4');
  const audioKeys = req.audioSegmentKeys ?? [];
  const total = req.segmentKeys.length + audioKeys.length;
  const joined = await join(storage, req.initKey, req.segmentKeys, dir, 'video', signal, (n) => onProgress((0.7 * n) / total));
  const audio = audioKeys.length > 0 ? await join(storage, req.audioInitKey, audioKeys, dir, 'audio', signal, (n) => onProgress((0.7 * (req.segmentKeys.length + n)) / total)) : null;

  let method: DownloadResult['method'] = 'remux';
  let facts = (await remux(joined, audio, out, signal)) ? await probe(out, signal) : null;
  if (!checksOut(facts, req)) {
    if (!req.encodeFallback) {
      throw new InputError(`the segments do not remux into a valid MP4 (${facts ? `${facts.duration} s, ${facts.videoCodec}` : 'ffmpeg failed'}) and there is no original to encode from`);
    }
    method = 'encode';
    await encode(storage, req.encodeFallback, out, signal);
    facts = await probe(out, signal);
  }
  if (!facts) throw new Error('the MP4 could not be probed');
  onProgress(0.9);
  await storage.upload(req.outputKey, out, 'video/mp4', signal);
  onProgress(1);
  const { size } = await stat(out);
  return { method, size, duration: Math.round(facts.duration * 1000) / 1000 };
}

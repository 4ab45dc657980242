/**
 * A broadcaster for tests and the live benchmark: real ffmpeg pushing HLS with `-method PUT` to an ingest URL, as
 * docs/live.md tells creators to. The source is ffmpeg's test pattern with a tone; `-re` paces it at real time.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface PushOptions {
  seconds: number;
  width?: number;
  height?: number;
  /** `-hls_flags omit_endlist`: the run ends without ENDLIST, as a dropped connection does. */
  omitEndlist?: boolean;
  /** Extra video filter (the benchmark burns the wall clock in). */
  filter?: string;
  /** Segment length (`-hls_time`, and a keyframe every segment); default 2 s. */
  segmentSec?: number;
}

export function pushLive(ingestUrl: string, options: PushOptions): { child: ChildProcess; done: Promise<number | null>; stderr: string[] } {
  const size = `${options.width ?? 640}x${options.height ?? 360}`;
  const segmentSec = options.segmentSec ?? 2;
  const gop = String(Math.round(30 * segmentSec));
  const args = [
    '-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(options.seconds),
    ...(options.filter ? ['-vf', options.filter] : []),
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '96k',
    '-f', 'hls', '-hls_time', String(segmentSec), ...(options.omitEndlist ? ['-hls_flags', 'omit_endlist'] : []),
    '-method', 'PUT', `${ingestUrl}/index.m3u8`,
  ];
  const child = spawn('nice', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, done, stderr };
}

/**
 * A real HLS ladder made by ffmpeg (lavfi test pattern + tone), audio muxed into every rung, for tests that serve it
 * themselves (the ABR controller in hls.js). Tests of the platform transcode a real upload instead
 * (transcoding-media.ts `transcodedVideo`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface LadderRungSpec {
  name: string;
  width: number;
  height: number;
  /** Video bitrate, bits/s. */
  bitrate: number;
}

export interface LadderRung extends LadderRungSpec {
  segmentFiles: string[];
  durations: number[];
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  frameRate: number;
  totalBytes: number;
}

export const TWO_RUNGS: LadderRungSpec[] = [
  { name: '240p', width: 426, height: 240, bitrate: 300_000 },
  { name: '360p', width: 640, height: 360, bitrate: 700_000 },
];

const FPS = 30;
/** Main profile (0x4d), constraint_set1 (0x40), level 3.0 (0x1e); AAC-LC. Must match the encoder flags below. */
const CODECS = 'avc1.4d401e,mp4a.40.2';

/** Encodes `seconds` of video per rung with keyframe-aligned `segmentSeconds` segments (same GOP on every rung). */
export function makeHlsLadder(outDir: string, options: { seconds?: number; segmentSeconds?: number; rungs?: LadderRungSpec[] } = {}): LadderRung[] {
  const seconds = options.seconds ?? 8;
  const seg = options.segmentSeconds ?? 2;
  return (options.rungs ?? TWO_RUNGS).map((rung) => {
    const dir = path.join(outDir, rung.name);
    mkdirSync(dir, { recursive: true });
    const gop = String(seg * FPS);
    // prettier-ignore
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${rung.width}x${rung.height}:rate=${FPS}`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds),
      '-c:v', 'libx264', '-profile:v', 'main', '-level', '3.0', '-pix_fmt', 'yuv420p', '-preset', 'veryfast',
      '-b:v', String(rung.bitrate), '-maxrate', String(Math.round(rung.bitrate * 1.1)), '-bufsize', String(rung.bitrate * 2),
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2',
      '-f', 'hls', '-hls_time', String(seg), '-hls_playlist_type', 'vod',
      '-hls_segment_filename', path.join(dir, 'segment_%04d.ts'),
      path.join(dir, 'playlist.m3u8'),
    ]);
    const playlist = readFileSync(path.join(dir, 'playlist.m3u8'), 'utf8').split('\n');
    const durations: number[] = [];
    const segmentFiles: string[] = [];
    playlist.forEach((line, i) => {
      const m = /^#EXTINF:([\d.]+),/.exec(line);
      if (m) {
        durations.push(Number(m[1]));
        segmentFiles.push(path.join(dir, playlist[i + 1]!.trim()));
      }
    });
    const sizes = segmentFiles.map((f) => statSync(f).size);
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    const totalSeconds = durations.reduce((a, b) => a + b, 0);
    return {
      ...rung,
      segmentFiles,
      durations,
      bandwidth: Math.round(Math.max(...sizes.map((s, i) => (s * 8) / durations[i]!))),
      averageBandwidth: Math.round((totalBytes * 8) / totalSeconds),
      codecs: CODECS,
      frameRate: FPS,
      totalBytes,
    };
  });
}

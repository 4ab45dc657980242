/**
 * A real HLS ladder for end-to-end tests and benchmarks, made by ffmpeg (lavfi test pattern + tone), and a loader
 * that puts it into a running local stack the way transcoding does: segments into R2 under the storage-key
 * layout, one `renditions` row per rung in D1, the video READY. When the transcoding pipeline is merged, a test
 * can swap `loadLadderIntoStack` for a real upload + transcode without changing anything else.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, STACK_SECRETS, type Stack } from './local-stack';

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

const wrangler = path.join(ROOT, 'node_modules', '.bin', 'wrangler');
const BUCKET = 'edge-video-media';

function runWrangler(stack: Stack, args: string[]): void {
  execFileSync(wrangler, [...args, '--local', '--persist-to', stack.stateDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Puts `ladder` into the stack as the finished transcode of `videoId` (which must exist) and marks it READY.
 * `viaStorageRoute`: segments go through the Worker's internal storage route (one HTTP PUT each, as the transcoder
 * writes them) instead of one `wrangler r2 object put` process per segment — much faster on a loaded machine.
 */
export async function loadLadderIntoStackFast(stack: Stack, videoId: string, ladder: LadderRung[], workDir: string): Promise<void> {
  for (const rung of ladder) {
    for (const [i, file] of rung.segmentFiles.entries()) {
      const key = `videos/${videoId}/${rung.name}/segment_${String(i).padStart(4, '0')}.ts`;
      const body = readFileSync(file);
      const res = await fetch(`${stack.origin}/internal/storage/${key}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}`, 'Content-Type': 'video/mp2t', 'Content-Length': String(body.length) },
        body,
      });
      if (res.status !== 201) throw new Error(`PUT ${key}: ${res.status} ${await res.text()}`);
    }
  }
  loadLadderIntoStack(stack, videoId, ladder, workDir, { segmentsLoaded: true });
}

/** Puts `ladder` into the stack as the finished transcode of `videoId` (which must exist) and marks it READY. */
export function loadLadderIntoStack(stack: Stack, videoId: string, ladder: LadderRung[], workDir: string, options: { segmentsLoaded?: boolean } = {}): void {
  for (const rung of options.segmentsLoaded ? [] : ladder) {
    rung.segmentFiles.forEach((file, i) => {
      const key = `videos/${videoId}/${rung.name}/segment_${String(i).padStart(4, '0')}.ts`;
      runWrangler(stack, ['r2', 'object', 'put', `${BUCKET}/${key}`, '--file', file, '--content-type', 'video/mp2t']);
    });
  }
  const now = Date.now();
  const top = ladder.reduce((a, b) => (b.height > a.height ? b : a));
  const duration = top.durations.reduce((a, b) => a + b, 0);
  const statements = ladder.map(
    (r) =>
      `INSERT INTO renditions (video_id, name, width, height, bandwidth, average_bandwidth, codecs, frame_rate, segment_count, segment_durations, total_bytes, created_at) VALUES (${[
        sqlString(videoId), sqlString(r.name), r.width, r.height, r.bandwidth, r.averageBandwidth, sqlString(r.codecs), r.frameRate,
        r.durations.length, sqlString(JSON.stringify(r.durations)), r.totalBytes, now,
      ].join(', ')});`,
  );
  statements.push(
    `UPDATE videos SET status = 'READY', duration = ${duration}, width = ${top.width}, height = ${top.height}, frame_rate = ${top.frameRate}, ready_at = ${now}, updated_at = ${now} WHERE id = ${sqlString(videoId)};`,
  );
  const sqlFile = path.join(workDir, `load-${videoId}.sql`);
  writeFileSync(sqlFile, statements.join('\n') + '\n');
  runWrangler(stack, ['d1', 'execute', 'DB', '--file', sqlFile, '--yes']);
}

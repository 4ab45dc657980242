/**
 * `npm run bench -- transcode`: the reference pipeline (the production design's, docs/transcoding.md) against this platform's, on the same generated
 * 1080p 30 s source with motion and noise. Numbers are machine-dependent (2 shared cores here): compare the ratios.
 *
 * Reference pipeline (the production design, §1): per rung, `ffmpeg -i src -c:v libx264 -preset medium -b:v B -maxrate 1.5B
 * -bufsize 2B -vf scale=-2:H -c:a aac -b:a 128k -movflags +faststart out.mp4`, then `-c copy -f segment
 * -segment_time 10` — five decodes, ten ffmpeg runs, nothing playable until everything is done.
 * Platform: analysis, then the lowest rung alone (playable from here), then every other rung from one decode
 * (split filter), straight to HLS; thumbnails reported separately (the production design had none to compare).
 * Quality: SSIM of every rung against the source scaled to the rung's size (same method for both).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchResult } from './run';
import { makeSource } from '../test/helpers/transcoding-media';
import { defaults } from '../workers/shared/config';
import { encodeGroups, planLadder } from '../workers/transcoding/ladder';
import { analyze } from '../containers/transcoder/src/probe';
import { encodeRungs } from '../containers/transcoder/src/pipeline';
import { makeThumbnails } from '../containers/transcoder/src/thumbnails';
import type { EncodeRequest } from '../containers/transcoder/src/protocol';
import { measureChildren } from './proc-cpu';

const execFileP = promisify(execFile);


const ffmpeg = (args: string[]) => execFileP('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args], { maxBuffer: 64 * 1024 * 1024 });

async function ssim(encoded: string, source: string, width: number, height: number): Promise<number> {
  const graph = `[0:v]setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS,scale=${width}:${height}:flags=bicubic[r];[d][r]ssim`;
  const { stderr } = await execFileP('ffmpeg', ['-hide_banner', '-nostdin', '-i', encoded, '-i', source, '-lavfi', graph, '-f', 'null', '-'], { maxBuffer: 64 * 1024 * 1024 });
  const m = /SSIM .*All:([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no SSIM in ffmpeg output: ${stderr.slice(-300)}`);
  return Number(m[1]);
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-transcode-'));
  try {
    const source = await makeSource(path.join(dir, 'source.mp4'), { width: 1920, height: 1080, seconds: 30, noisy: true });
    const plan = planLadder(defaults.transcoding.ladder, 1920, 1080, defaults.transcoding);
    const preset = process.env.X264_PRESET ?? defaults.transcoding.x264Preset;

    // 1. The reference pipeline.
    const referenceDir = path.join(dir, 'reference');
    mkdirSync(referenceDir);
    const reference = await measureChildren(async () => {
      for (const r of plan) {
        const mp4 = path.join(referenceDir, `${r.name}.mp4`);
        await ffmpeg(['-i', source, '-c:v', 'libx264', '-preset', 'medium', '-b:v', String(r.bitrate), '-maxrate', String(Math.round(r.bitrate * 1.5)), '-bufsize', String(r.bitrate * 2), '-vf', `scale=-2:${r.height}`, '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', mp4]);
        mkdirSync(path.join(referenceDir, r.name));
        await ffmpeg(['-i', mp4, '-c', 'copy', '-f', 'segment', '-segment_time', '10', '-segment_format', 'mpegts', '-segment_list', path.join(referenceDir, r.name, 'playlist.m3u8'), path.join(referenceDir, r.name, 'segment_%04d.ts')]);
      }
    });

    // 2. This platform's pipeline (the transcoder's own modules, as the server runs them).
    const ourDir = path.join(dir, 'platform');
    mkdirSync(ourDir);
    const t0 = performance.now();
    const facts = await measureChildren(() => analyze(source));
    const groups = encodeGroups(plan, defaults.transcoding.firstRungSeparately);
    const jobs: { rungs: string[]; wall: number; cpu: number; readyAt: number }[] = [];
    for (const [i, names] of groups.entries()) {
      const req: EncodeRequest = {
        sourceKey: 'bench',
        rungs: plan.filter((r) => names.includes(r.name)).map((r) => ({ ...r, outputPrefix: `bench/${r.name}/` })),
        // The whole 30 s is one chunk at the default 60 s chunk length (bench/parallel.bench.ts measures chunking).
        chunk: { index: 0, startSec: 0, endSec: null, firstSegment: 0 },
        segmentDurationSec: defaults.transcoding.segmentDurationSec,
        x264Preset: preset,
        sourceDuration: facts.value.duration,
        sourceFrameRate: facts.value.frameRate,
        maxFrameRate: defaults.transcoding.maxFrameRate,
      };
      const job = await measureChildren(() => encodeRungs(source, req, path.join(ourDir, `job${i}`)));
      jobs.push({ rungs: names, wall: job.wall, cpu: job.cpu, readyAt: (performance.now() - t0) / 1000 });
    }
    const encodeWall = (performance.now() - t0) / 1000;
    const encodeCpu = facts.cpu + jobs.reduce((a, j) => a + j.cpu, 0);
    const t = defaults.transcoding.thumbnails;
    const thumbs = await measureChildren(() =>
      makeThumbnails(source, { sourceKey: 'bench', outputPrefix: 'bench/', sourceDuration: facts.value.duration, intervalSec: t.intervalSec, tileWidth: t.tileWidth, tileHeight: 90, columns: t.columns, rows: t.rows, posterMaxHeight: t.posterMaxHeight }, path.join(ourDir, 'thumbs')),
    );
    const firstPlayable = jobs[0]!.readyAt;

    // 3. Quality.
    const quality: { rung: string; reference: number; platform: number; delta: number }[] = [];
    for (const r of plan) {
      const jobIndex = groups.findIndex((g) => g.includes(r.name));
      const referenceSsim = await ssim(path.join(referenceDir, `${r.name}.mp4`), source, r.width, r.height);
      const ourSsim = await ssim(path.join(ourDir, `job${jobIndex}`, r.name, 'index.m3u8'), source, r.width, r.height);
      quality.push({ rung: r.name, reference: referenceSsim, platform: ourSsim, delta: Math.round((ourSsim - referenceSsim) * 10000) / 10000 });
    }

    const wallRatio = encodeWall / reference.wall;
    const firstRatio = firstPlayable / reference.wall;
    const qualityOk = quality.every((q) => q.delta >= -0.005);
    const targetMet = wallRatio <= 0.5 && firstRatio <= 0.2 && qualityOk;
    const f = (n: number) => n.toFixed(1);
    return {
      targetMet,
      summary: [
        `source: 1920x1080 30 s, motion + noise; ladder ${plan.map((r) => r.name).join(', ')}; platform preset ${preset}; ${os.cpus().length} cores (machine-dependent numbers; compare ratios)`,
        `reference pipeline:   wall ${f(reference.wall)} s, cpu ${f(reference.cpu)} s, first playable ${f(reference.wall)} s (nothing before all rungs)`,
        `platform pipeline: wall ${f(encodeWall)} s, cpu ${f(encodeCpu)} s, first playable ${f(firstPlayable)} s (${jobs.map((j) => `[${j.rungs.join('+')}] ${f(j.wall)} s`).join(', ')}, analysis ${f(facts.wall)} s)`,
        `  + thumbnails:    wall ${f(thumbs.wall)} s, cpu ${f(thumbs.cpu)} s (not in the reference)`,
        `ratios: wall ${wallRatio.toFixed(2)}× (target ≤ 0.5), first playable ${firstRatio.toFixed(2)}× of the reference's total (target ≤ 0.2)`,
        `SSIM vs source (reference → platform): ${quality.map((q) => `${q.rung} ${q.reference.toFixed(4)}→${q.platform.toFixed(4)}`).join(', ')} (target: ≥ reference − 0.005: ${qualityOk ? 'met' : 'NOT met'})`,
      ],
      data: {
        machineDependent: true,
        cores: os.cpus().length,
        preset,
        reference: { wallSec: reference.wall, cpuSec: reference.cpu, firstPlayableSec: reference.wall },
        platform: { wallSec: encodeWall, cpuSec: encodeCpu, firstPlayableSec: firstPlayable, analysisSec: facts.wall, jobs, thumbnails: { wallSec: thumbs.wall, cpuSec: thumbs.cpu } },
        ratios: { wall: wallRatio, firstPlayable: firstRatio },
        ssim: quality,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

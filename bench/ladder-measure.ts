/**
 * One source of `npm run bench -- ladder`: the fixed ladder, the per-title ladder (probe, decision, encodes) and the
 * HEVC/AV1 rungs, each measured (CPU, wall, bits per rung, SSIM per rung). The steps are the platform's own
 * functions: `analyze`, `probeLadder`, `encodeRungs` from the transcoder, `videoLadder`/`probeRequest`/`decideLadder`
 * from the Worker.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../workers/shared/config';
import { decideLadder, encodeGroups, probeRequest, videoLadder, type LadderDecision, type LadderSubject, type PlannedRung } from '../workers/transcoding/ladder';
import { analyze } from '../containers/transcoder/src/probe';
import { encodeRungs } from '../containers/transcoder/src/pipeline';
import { probeLadder } from '../containers/transcoder/src/complexity';
import type { AnalyzeResult, EncodeRequest, Packaging, RenditionResult, VideoCodec } from '../containers/transcoder/src/protocol';
import type { LadderSource } from './ladder-sources';
import { measureChildren } from './proc-cpu';

const execFileP = promisify(execFile);
const config = loadConfig({ X264_PRESET: process.env.X264_PRESET, HEVC_PRESET: process.env.HEVC_PRESET, AV1_CPU_USED: process.env.AV1_CPU_USED });


const r1 = (x: number) => Math.round(x * 10) / 10;
/** Runs of each lowest-rung encode for the first-playable time (the fastest counts). */
const FIRST_PLAYABLE_RUNS = 3;
const r2 = (x: number) => Math.round(x * 100) / 100;

export interface RungMeasure {
  /** Segment bytes per second (container included), kb/s. */
  kbps: number;
  /** Video payload alone (packet sizes), kb/s. */
  payloadKbps: number;
  ssim: number;
  crf: number | null;
}

interface Encoded {
  packaging: Packaging;
  rungs: PlannedRung[];
  renditions: RenditionResult[];
  dir: string;
  cpu: number;
  wall: number;
}

export interface SourceReport {
  name: string;
  what: string;
  duration: number;
  analysis: { cpuSec: number; wallSec: number };
  /** `lowestRungCpuSec`: the first-playable encode's CPU (wall on a shared machine is noisier). */
  fixed: { totalKbps: number; payloadKbps: number; cpuSec: number; encodeCpuSec: number; firstPlayableSec: number; lowestRungCpuSec: number };
  perTitle: { totalKbps: number; payloadKbps: number; cpuSec: number; encodeCpuSec: number; probeCpuSec: number; probeWallSec: number; firstPlayableSec: number; lowestRungCpuSec: number; crf: number[]; decision: LadderDecision };
  codecs: Partial<Record<'hevc' | 'av1', { totalKbps: number; payloadKbps: number; cpuSec: number; crf: number[] }>> & { probeCpuSec?: number; decision?: LadderDecision };
  rungs: ({ name: string; width: number; height: number; fixed: RungMeasure; perTitle: RungMeasure } & Partial<Record<'hevc' | 'av1', RungMeasure>>)[];
  /** For the ABR simulator: per ladder, each rung's peak segment bitrate (the master's BANDWIDTH without audio) and segment sizes. */
  streams: Record<'fixed' | 'perTitle', { bandwidth: number[]; segmentBytes: number[][] }>;
}

async function encodeGroup(source: string, facts: AnalyzeResult, rungs: PlannedRung[], packaging: Packaging, dir: string): Promise<Encoded> {
  const t = config.transcoding;
  const req: EncodeRequest = {
    sourceKey: 'bench',
    rungs: rungs.map((r) => ({ ...r, outputPrefix: `bench/${r.name}/` })),
    // The whole source is one chunk (60 s chunks; bench/parallel.bench.ts measures chunking).
    chunk: { index: 0, startSec: 0, endSec: null, firstSegment: 0 },
    segmentDurationSec: t.segmentDurationSec,
    packaging,
    x264Preset: t.x264Preset,
    hevcPreset: t.hevcPreset,
    av1CpuUsed: t.av1CpuUsed,
    sourceDuration: facts.duration,
    sourceFrameRate: facts.frameRate,
    maxFrameRate: t.maxFrameRate,
  };
  const m = await measureChildren(() => encodeRungs(source, req, dir));
  return { packaging, rungs, renditions: m.value.renditions, dir, cpu: m.cpu, wall: m.wall };
}

/** SSIM of every encoded rung against the source scaled to its size: one decode of the source for all rungs. */
async function ssims(source: string, outputs: { playlist: string; width: number; height: number }[]): Promise<number[]> {
  const n = outputs.length;
  const graph = [
    `[0:v]setpts=PTS-STARTPTS,split=${n}${outputs.map((_, i) => `[s${i}]`).join('')}`,
    ...outputs.map((o, i) => `[s${i}]scale=${o.width}:${o.height}:flags=bicubic[r${i}];[${i + 1}:v]setpts=PTS-STARTPTS[d${i}];[d${i}][r${i}]ssim@rung${i}[o${i}]`),
  ].join(';');
  const args = ['-n', '10', 'ffmpeg', '-hide_banner', '-nostdin', '-i', source, ...outputs.flatMap((o) => ['-i', o.playlist]), '-filter_complex', graph, ...outputs.flatMap((_, i) => ['-map', `[o${i}]`, '-f', 'null', '-'])];
  const { stderr } = await execFileP('nice', args, { maxBuffer: 64 * 1024 * 1024 });
  return outputs.map((_, i) => {
    const m = new RegExp(`\\[ssim@rung${i} @ [^\\]]+\\] SSIM .*All:([\\d.]+)`).exec(stderr);
    if (!m) throw new Error(`no SSIM for output ${i}: ${stderr.slice(-400)}`);
    return Number(m[1]);
  });
}

/** Video payload bytes of a rendition (packet sizes, no container), from its segments (after the init segment). */
async function payloadBytes(dir: string, segments: number, packaging: Packaging): Promise<number> {
  const files = Array.from({ length: segments }, (_, n) => path.join(dir, `segment_${String(n).padStart(4, '0')}.${packaging === 'cmaf' ? 'm4s' : 'ts'}`));
  const input = `concat:${[...(packaging === 'cmaf' ? [path.join(dir, 'init.mp4')] : []), ...files].join('|')}`;
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', input], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').reduce((a, l) => a + (parseInt(l, 10) || 0), 0);
}

async function rungMeasures(source: string, encoded: Encoded[], duration: number): Promise<Map<string, RungMeasure>> {
  const all = encoded.flatMap((e) => e.renditions.map((r) => ({ r, e, rung: e.rungs.find((x) => x.name === r.name)!, playlist: path.join(e.dir, r.name, 'index.m3u8') })));
  const values = await ssims(source, all.map((x) => ({ playlist: x.playlist, width: x.r.width, height: x.r.height })));
  const out = new Map<string, RungMeasure>();
  for (const [i, x] of all.entries()) {
    const seconds = x.r.segmentDurations.reduce((a, b) => a + b, 0) || duration;
    out.set(x.r.name, { kbps: r1((x.r.totalBytes * 8) / seconds / 1000), payloadKbps: r1(((await payloadBytes(path.join(x.e.dir, x.r.name), x.r.segmentDurations.length, x.e.packaging)) * 8) / seconds / 1000), ssim: values[i]!, crf: x.rung.crf ?? null });
  }
  return out;
}

const sumKbps = (m: Map<string, RungMeasure>, key: 'kbps' | 'payloadKbps') => r1([...m.values()].reduce((a, x) => a + x[key], 0));
const stream = (encoded: Encoded[]) => {
  const renditions = encoded.flatMap((e) => e.renditions).sort((a, b) => a.height - b.height);
  return { bandwidth: renditions.map((r) => r.bandwidth), segmentBytes: renditions.map((r) => r.segmentSizes) };
};

export async function measureSource(source: LadderSource, options: { codecs: boolean; log: (line: string) => void }): Promise<SourceReport> {
  const work = mkdtempSync(path.join(os.tmpdir(), `bench-ladder-${source.name}-`));
  try {
    const analysis = await measureChildren(() => analyze(source.file));
    const facts = analysis.value;
    const subject = (mode: LadderSubject['ladderMode'], codecs: VideoCodec[], decision: LadderDecision | null): LadderSubject => ({ width: facts.width, height: facts.height, ladderMode: mode, packaging: codecs.length > 1 ? 'cmaf' : 'ts', codecs, decision });
    const dir = (name: string) => path.join(work, name);

    // Fixed: the lowest rung (first playable), then the others from one decode. Per-title: the lowest rung at its
    // constant CRF (first playable), the probe, then the other rungs. The lowest rungs are encoded three times,
    // alternately, and the fastest wall time of each counts (the machine is shared: the least disturbed run).
    const fixedPlan = videoLadder(config, subject('fixed', ['h264'], null));
    const fixedGroups = encodeGroups(fixedPlan, true);
    const pending = subject('per-title', ['h264'], null);
    const lowest = videoLadder(config, pending)[0]!;
    const fixedLow = fixedPlan.filter((r) => fixedGroups[0]!.includes(r.name));
    const lowWalls = { fixed: [] as number[], perTitle: [] as number[] };
    let fixed0: Encoded | null = null;
    let perTitle0: Encoded | null = null;
    for (let i = 0; i < FIRST_PLAYABLE_RUNS; i++) {
      const f = await encodeGroup(source.file, facts, fixedLow, 'ts', dir(`fixed0-${i}`));
      const p = await encodeGroup(source.file, facts, [lowest], 'ts', dir(`pt0-${i}`));
      lowWalls.fixed.push(f.wall);
      lowWalls.perTitle.push(p.wall);
      fixed0 ??= f;
      perTitle0 ??= p;
    }
    const fixed: Encoded[] = [fixed0!];
    for (const [i, names] of fixedGroups.slice(1).entries()) fixed.push(await encodeGroup(source.file, facts, fixedPlan.filter((r) => names.includes(r.name)), 'ts', dir(`fixed${i + 1}`)));
    options.log(`${source.name}: fixed encoded (${r1(fixed.reduce((a, e) => a + e.cpu, 0))} CPU s)`);
    const perTitle: Encoded[] = [perTitle0!];
    const probe = await measureChildren(() => probeLadder(source.file, { ...probeRequest(config, pending, { key: 'bench', duration: facts.duration, frameRate: facts.frameRate }) }, dir('probe')));
    const decision = decideLadder(config, pending, probe.value);
    const decided = videoLadder(config, { ...pending, decision });
    perTitle.push(await encodeGroup(source.file, facts, decided.slice(1), 'ts', dir('pt1')));
    options.log(`${source.name}: per-title encoded (probe ${r1(probe.cpu)} CPU s, ${decision.mode === 'per-title' ? `CRF ${decided.map((r) => r.crf).join('/')}` : `fixed: ${decision.reason}`})`);

    const fixedM = await rungMeasures(source.file, fixed, facts.duration);
    const perTitleM = await rungMeasures(source.file, perTitle, facts.duration);
    const report: SourceReport = {
      name: source.name,
      what: source.what,
      duration: facts.duration,
      analysis: { cpuSec: r2(analysis.cpu), wallSec: r2(analysis.wall) },
      fixed: {
        totalKbps: sumKbps(fixedM, 'kbps'),
        payloadKbps: sumKbps(fixedM, 'payloadKbps'),
        cpuSec: r2(analysis.cpu + fixed.reduce((a, e) => a + e.cpu, 0)),
        encodeCpuSec: r2(fixed.reduce((a, e) => a + e.cpu, 0)),
        firstPlayableSec: r2(analysis.wall + Math.min(...lowWalls.fixed)),
        lowestRungCpuSec: r2(fixed[0]!.cpu),
      },
      perTitle: {
        totalKbps: sumKbps(perTitleM, 'kbps'),
        payloadKbps: sumKbps(perTitleM, 'payloadKbps'),
        cpuSec: r2(analysis.cpu + probe.cpu + perTitle.reduce((a, e) => a + e.cpu, 0)),
        encodeCpuSec: r2(perTitle.reduce((a, e) => a + e.cpu, 0)),
        probeCpuSec: r2(probe.cpu),
        probeWallSec: r2(probe.wall),
        firstPlayableSec: r2(analysis.wall + Math.min(...lowWalls.perTitle)),
        lowestRungCpuSec: r2(perTitle[0]!.cpu),
        crf: decided.map((r) => r.crf ?? -1),
        decision,
      },
      codecs: {},
      rungs: fixedPlan.map((r) => ({ name: r.name, width: r.width, height: r.height, fixed: fixedM.get(r.name)!, perTitle: perTitleM.get(r.name)! })),
      streams: { fixed: stream(fixed), perTitle: stream(perTitle) },
    };

    if (options.codecs) {
      // HEVC and AV1: CRFs from the probe's search for the per-title H.264 SSIM, each codec one group (one decode).
      const withCodecs = subject('per-title', ['h264', 'hevc', 'av1'], null);
      const codecProbe = await measureChildren(() => probeLadder(source.file, { ...probeRequest(config, withCodecs, { key: 'bench', duration: facts.duration, frameRate: facts.frameRate }) }, dir('probe-codecs')));
      const codecDecision = decideLadder(config, withCodecs, codecProbe.value);
      const plan = videoLadder(config, { ...withCodecs, decision: codecDecision });
      report.codecs.probeCpuSec = r2(codecProbe.cpu);
      report.codecs.decision = codecDecision;
      for (const codec of ['hevc', 'av1'] as const) {
        const rungs = plan.filter((r) => r.codec === codec);
        const encoded = await encodeGroup(source.file, facts, rungs, 'cmaf', dir(codec));
        const m = await rungMeasures(source.file, [encoded], facts.duration);
        report.codecs[codec] = { totalKbps: sumKbps(m, 'kbps'), payloadKbps: sumKbps(m, 'payloadKbps'), cpuSec: r2(encoded.cpu), crf: rungs.map((r) => r.crf ?? -1) };
        for (const row of report.rungs) row[codec] = m.get(`${row.name}-${codec}`);
        options.log(`${source.name}: ${codec} encoded (${r1(encoded.cpu)} CPU s, CRF ${rungs.map((r) => r.crf).join('/')})`);
      }
    }
    return report;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

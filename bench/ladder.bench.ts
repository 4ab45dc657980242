/**
 * `npm run bench -- ladder`: per-title ladders against the fixed ladder, and HEVC/AV1 rungs against H.264, on six
 * generated 1080p sources of very different complexity (bench/ladder-sources.ts), through the transcoder's own
 * modules as the server runs them (analysis, the complexity probe, chunk encodes; each source is one chunk).
 *
 * Per source and rung: kb/s (the segments' bytes, what egress costs; and the video payload alone) and SSIM against
 * the source scaled to the rung's size (the method of bench/transcode.bench.ts), for
 *   fixed       — today's ladder (MPEG-TS), the production design's bitrates;
 *   per-title   — capped CRF: the lowest rung at its constant CRF, the others at the probe's choice (MPEG-TS);
 *   hevc, av1   — the same rungs in those codecs (CMAF), CRFs from the probe's search for the per-title SSIM.
 * CPU seconds of every step (ffmpeg children of this process); first playable = analysis + the lowest rung's encode
 * (the fastest of three runs, fixed and per-title alternating: the machine is shared), the probe not included (in the
 * platform it runs beside the lowest rung, on its own instance).
 * Then the ABR simulator (abr/lab) plays every trace of ../shared/traces with the platform controller over each
 * source's fixed and per-title ladder (the measured BANDWIDTH per rung, the real segment sizes): stalls, startup,
 * and the resolution it played (bench/ladder-abr.ts).
 *
 * Targets: median per-title/fixed bits ≤ 0.7 with no rung's SSIM more than 0.005 below fixed's; AV1 ≤ 0.65× and HEVC
 * ≤ 0.8× of per-title H.264 bits (payload, median) at SSIM within ±0.002; per-title CPU ≤ 1.3× fixed; first
 * playable within ±10 %.
 *
 * Env: BENCH_LADDER_SEC (source length, default 24), BENCH_LADDER_DIR (source cache, default $TMPDIR/bench-ladder),
 * BENCH_LADDER_SOURCES (comma-separated subset), BENCH_LADDER_CODECS=0 (skip HEVC/AV1), BENCH_LADDER_ABR=0 (skip the
 * simulator), X264_PRESET, HEVC_PRESET and AV1_CPU_USED (the platform's defaults otherwise). Numbers depend on the machine's load;
 * the JSON records the load average.
 */
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './run';
import { ladderSources, SOURCE_NAMES } from './ladder-sources';
import { measureSource, type SourceReport } from './ladder-measure';
import { abrComparison } from './ladder-abr';

const SECONDS = Number(process.env.BENCH_LADDER_SEC ?? 24);
const DIR = process.env.BENCH_LADDER_DIR ?? path.join(os.tmpdir(), 'bench-ladder');
const ONLY = (process.env.BENCH_LADDER_SOURCES ?? '').split(',').filter(Boolean);
const CODECS = process.env.BENCH_LADDER_CODECS !== '0';
const ABR = process.env.BENCH_LADDER_ABR !== '0';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const log = (line: string) => console.log(`[ladder ${new Date().toISOString().slice(11, 19)}] ${line}`);

export async function run(): Promise<BenchResult> {
  const load = os.loadavg();
  const sources = await ladderSources(DIR, SECONDS, ONLY.length ? ONLY : SOURCE_NAMES, log);
  const reports: SourceReport[] = [];
  for (const source of sources) {
    log(`${source.name}: measuring`);
    reports.push(await measureSource(source, { codecs: CODECS, log }));
  }

  const bitsRatio = reports.map((r) => r.perTitle.totalKbps / r.fixed.totalKbps);
  const worstSsimDelta = Math.min(...reports.flatMap((r) => r.rungs.map((x) => x.perTitle.ssim - x.fixed.ssim)));
  const cpuRatio = reports.reduce((a, r) => a + r.perTitle.cpuSec, 0) / reports.reduce((a, r) => a + r.fixed.cpuSec, 0);
  const firstPlayableRatios = reports.map((r) => r.perTitle.firstPlayableSec / r.fixed.firstPlayableSec);
  const codecs = CODECS
    ? (['hevc', 'av1'] as const).map((codec) => {
        const ratios = reports.map((r) => r.codecs[codec]!.payloadKbps / r.perTitle.payloadKbps);
        const deltas = reports.flatMap((r) => r.rungs.map((x) => x[codec]!.ssim - x.perTitle.ssim));
        return { codec, medianPayloadRatio: r3(median(ratios)), ratios: ratios.map(r3), ssimDeltaMin: r3(Math.min(...deltas)), ssimDeltaMax: r3(Math.max(...deltas)), cpuRatio: r3(reports.reduce((a, r) => a + r.codecs[codec]!.cpuSec, 0) / reports.reduce((a, r) => a + r.perTitle.encodeCpuSec, 0)) };
      })
    : [];
  const abr = ABR ? abrComparison(reports, path.resolve(import.meta.dirname, '../../shared/traces'), log) : null;

  const targets = {
    bits: median(bitsRatio) <= 0.7,
    ssim: worstSsimDelta >= -0.005,
    cpu: cpuRatio <= 1.3,
    firstPlayable: firstPlayableRatios.every((x) => Math.abs(x - 1) <= 0.1),
    hevc: codecs.length === 0 || (codecs[0]!.medianPayloadRatio <= 0.8 && codecs[0]!.ssimDeltaMin >= -0.002),
    av1: codecs.length === 0 || (codecs[1]!.medianPayloadRatio <= 0.65 && codecs[1]!.ssimDeltaMin >= -0.002),
  };
  const f = (n: number, d = 1) => n.toFixed(d);
  const summary = [
    `${reports.length} sources of ${SECONDS} s at 1920x1080; ${os.cpus().length} cores, load ${load.map((l) => f(l, 2)).join(' ')} at start (machine-dependent CPU and wall; compare ratios)`,
    ...reports.map(
      (r) =>
        `${r.name.padEnd(13)} fixed ${f(r.fixed.totalKbps, 0)} kb/s → per-title ${f(r.perTitle.totalKbps, 0)} (${f(r.perTitle.totalKbps / r.fixed.totalKbps, 2)}×; CRF ${r.perTitle.crf.join('/')})` +
        ` worst ΔSSIM ${f(Math.min(...r.rungs.map((x) => x.perTitle.ssim - x.fixed.ssim)), 4)}; CPU ${f(r.fixed.cpuSec)} → ${f(r.perTitle.cpuSec)} s; first playable ${f(r.fixed.firstPlayableSec)} → ${f(r.perTitle.firstPlayableSec)} s` +
        (r.codecs.hevc && r.codecs.av1 ? `; payload h264 ${f(r.perTitle.payloadKbps, 0)}, hevc ${f(r.codecs.hevc.payloadKbps, 0)}, av1 ${f(r.codecs.av1.payloadKbps, 0)} kb/s` : ''),
    ),
    `per-title/fixed bits: median ${f(median(bitsRatio), 3)} (target ≤ 0.7: ${targets.bits ? 'met' : 'NOT met'}); worst rung ΔSSIM ${f(worstSsimDelta, 4)} (target ≥ −0.005: ${targets.ssim ? 'met' : 'NOT met'})`,
    `encode CPU per-title/fixed ${f(cpuRatio, 3)} (target ≤ 1.3: ${targets.cpu ? 'met' : 'NOT met'}); first playable per-title/fixed ${firstPlayableRatios.map((x) => f(x, 2)).join(', ')} (target ±10 %: ${targets.firstPlayable ? 'met' : 'NOT met'})`,
    ...codecs.map((c) => `${c.codec}: payload ${f(c.medianPayloadRatio, 3)}× of per-title H.264 (median), ΔSSIM ${c.ssimDeltaMin}…${c.ssimDeltaMax}, encode CPU ${c.cpuRatio}× of per-title H.264`),
    ...(abr ? abr.summary : []),
  ];
  return {
    targetMet: Object.values(targets).every(Boolean),
    summary,
    data: {
      machineDependent: true,
      cores: os.cpus().length,
      loadAtStart: load,
      loadAtEnd: os.loadavg(),
      sourceSeconds: SECONDS,
      targets,
      medians: { perTitleOverFixedBits: r3(median(bitsRatio)), worstSsimDelta: r3(worstSsimDelta) },
      perTitleOverFixedCpu: r3(cpuRatio),
      firstPlayableRatios: firstPlayableRatios.map(r3),
      codecs,
      abr: abr?.data ?? null,
      sources: reports,
    },
  };
}

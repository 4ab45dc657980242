/**
 * The complexity probe of per-title ladders: how many bits this source needs for the picture the fixed ladder gives.
 *
 * 1. A sample: `windows.count` windows of `windows.seconds`, spread evenly over the source, decoded once (each input
 *    starts at the keyframe before its window: no frame is decoded only to be thrown away), scaled to every probed
 *    rung and kept uncompressed (a few hundred MB at most).
 * 2. Per rung, the sample encoded with the fixed ladder's rate control (the reference), then with capped CRFs: a
 *    binary search for the largest CRF whose SSIM against the sample is at most `maxSsimLoss` below the reference's
 *    (SSIM falls as CRF rises). Encoder settings are the ladder's own (encoders.ts), so the probe measures what the
 *    chunks will produce.
 * 3. Per extra codec, the same search for the largest CRF within `ssimTolerance` of the chosen H.264 encode's SSIM.
 *    A rung may take its H.264 CRF from an earlier one (`h264CrfOf`): it is measured there, and only the codecs are
 *    searched.
 *
 * A sample that does not decode cleanly is an `InputError`: the Worker then falls back to the fixed ladder and
 * records why (the chunks themselves may still encode: ffmpeg conceals damaged frames).
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, looksLikeInputProblem, stderrTail } from './errors';
import { videoEncoderArgs, type EncoderSettings } from './encoders';
import { run } from './process';
import type { CrfSearch, LadderProbeRequest, LadderProbeResult, ProbeChoice, ProbeRung, ProbeTrial, VideoCodec } from './protocol';

export interface ProbeHooks {
  inputOptions?: string[];
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/** Decoder complaints that mean the sample is damaged (ffmpeg exits 0 after concealing them). */
const DAMAGED = /error while decoding|Invalid NAL|concealing|corrupt|Invalid data found|missing picture|non-existing PPS|decode_slice_header error|no frame!/i;

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const secs = (x: number) => String(round(x, 6));

/** Window start times: `count` windows centred on equal parts of the source, clamped into it. */
export function windowStarts(duration: number, count: number, seconds: number): { starts: number[]; seconds: number } {
  const n = Math.max(1, Math.floor(count));
  const w = Math.max(0.1, Math.min(seconds, duration / n));
  const starts = Array.from({ length: n }, (_, i) => round(Math.max(0, Math.min(duration - w, ((i + 0.5) * duration) / n - w / 2)), 3));
  return { starts, seconds: round(w, 3) };
}

/**
 * Largest integer CRF in [min, max] that passes, assuming passing is monotone (a lower CRF, a better picture); null
 * when even `min` fails. `score(crf)` says whether it passes and by how much (SSIM − target). The search starts at
 * `start`, steps by `step` until a passing and a failing CRF bracket the answer, then narrows the bracket by
 * interpolating the scores (SSIM falls smoothly with CRF): three to five encodes where a bisection of the whole
 * range takes six or seven.
 */
export async function largestPassing(search: { minCrf: number; maxCrf: number; startCrf: number; step: number }, score: (crf: number) => Promise<number>): Promise<number | null> {
  const { minCrf: min, maxCrf: max } = search;
  const step = Math.max(1, Math.round(search.step));
  let lo: { crf: number; s: number } | null = null; // passes (s ≥ 0)
  let hi: { crf: number; s: number } | null = null; // fails (s < 0)
  let c = Math.min(max, Math.max(min, Math.round(search.startCrf)));
  for (;;) {
    const s = await score(c);
    if (s >= 0) {
      lo = { crf: c, s };
      if (c === max || hi) break;
      c = Math.min(max, c + step);
    } else {
      hi = { crf: c, s };
      if (c === min || lo) break;
      c = Math.max(min, c - step);
    }
    if (lo && hi) break;
  }
  if (!lo) return null;
  if (!hi) return lo.crf;
  while (hi.crf - lo.crf > 1) {
    const t = lo.s / (lo.s - hi.s);
    const guess = Math.min(hi.crf - 1, Math.max(lo.crf + 1, Math.floor(lo.crf + t * (hi.crf - lo.crf))));
    const s = await score(guess);
    if (s >= 0) lo = { crf: guess, s };
    else hi = { crf: guess, s };
  }
  return lo.crf;
}

class Probe {
  cpuSec = 0;
  private done = 0;

  constructor(
    private readonly req: LadderProbeRequest,
    private readonly dir: string,
    private readonly sampleSec: number,
    private readonly hooks: ProbeHooks,
    private readonly expectedEncodes: number,
  ) {}

  private async ffmpeg(args: string[], what: string): Promise<string> {
    const r = await run('ffmpeg', ['-hide_banner', '-nostdin', '-y', ...args], { signal: this.hooks.signal, stderrLimit: 16_000 });
    this.cpuSec += r.sched?.cpuSec ?? 0;
    if (this.hooks.signal?.aborted) throw new Error('probe aborted');
    if (r.code !== 0) throw new Error(`${what} failed (${r.signal ?? r.code}): ${stderrTail(r.stderr)}`);
    return r.stderr;
  }

  /** One encode of rung `index`'s sample, measured: size per second and SSIM against the sample. */
  async trial(index: number, rung: ProbeRung, codec: VideoCodec, crf: number | null, rateFactor = 1): Promise<ProbeTrial> {
    const ref = path.join(this.dir, `sample_${index}.nut`);
    const out = path.join(this.dir, `trial_${index}_${codec}_${crf ?? 'fixed'}.mp4`);
    const scaled = { bitrate: Math.round(rung.bitrate * rateFactor), maxrate: Math.round(rung.maxrate * rateFactor), bufsize: Math.round(rung.bufsize * rateFactor) };
    const settings: EncoderSettings = { x264Preset: this.req.x264Preset, hevcPreset: this.req.hevcPreset, av1CpuUsed: this.req.av1CpuUsed };
    const d = this.req.segmentDurationSec;
    const keyframes = Array.from({ length: Math.max(1, Math.ceil(this.sampleSec / d)) }, (_, k) => secs(k * d)).join(',');
    const gop = Math.max(1, Math.round(Math.min(this.req.sourceFrameRate, this.req.maxFrameRate) * d * 2));
    const encoder = videoEncoderArgs({ codec, ...scaled, crf: crf ?? undefined }, settings, { gop, keyframes });
    await this.ffmpeg(['-v', 'error', '-i', ref, '-map', '0:v:0', '-an', ...encoder, '-f', 'mp4', out], `probe encode (${codec} ${crf ?? 'fixed'})`);
    const bytes = (await stat(out)).size;
    const log = await this.ffmpeg(['-v', 'info', '-i', out, '-i', ref, '-lavfi', '[0:v]setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]ssim', '-f', 'null', '-'], 'probe SSIM');
    const m = /SSIM .*All:([\d.]+)/.exec(log);
    if (!m) throw new Error(`no SSIM in ffmpeg's output: ${stderrTail(log)}`);
    this.done++;
    this.hooks.onProgress?.(Math.min(0.99, 0.2 + (0.8 * this.done) / Math.max(1, this.expectedEncodes)));
    return { crf, kbps: round((bytes * 8) / this.sampleSec / 1000, 1), ssim: round(Number(m[1]), 6) };
  }

  async search(index: number, rung: ProbeRung, codec: VideoCodec, search: CrfSearch, target: number, rateFactor = 1): Promise<ProbeChoice> {
    const trials: ProbeTrial[] = [];
    const crf = await largestPassing(search, async (c) => {
      const t = await this.trial(index, rung, codec, c, rateFactor);
      trials.push(t);
      return t.ssim - target;
    });
    return { codec, crf, trials: trials.sort((a, b) => (a.crf ?? 0) - (b.crf ?? 0)) };
  }
}

/** Decodes the windows once and writes the uncompressed sample of every probed rung; returns its frame count. */
async function sample(source: string, req: LadderProbeRequest, dir: string, starts: number[], seconds: number, hooks: ProbeHooks): Promise<{ frames: number; cpuSec: number }> {
  const inputs = starts.flatMap((s) => [...(hooks.inputOptions ?? []), '-ss', secs(s), '-t', secs(seconds), '-i', source]);
  const fps = req.sourceFrameRate > req.maxFrameRate ? `fps=${req.maxFrameRate},` : '';
  const n = req.rungs.length;
  const graph = [
    `${starts.map((_, i) => `[${i}:v:0]`).join('')}concat=n=${starts.length}:v=1:a=0,${fps}format=yuv420p,split=${n}${req.rungs.map((_, i) => `[s${i}]`).join('')}`,
    ...req.rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1[o${i}]`),
  ].join(';');
  const outputs = req.rungs.flatMap((_, i) => ['-map', `[o${i}]`, '-c:v', 'rawvideo', '-f', 'nut', path.join(dir, `sample_${i}.nut`)]);
  const r = await run('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-stats_period', '1', '-progress', 'pipe:1', ...inputs, '-filter_complex', graph, ...outputs], {
    signal: hooks.signal,
    stderrLimit: 16_000,
  });
  if (hooks.signal?.aborted) throw new Error('probe aborted');
  const frames = Math.max(0, ...[...r.stdout.matchAll(/^frame=(\d+)/gm)].map((m) => Number(m[1])));
  const why = stderrTail(r.stderr, 1) || `ffmpeg exited with ${r.signal ?? r.code}`;
  if (DAMAGED.test(r.stderr) || (r.code !== 0 && looksLikeInputProblem(r.stderr))) throw new InputError(`the sample of the source does not decode cleanly (${why})`);
  if (r.code !== 0) throw new Error(`sampling the source failed: ${why}`);
  if (frames < 2) throw new InputError(`the sample of the source has ${frames} frame(s); too few to measure`);
  return { frames, cpuSec: r.sched?.cpuSec ?? 0 };
}

export async function probeLadder(source: string, req: LadderProbeRequest, workDir: string, hooks: ProbeHooks = {}): Promise<LadderProbeResult> {
  if (req.rungs.length === 0) throw new InputError('invalid probe request: no rungs to measure');
  for (const [i, r] of req.rungs.entries()) {
    if (r.h264CrfOf !== undefined && !req.rungs.slice(0, i).some((e) => e.name === r.h264CrfOf)) {
      throw new InputError(`invalid probe request: ${r.name} takes its H.264 CRF from ${r.h264CrfOf}, which is not probed before it`);
    }
  }
  await mkdir(workDir, { recursive: true });
  const { starts, seconds } = windowStarts(req.sourceDuration, req.windows.count, req.windows.seconds);
  const sampled = await sample(source, req, workDir, starts, seconds, hooks);
  hooks.onProgress?.(0.2);
  const fps = Math.min(req.sourceFrameRate, req.maxFrameRate) || 30;
  const sampleSec = sampled.frames / fps;
  // About four encodes per search, plus the reference.
  const searches = req.rungs.reduce((n, r) => n + (r.h264Crf === undefined ? 1 : 0) + (r.codecs ? req.codecs.length : 0), 0);
  const probe = new Probe(req, workDir, sampleSec, hooks, req.rungs.length + 4 * searches);
  probe.cpuSec += sampled.cpuSec;
  const rungs: LadderProbeResult['rungs'] = [];
  for (const [i, rung] of req.rungs.entries()) {
    const fixed = await probe.trial(i, rung, 'h264', null);
    let h264: ProbeChoice;
    const inherited = rung.h264CrfOf === undefined ? undefined : rungs.find((r) => r.name === rung.h264CrfOf)?.choices.find((c) => c.codec === 'h264')?.crf;
    if (rung.h264Crf !== undefined) h264 = { codec: 'h264', crf: rung.h264Crf, given: true, trials: [await probe.trial(i, rung, 'h264', rung.h264Crf)] };
    else if (inherited === null) {
      // The rung it takes its CRF from found none in range: the Worker keeps the fixed ladder, nothing to search against.
      rungs.push({ name: rung.name, fixed, choices: [{ codec: 'h264', crf: null, given: true, trials: [] }] });
      continue;
    } else if (inherited !== undefined) h264 = { codec: 'h264', crf: inherited, given: true, trials: [await probe.trial(i, rung, 'h264', inherited)] };
    else h264 = await probe.search(i, rung, 'h264', req.h264, fixed.ssim - req.h264.maxSsimLoss);
    const chosen = h264.trials.find((t) => t.crf === h264.crf) ?? fixed;
    const choices: ProbeChoice[] = [h264];
    if (rung.codecs) for (const c of req.codecs) choices.push(await probe.search(i, rung, c.codec, c, chosen.ssim - req.ssimTolerance, c.rateFactor));
    rungs.push({ name: rung.name, fixed, choices });
  }
  return { sampleSec: round(sampleSec, 3), windowStarts: starts, rungs, cpuSec: round(probe.cpuSec, 2) };
}

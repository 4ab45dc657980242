/**
 * Which rungs a source gets, their exact output sizes, codecs and rate control.
 *
 * Business rules:
 * - Never upscale: a rung is kept when its height is at most the source's *short* side. A rung's "height" is the
 *   short side, so a 1080×1920 portrait phone video is a 1080p source and gets 1080p (1080×1920) … 240p (240×426).
 * - A source smaller than the lowest rung (e.g. 200p) still gets one playable rung: the lowest rung's name and
 *   bitrate at the source's own size.
 * - Aspect ratio is kept; both dimensions are even (4:2:0 needs even sizes).
 * - Fixed ladder: the production design's rate control, -b:v target, -maxrate 1.5×, -bufsize 2×. HEVC and AV1 rungs
 *   (CMAF only) target `codecBitrateFactor` of the H.264 rung's rates.
 * - Per-title ladder: capped CRF. Every rung keeps the fixed ladder's -maxrate/-bufsize as its cap and gets a CRF;
 *   the lowest H.264 rung a constant one (it is encoded while the probe runs) capped at its fixed bitrate (it is what
 *   the slowest networks get), every other rung the CRF the complexity probe chose (`decideLadder`). Every chunk of a
 *   video uses the same settings.
 * - Extra codecs add one rung per H.264 rung, named `{rung}-{codec}` (`720p-av1`), at the same sizes.
 */
import type { LadderMode, Packaging, VideoCodec } from '../../schema/schema';
import type { Config, Rung } from '../shared/config';
import { rungName } from '../shared/rendition-names';
import type { VideoRow } from '../metadata/serialize';
import type { LadderProbeRequest, LadderProbeResult, RungSpec } from '../../containers/transcoder/src/protocol';

/** A rung as planned here; the consumer adds its storage prefix to make the transcoder's `RungSpec` (types only). */
export type PlannedRung = Omit<RungSpec, 'outputPrefix'>;

/** How a video's rate control was decided; stored on its row (`videos.ladder`). */
export type LadderDecision =
  | {
      mode: 'per-title';
      /** CRF of every rung, by name. */
      crf: Record<string, number>;
      /** What the probe measured on its sample, per probed rung: the fixed encode and the chosen one per codec. */
      probe?: { sampleSec: number; rungs: { name: string; fixed: { kbps: number; ssim: number }; chosen: Record<string, { crf: number | null; kbps: number; ssim: number }> }[] };
    }
  | { mode: 'fixed'; reason: string | null };

/** What the ladder of one video depends on (its row). */
export interface LadderSubject {
  width: number;
  height: number;
  ladderMode: LadderMode;
  packaging: Packaging;
  codecs: VideoCodec[];
  decision: LadderDecision | null;
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);
const shortSide = (r: { width: number; height: number }) => Math.min(r.width, r.height);
/** The largest rung the probe measures (short side). */
const PROBE_MAX_SIZE = 720;
const evenFloor = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** The H.264 rungs of the fixed ladder for a source of this size. */
export function planLadder(
  ladder: readonly Rung[],
  sourceWidth: number,
  sourceHeight: number,
  factors: { maxrateFactor: number; bufsizeFactor: number } = { maxrateFactor: 1.5, bufsizeFactor: 2 },
): PlannedRung[] {
  if (ladder.length === 0 || sourceWidth <= 0 || sourceHeight <= 0) return [];
  const portrait = sourceHeight > sourceWidth;
  const short = Math.min(sourceWidth, sourceHeight);
  const long = Math.max(sourceWidth, sourceHeight);
  const sorted = [...ladder].sort((a, b) => a.height - b.height);
  let chosen = sorted.filter((r) => r.height <= short);
  if (chosen.length === 0) chosen = [sorted[0]!];
  return chosen.map((r) => {
    const shortSide = Math.min(r.height, evenFloor(short));
    const longSide = Math.min(even((shortSide * long) / short), evenFloor(long));
    return {
      name: r.name,
      width: portrait ? shortSide : longSide,
      height: portrait ? longSide : shortSide,
      bitrate: r.bitrate,
      maxrate: Math.round(r.bitrate * factors.maxrateFactor),
      bufsize: Math.round(r.bitrate * factors.bufsizeFactor),
    };
  });
}


/** Whether the video's upper rungs wait for the complexity probe's decision. */
export const awaitsProbe = (s: Pick<LadderSubject, 'ladderMode' | 'decision'>): boolean => s.ladderMode === 'per-title' && s.decision === null;

/**
 * The video's whole ladder, every codec. A per-title rung whose CRF is not decided yet (the probe has not run) has
 * no `crf`: `awaitsProbe` tells the caller not to encode it.
 */
export function videoLadder(config: Config, s: LadderSubject): PlannedRung[] {
  const t = config.transcoding;
  const base = planLadder(t.ladder, s.width, s.height, t);
  const perTitle = s.ladderMode === 'per-title';
  const rungs: PlannedRung[] = [];
  for (const codec of s.codecs) {
    const factor = codec === 'h264' ? 1 : t.codecBitrateFactor[codec];
    for (const [i, r] of base.entries()) {
      const name = rungName(r.name, codec);
      const rung: PlannedRung = { ...r, name };
      if (codec !== 'h264') rung.codec = codec;
      // The lowest H.264 rung of a per-title video is encoded before the decision, so it keeps its CRF whatever
      // the decision says (every chunk of a rung must use the same settings).
      const lowest = codec === 'h264' && i === 0;
      const crf = !perTitle ? undefined : lowest ? t.perTitle.lowestRungCrf : s.decision?.mode === 'per-title' ? s.decision.crf[name] : undefined;
      if (crf !== undefined) rung.crf = crf;
      else if (factor !== 1) Object.assign(rung, { bitrate: Math.round(r.bitrate * factor), maxrate: Math.round(r.maxrate * factor), bufsize: Math.round(r.bufsize * factor) });
      // The lowest rung is what the slowest networks get: per-title, it never peaks above the fixed rung's bitrate.
      if (crf !== undefined && lowest) rung.maxrate = r.bitrate;
      rungs.push(rung);
    }
  }
  return rungs;
}

/** The encode jobs for a plan: the lowest H.264 rung alone (fast first playable), the other H.264 rungs together (one decode), then one group per extra codec. */
export function encodeGroups(plan: PlannedRung[], firstRungSeparately: boolean): string[][] {
  const groups: string[][] = [];
  for (const codec of ['h264', 'hevc', 'av1'] as const) {
    const names = plan.filter((r) => (r.codec ?? 'h264') === codec).map((r) => r.name);
    if (names.length === 0) continue;
    if (codec === 'h264' && firstRungSeparately && names.length > 1) groups.push([names[0]!], names.slice(1));
    else groups.push(names);
  }
  return groups;
}

/**
 * How the probe gets a probed rung's H.264 CRF: the lowest rung's constant one, a search, or the one searched at the
 * largest searched rung below it (what the ladder gives the rungs above that one).
 */
export type ProbedH264 = 'given' | 'searched' | 'inherited';

/**
 * The H.264 rungs the probe measures: the lowest rung above the first and the highest one up to 720p (one or two;
 * their CRFs are searched; a larger rung costs more to probe than the probe saves on a short video). With extra
 * codecs also the lowest rung (at its constant CRF) and the largest rung when it is above 720p (at the CRF searched
 * below it): the codecs' CRFs are searched against their pictures, as a codec's CRF offset from H.264 measured at a
 * small rung does not hold at 1080p for grainy sources (HEVC at H.264's CRF + 3 matched H.264's SSIM at 720p and fell
 * 0.005 short at 1080p). A one-rung ladder without extra codecs needs no probe.
 */
export function probeRungs(plan: PlannedRung[]): { rung: PlannedRung; h264: ProbedH264; codecs: boolean }[] {
  const h264 = plan.filter((r) => r.codec === undefined);
  const extra = plan.some((r) => r.codec !== undefined);
  const upper = h264.slice(1);
  const out: { rung: PlannedRung; h264: ProbedH264; codecs: boolean }[] = [];
  if (extra && h264[0]) out.push({ rung: h264[0], h264: 'given', codecs: true });
  if (upper.length > 0) out.push({ rung: upper[0]!, h264: 'searched', codecs: extra });
  const high = [...upper].reverse().find((r) => shortSide(r) <= PROBE_MAX_SIZE);
  if (high && high !== upper[0]) out.push({ rung: high, h264: 'searched', codecs: false });
  const top = upper.at(-1);
  if (extra && top && shortSide(top) > PROBE_MAX_SIZE && top !== upper[0]) out.push({ rung: top, h264: 'inherited', codecs: true });
  return out;
}

/** The complexity probe's request for a per-title video (the sample, the probed rungs, the CRF searches). */
export function probeRequest(config: Config, s: LadderSubject, source: { key: string; duration: number; frameRate: number }): Omit<LadderProbeRequest, 'callback'> {
  const t = config.transcoding;
  const p = t.perTitle;
  const probed = probeRungs(videoLadder(config, s));
  return {
    sourceKey: source.key,
    sourceDuration: source.duration,
    sourceFrameRate: source.frameRate,
    maxFrameRate: t.maxFrameRate,
    windows: { count: p.windows, seconds: p.windowSec },
    rungs: probed.map(({ rung: { name, width, height, bitrate, maxrate, bufsize }, h264, codecs }) => ({
      name, width, height, bitrate, maxrate, bufsize, codecs,
      ...(h264 === 'given' ? { h264Crf: p.lowestRungCrf } : h264 === 'inherited' ? { h264CrfOf: probed.filter((x) => x.h264 === 'searched').at(-1)!.rung.name } : {}),
    })),
    h264: p.h264,
    codecs: s.codecs.filter((c): c is 'hevc' | 'av1' => c !== 'h264').map((codec) => ({ codec, ...p[codec], rateFactor: 1 })),
    ssimTolerance: p.ssimTolerance,
    segmentDurationSec: t.segmentDurationSec,
    x264Preset: t.x264Preset,
    hevcPreset: t.hevcPreset,
    av1CpuUsed: t.av1CpuUsed,
  };
}

/**
 * The H.264 CRF of a rung from the probed ones: the probed rung's own; between two probed rungs the lower of their
 * CRFs (the better picture: the CRF that matches the fixed ladder does not vary smoothly with the size — a noisy
 * source measured CRF 25 at 360p and 24 at 720p, 30 at 1080p); above the largest probed rung, its CRF, the fixed
 * ladder's -maxrate capping what it spends.
 */
function rungCrf(probed: { size: number; crf: number }[], size: number): number {
  const sorted = [...probed].sort((a, b) => a.size - b.size);
  const exact = sorted.find((p) => p.size === size);
  if (exact) return exact.crf;
  if (size < sorted[0]!.size) return sorted[0]!.crf;
  if (size > sorted.at(-1)!.size) return sorted.at(-1)!.crf;
  const hi = sorted.findIndex((p) => p.size > size);
  return Math.min(sorted[hi - 1]!.crf, sorted[hi]!.crf);
}

/**
 * The per-title decision from the probe's measurements:
 * - H.264: the lowest rung keeps its constant CRF; the others take the searched CRFs (`rungCrf`). When no CRF in range kept a searched rung within the SSIM budget of the fixed ladder, the video
 *   keeps the fixed ladder for those rungs (and says why).
 * - HEVC/AV1: each codec's CRF offset from H.264 is measured at the rungs that searched them (the lowest, the first
 *   upper and, above 720p, the largest: the search for equal SSIM); a rung takes its H.264 CRF plus the offset
 *   measured nearest to it (the smaller rung on a tie). A search that found no CRF in range takes the range's best
 *   quality.
 */
export function decideLadder(config: Config, s: LadderSubject, probe: LadderProbeResult): LadderDecision {
  const p = config.transcoding.perTitle;
  const plan = videoLadder(config, s);
  const probed = probeRungs(plan).map((x) => ({ ...x, result: probe.rungs.find((r) => r.name === x.rung.name) }));
  const missing = probed.find((x) => !x.result);
  if (missing) return { mode: 'fixed', reason: `the probe did not measure ${missing.rung.name}` };
  const searched: { size: number; crf: number }[] = [];
  for (const x of probed.filter((x) => x.h264 === 'searched')) {
    const h264 = x.result!.choices.find((c) => c.codec === 'h264');
    if (!h264 || h264.crf === null) {
      return { mode: 'fixed', reason: `no CRF from ${p.h264.minCrf} to ${p.h264.maxCrf} kept ${x.rung.name} within ${p.h264.maxSsimLoss} SSIM of the fixed ladder on the sample` };
    }
    searched.push({ size: shortSide(x.rung), crf: h264.crf });
  }
  const h264Plan = plan.filter((r) => r.codec === undefined);
  const crf: Record<string, number> = {};
  for (const [i, r] of h264Plan.entries()) crf[r.name] = i === 0 || searched.length === 0 ? p.lowestRungCrf : rungCrf(searched, shortSide(r));
  const offsetsAt = probed.filter((x) => x.codecs);
  for (const r of plan.filter((x) => x.codec !== undefined)) {
    const codec = r.codec as 'hevc' | 'av1';
    const base = r.name.slice(0, -(codec.length + 1));
    const nearest = [...offsetsAt].sort((a, b) => Math.abs(shortSide(a.rung) - shortSide(r)) - Math.abs(shortSide(b.rung) - shortSide(r)))[0];
    const h264Choice = nearest?.result!.choices.find((c) => c.codec === 'h264');
    const choice = nearest?.result!.choices.find((c) => c.codec === codec);
    const offset = choice?.crf != null && h264Choice?.crf != null ? choice.crf - h264Choice.crf : null;
    crf[r.name] = offset === null ? p[codec].minCrf : Math.min(p[codec].maxCrf, Math.max(p[codec].minCrf, crf[base]! + offset));
  }
  const summary = probed.map(({ rung, result }) => ({
    name: rung.name,
    fixed: { kbps: result!.fixed.kbps, ssim: result!.fixed.ssim },
    chosen: Object.fromEntries(
      result!.choices.map((c) => {
        const t = c.trials.find((x) => x.crf === c.crf);
        return [c.codec, { crf: c.crf, kbps: t?.kbps ?? 0, ssim: t?.ssim ?? 0 }];
      }),
    ),
  }));
  return { mode: 'per-title', crf, probe: { sampleSec: probe.sampleSec, rungs: summary } };
}

/** The decision of a per-title video that needs no probe: a ladder of one rung (a source at or below the lowest). */
export function decisionWithoutProbe(config: Config, s: LadderSubject): LadderDecision | null {
  if (s.ladderMode !== 'per-title') return { mode: 'fixed', reason: null };
  const plan = videoLadder(config, s);
  if (probeRungs(plan).length > 0) return null;
  return { mode: 'per-title', crf: Object.fromEntries(plan.map((r) => [r.name, config.transcoding.perTitle.lowestRungCrf])) };
}

/** A video row's ladder inputs; null before analysis (no size yet). */
export function ladderSubject(video: Pick<VideoRow, 'width' | 'height' | 'ladderMode' | 'packaging' | 'codecs' | 'ladder'>): LadderSubject | null {
  if (!video.width || !video.height) return null;
  return { width: video.width, height: video.height, ladderMode: video.ladderMode, packaging: video.packaging, codecs: parseCodecs(video.codecs), decision: parseDecision(video.ladder) };
}

/** The stored codec list; H.264 alone when unreadable. */
export function parseCodecs(json: string): VideoCodec[] {
  try {
    const list = JSON.parse(json) as unknown;
    if (Array.isArray(list) && list[0] === 'h264' && list.every((c) => c === 'h264' || c === 'hevc' || c === 'av1')) return list as VideoCodec[];
  } catch {
    // fall through
  }
  return ['h264'];
}

/** Reads a stored decision; anything unreadable is "not decided". */
export function parseDecision(json: string | null): LadderDecision | null {
  if (!json) return null;
  try {
    const d = JSON.parse(json) as LadderDecision;
    if (d && d.mode === 'fixed') return { mode: 'fixed', reason: typeof d.reason === 'string' ? d.reason : null };
    if (d && d.mode === 'per-title' && d.crf && typeof d.crf === 'object') return d;
  } catch {
    // fall through
  }
  return null;
}

/**
 * The video's ladder (workers/transcoding/ladder.ts) and its two-step plan (plan.ts): the fixed ladder unchanged,
 * per-title rate control (the lowest rung's constant, capped CRF; the probe's choices; the fallback), HEVC/AV1 rungs
 * and their groups, what the probe measures, and which units wait for it.
 */
import { describe, expect, it } from 'vitest';
import { defaults, loadConfig } from '../../workers/shared/config';
import { awaitsProbe, decideLadder, encodeGroups, planLadder, probeRequest, probeRungs, videoLadder, type LadderSubject } from '../../workers/transcoding/ladder';
import { planAfterAnalysis, planAfterProbe } from '../../workers/transcoding/plan';
import { unitOf } from '../../workers/transcoding/messages';
import type { LadderProbeResult, VideoCodec } from '../../containers/transcoder/src/protocol';

const config = loadConfig({});
const subject = (over: Partial<LadderSubject> = {}): LadderSubject => ({ width: 1920, height: 1080, ladderMode: 'per-title', packaging: 'ts', codecs: ['h264'], decision: null, ...over });

/** A probe result where each probed rung's searched choice is `crf[rung][codec]` (null: nothing met the target). */
function probeResult(crf: Record<string, Partial<Record<VideoCodec, number | null>>>): LadderProbeResult {
  return {
    sampleSec: 3,
    windowStarts: [0, 3, 6],
    cpuSec: 1,
    rungs: Object.entries(crf).map(([name, codecs]) => ({
      name,
      fixed: { crf: null, kbps: 500, ssim: 0.99 },
      choices: Object.entries(codecs).map(([codec, c]) => ({ codec: codec as VideoCodec, crf: c ?? null, trials: c === null || c === undefined ? [] : [{ crf: c, kbps: 200, ssim: 0.989 }] })),
    })),
  };
}

describe('the video ladder', () => {
  it('fixed: exactly the configured ladder (bitrates, caps), no CRF, no codec field', () => {
    const fixed = videoLadder(config, subject({ ladderMode: 'fixed' }));
    expect(fixed).toEqual(planLadder(defaults.transcoding.ladder, 1920, 1080, defaults.transcoding));
    expect(awaitsProbe(subject({ ladderMode: 'fixed' }))).toBe(false);
  });

  it('per-title before the probe: the lowest rung at its CRF, capped at its fixed bitrate; the others wait', () => {
    const pending = videoLadder(config, subject());
    expect(pending[0]).toMatchObject({ name: '240p', crf: 21, bitrate: 400_000, maxrate: 400_000, bufsize: 800_000 });
    expect(pending.slice(1).every((r) => r.crf === undefined)).toBe(true);
    expect(awaitsProbe(subject())).toBe(true);
  });

  it('extra codecs: one rung per H.264 rung, named {rung}-{codec}, each codec its own encode group', () => {
    const plan = videoLadder(config, subject({ ladderMode: 'fixed', packaging: 'cmaf', codecs: ['h264', 'hevc', 'av1'] }));
    expect(plan.map((r) => r.name)).toEqual(['240p', '360p', '480p', '720p', '1080p', '240p-hevc', '360p-hevc', '480p-hevc', '720p-hevc', '1080p-hevc', '240p-av1', '360p-av1', '480p-av1', '720p-av1', '1080p-av1']);
    // Fixed: their target bitrates are the configured fraction of H.264's.
    expect(plan.find((r) => r.name === '720p-av1')).toMatchObject({ codec: 'av1', width: 1280, height: 720, bitrate: 1_800_000, maxrate: 2_700_000 });
    expect(encodeGroups(plan, true)).toEqual([['240p'], ['360p', '480p', '720p', '1080p'], ['240p-hevc', '360p-hevc', '480p-hevc', '720p-hevc', '1080p-hevc'], ['240p-av1', '360p-av1', '480p-av1', '720p-av1', '1080p-av1']]);
  });

  it('the probe measures the first upper rung and the largest up to 720p; for extra codecs the lowest and, above 720p, the largest', () => {
    const names = (s: LadderSubject) => probeRungs(videoLadder(config, s)).map((p) => `${p.rung.name}${p.h264 === 'searched' ? '' : `(${p.h264})`}${p.codecs ? '+codecs' : ''}`);
    expect(names(subject())).toEqual(['360p', '720p']);
    expect(names(subject({ codecs: ['h264', 'av1'] }))).toEqual(['240p(given)+codecs', '360p+codecs', '720p', '1080p(inherited)+codecs']);
    expect(names(subject({ width: 1280, height: 720, codecs: ['h264', 'av1'] }))).toEqual(['240p(given)+codecs', '360p+codecs', '720p']);
    expect(names(subject({ width: 640, height: 360 }))).toEqual(['360p']);
    expect(names(subject({ width: 426, height: 240 }))).toEqual([]);
    expect(names(subject({ width: 426, height: 240, codecs: ['h264', 'hevc'] }))).toEqual(['240p(given)+codecs']);
    const req = probeRequest(config, subject({ codecs: ['h264', 'av1'] }), { key: 'originals/v/original', duration: 30, frameRate: 30 });
    expect(req.rungs[0]).toMatchObject({ name: '240p', h264Crf: 21, codecs: true });
    // 1080p is measured at the CRF searched at 720p (what the ladder gives it), so AV1 is searched against that picture.
    expect(req.rungs[3]).toMatchObject({ name: '1080p', h264CrfOf: '720p', codecs: true });
    expect(req.rungs[3]!.h264Crf).toBeUndefined();
    expect(req.rungs.slice(0, 3).every((r) => r.h264CrfOf === undefined)).toBe(true);
    expect(req.codecs).toEqual([{ codec: 'av1', ...defaults.transcoding.perTitle.av1, rateFactor: 1 }]);
  });
});

describe('the per-title decision', () => {
  it('takes each probed rung its CRF, the lower of two around an unprobed rung, the largest probed above it', () => {
    const d = decideLadder(config, subject(), probeResult({ '360p': { h264: 20 }, '720p': { h264: 24 } }));
    expect(d).toMatchObject({ mode: 'per-title', crf: { '240p': 21, '360p': 20, '480p': 20, '720p': 24, '1080p': 24 } });
    const plan = videoLadder(config, subject({ decision: d }));
    expect(plan.map((r) => r.crf)).toEqual([21, 20, 20, 24, 24]);
    // The fixed ladder's -maxrate/-bufsize stay as the caps of the upper rungs.
    expect(plan[4]).toMatchObject({ maxrate: 9_000_000, bufsize: 12_000_000 });
  });

  it('extra codecs: H.264 CRF plus the offset measured at the nearest rung that searched them (the smaller on a tie)', () => {
    const s = subject({ packaging: 'cmaf', codecs: ['h264', 'av1'] });
    const d = decideLadder(config, s, probeResult({ '240p': { h264: 21, av1: 40 }, '360p': { h264: 20, av1: 44 }, '720p': { h264: 24 }, '1080p': { h264: 24, av1: 41 } }));
    // 720p is as far from 360p as from 1080p: 360p's offset (+24); 1080p its own (+17).
    expect(d).toMatchObject({ mode: 'per-title', crf: { '1080p': 24, '240p-av1': 40, '360p-av1': 44, '480p-av1': 44, '720p-av1': 48, '1080p-av1': 41 } });
  });

  it('a 1080p rung the probe could not measure against (its CRF source found none) leaves the reason of the search that failed', () => {
    const s = subject({ packaging: 'cmaf', codecs: ['h264', 'av1'] });
    const d = decideLadder(config, s, probeResult({ '240p': { h264: 21, av1: 40 }, '360p': { h264: 20, av1: 44 }, '720p': { h264: null }, '1080p': { h264: null } }));
    expect(d).toEqual({ mode: 'fixed', reason: 'no CRF from 16 to 32 kept 720p within 0.002 SSIM of the fixed ladder on the sample' });
  });

  it('keeps the fixed ladder, with the reason, when no CRF in range matched the fixed picture; the lowest rung keeps its CRF', () => {
    const d = decideLadder(config, subject(), probeResult({ '360p': { h264: 22 }, '720p': { h264: null } }));
    expect(d).toEqual({ mode: 'fixed', reason: 'no CRF from 16 to 32 kept 720p within 0.002 SSIM of the fixed ladder on the sample' });
    const plan = videoLadder(config, subject({ decision: d }));
    expect(plan[0]).toMatchObject({ crf: 21 });
    expect(plan.slice(1)).toEqual(planLadder(defaults.transcoding.ladder, 1920, 1080, defaults.transcoding).slice(1));
  });
});

describe('the plan in two steps', () => {
  it('fixed: every encode unit after analysis, no probe', () => {
    const { units, decision } = planAfterAnalysis(config, 'vid_1', subject({ ladderMode: 'fixed', width: 1280, height: 720 }), 100);
    expect(decision).toEqual({ mode: 'fixed', reason: null });
    expect(units.map((u) => unitOf(u.message))).toEqual(['audio', 'encode:240p@0', 'encode:240p@1', 'encode:360p+480p+720p@0', 'encode:360p+480p+720p@1', 'thumbnails']);
  });

  it('per-title: the lowest rung and the probe first; the other groups after the probe, over the same chunk ranges', () => {
    const s = subject({ width: 1280, height: 720, packaging: 'cmaf', codecs: ['h264', 'av1'] });
    const first = planAfterAnalysis(config, 'vid_1', s, 100);
    expect(first.decision).toBeNull();
    expect(first.units.map((u) => unitOf(u.message))).toEqual(['audio', 'encode:240p@0', 'encode:240p@1', 'ladder', 'thumbnails']);
    const rows = first.units.map((u) => ({ unit: unitOf(u.message), rangeStart: u.range?.start ?? null, rangeEnd: u.range?.end ?? null }));
    const decided = { ...s, decision: decideLadder(config, s, probeResult({ '240p': { h264: 21, av1: 38 }, '360p': { h264: 23, av1: 40 }, '720p': { h264: 25 } })) };
    const after = planAfterProbe(config, 'vid_1', decided, rows);
    expect(after.map((u) => [unitOf(u.message), u.range])).toEqual([
      ['encode:360p+480p+720p@0', { start: 0, end: 60 }],
      ['encode:360p+480p+720p@1', { start: 60, end: null }],
      ['encode:240p-av1+360p-av1+480p-av1+720p-av1@0', { start: 0, end: 60 }],
      ['encode:240p-av1+360p-av1+480p-av1+720p-av1@1', { start: 60, end: null }],
    ]);
  });

  it('per-title for a one-rung source: decided without a probe', () => {
    const { units, decision } = planAfterAnalysis(config, 'vid_1', subject({ width: 320, height: 180 }), 10);
    expect(decision).toEqual({ mode: 'per-title', crf: { '240p': 21 } });
    expect(units.map((u) => unitOf(u.message))).toEqual(['audio', 'encode:240p@0', 'thumbnails']);
  });
});

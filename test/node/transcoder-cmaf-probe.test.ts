/**
 * The transcoder's CMAF output and its complexity probe, with real ffmpeg on small generated sources: chunks of H.264,
 * HEVC and AV1 rungs as fragmented MP4 (one init segment, byte-identical in every chunk; fragments on one timeline;
 * keyframes at the segment times; CODECS read from the init segment), the probe's CRF search and its refusal of a
 * damaged sample, and the pure pieces (the search, the windows, the codec records).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRungs } from '../../containers/transcoder/src/pipeline';
import { largestPassing, probeLadder, windowStarts } from '../../containers/transcoder/src/complexity';
import { av1CodecFromAv1C, hevcCodecFromHvcC } from '../../containers/transcoder/src/codec-strings';
import { InputError } from '../../containers/transcoder/src/errors';
import type { EncodeRequest, LadderProbeRequest, RungSpec } from '../../containers/transcoder/src/protocol';
import { makeSource } from '../helpers/transcoding-media';

let dir: string;
let source: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cmaf-probe-'));
  source = await makeSource(path.join(dir, 'src.mp4'), { width: 320, height: 180, seconds: 8, audio: false });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rung = (name: string, codec: RungSpec['codec'], crf: number): RungSpec => ({ name, codec, width: 320, height: 180, bitrate: 300_000, maxrate: 450_000, bufsize: 600_000, crf, outputPrefix: `x/${name}/` });

describe('CMAF chunks of H.264, HEVC and AV1 rungs', () => {
  it('one init segment per rung in every chunk, fragments on one timeline, keyframes at the segment times, CODECS from the init', async () => {
    const rungs = [rung('180p', undefined, 23), rung('180p-hevc', 'hevc', 28), rung('180p-av1', 'av1', 40)];
    const uploaded: Record<string, Buffer> = {};
    const results = [];
    for (const chunk of [{ index: 0, startSec: 0, endSec: 4, firstSegment: 0 }, { index: 1, startSec: 4, endSec: null, firstSegment: 2 }]) {
      const req: EncodeRequest = { sourceKey: 'x', rungs, chunk, segmentDurationSec: 2, packaging: 'cmaf', x264Preset: 'ultrafast', sourceDuration: 8, sourceFrameRate: 30, maxFrameRate: 60 };
      const work = path.join(dir, `chunk${chunk.index}`);
      results.push(await encodeRungs(source, req, work, { upload: async (r, file, name) => void (uploaded[`${r.name}/${name}`] = readFileSync(file)) }));
    }
    const [first, second] = results;
    for (const [i, r] of first!.renditions.entries()) {
      // Every chunk measured the same init segment.
      expect(r.initSha256, r.name).toMatch(/^[0-9a-f]{64}$/);
      expect(second!.renditions[i]!.initSha256, r.name).toBe(r.initSha256);
      expect(r.segmentDurations.concat(second!.renditions[i]!.segmentDurations), r.name).toEqual([2, 2, 2, 2]);
    }
    expect(first!.renditions.map((r) => r.codecs.split('.')[0])).toEqual(['avc1', 'hvc1', 'av01']);
    expect(first!.renditions[1]!.codecs).toMatch(/^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2})*$/);
    expect(first!.renditions[2]!.codecs).toMatch(/^av01\.0\.\d{2}M\.08$/);
    for (const r of rungs) {
      const names = Object.keys(uploaded).filter((k) => k.startsWith(`${r.name}/segment_`)).sort();
      expect(names, r.name).toEqual([0, 1, 2, 3].map((n) => `${r.name}/segment_000${n}.m4s`));
      const joined = path.join(dir, `${r.name}.mp4`);
      writeFileSync(joined, Buffer.concat([uploaded[`${r.name}/init.mp4`]!, ...names.map((n) => uploaded[n]!)]));
      const frames = (JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time,key_frame', '-of', 'json', joined], { encoding: 'utf8' })) as { frames: { pts_time: string; key_frame: number }[] }).frames;
      // 240 frames 1/30 s apart across the chunk edge; keyframes exactly at 0, 2, 4, 6 s after the first frame.
      expect(frames, r.name).toHaveLength(240);
      const t0 = Number(frames[0]!.pts_time);
      const steps = frames.slice(1).map((f, k) => Number(f.pts_time) - Number(frames[k]!.pts_time));
      expect(Math.max(...steps), r.name).toBeLessThan(1 / 30 + 0.002);
      expect(frames.filter((f) => f.key_frame === 1).map((f) => Math.round((Number(f.pts_time) - t0) * 1000) / 1000), r.name).toEqual([0, 2, 4, 6]);
    }
  }, 300_000);
});

describe('the complexity probe', () => {
  const request = (sourceDuration: number): LadderProbeRequest => ({
    sourceKey: 'x', sourceDuration, sourceFrameRate: 30, maxFrameRate: 60, windows: { count: 3, seconds: 1 },
    rungs: [{ name: '180p', width: 320, height: 180, bitrate: 300_000, maxrate: 450_000, bufsize: 600_000, codecs: true }],
    h264: { minCrf: 16, maxCrf: 32, startCrf: 24, step: 4, maxSsimLoss: 0.002 },
    codecs: [{ codec: 'hevc', minCrf: 18, maxCrf: 40, startCrf: 28, step: 4, rateFactor: 1 }],
    ssimTolerance: 0.001, segmentDurationSec: 6, x264Preset: 'ultrafast',
  });

  it('finds the largest H.264 CRF within the SSIM budget of the fixed encode, then the HEVC CRF matching its picture', async () => {
    const result = await probeLadder(source, request(8), path.join(dir, 'probe'));
    expect(result.windowStarts).toEqual([0.833, 3.5, 6.167]);
    expect(result.sampleSec).toBeCloseTo(3, 1);
    const [r] = result.rungs;
    const h264 = r!.choices.find((c) => c.codec === 'h264')!;
    const chosen = h264.trials.find((t) => t.crf === h264.crf)!;
    expect(chosen.ssim).toBeGreaterThanOrEqual(r!.fixed.ssim - 0.002);
    // One CRF more fails the budget (or the range ends there).
    const next = h264.trials.find((t) => t.crf === h264.crf! + 1);
    if (h264.crf! < 32) expect(next!.ssim).toBeLessThan(r!.fixed.ssim - 0.002);
    expect(h264.trials.length).toBeLessThanOrEqual(6);
    const hevc = r!.choices.find((c) => c.codec === 'hevc')!;
    expect(hevc.trials.find((t) => t.crf === hevc.crf)!.ssim).toBeGreaterThanOrEqual(chosen.ssim - 0.001);
  }, 300_000);

  it('a rung that takes its H.264 CRF from an earlier one is measured at that CRF, and only its codecs are searched', async () => {
    const req = request(8);
    const base = req.rungs[0]!;
    req.rungs = [{ ...base, codecs: false }, { ...base, name: 'top', width: 256, height: 144, codecs: true, h264CrfOf: '180p' }];
    const result = await probeLadder(source, req, path.join(dir, 'probe-inherited'));
    const searched = result.rungs[0]!.choices.find((c) => c.codec === 'h264')!;
    expect(result.rungs[0]!.choices.map((c) => c.codec)).toEqual(['h264']);
    const top = result.rungs[1]!;
    expect(top.name).toBe('top');
    const h264 = top.choices.find((c) => c.codec === 'h264')!;
    expect(h264).toMatchObject({ crf: searched.crf, given: true });
    expect(h264.trials.map((t) => t.crf)).toEqual([searched.crf]);
    const hevc = top.choices.find((c) => c.codec === 'hevc')!;
    expect(hevc.crf).not.toBeNull();
    expect(hevc.trials.find((t) => t.crf === hevc.crf)!.ssim).toBeGreaterThanOrEqual(h264.trials[0]!.ssim - req.ssimTolerance);
  }, 300_000);

  it('refuses a rung that takes its CRF from a rung not probed before it, before decoding anything', async () => {
    const req = request(8);
    req.rungs = [{ ...req.rungs[0]!, h264CrfOf: '720p' }];
    const failure = await probeLadder(source, req, path.join(dir, 'probe-bad-ref')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toBe('invalid probe request: 180p takes its H.264 CRF from 720p, which is not probed before it');
  });

  it('refuses a sample that does not decode cleanly (an InputError: the Worker keeps the fixed ladder)', async () => {
    const b = Buffer.from(readFileSync(source));
    let seed = 5;
    for (let k = Math.floor(b.length * 0.3); k < Math.floor(b.length * 0.7); k++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      if (seed % 2 === 0) b[k] = seed % 256;
    }
    const damaged = path.join(dir, 'damaged.mp4');
    writeFileSync(damaged, b);
    const failure = await probeLadder(damaged, request(8), path.join(dir, 'probe-damaged')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toMatch(/^the sample of the source does not decode cleanly/);
  }, 120_000);

  it('searches from the start CRF, brackets, then narrows: few encodes for any answer', async () => {
    for (const answer of [16, 19, 24, 27, 31, 32]) {
      const tried: number[] = [];
      const found = await largestPassing({ minCrf: 16, maxCrf: 32, startCrf: 24, step: 4 }, async (c) => {
        tried.push(c);
        return answer - c + 0.5; // SSIM falls smoothly with CRF; passes up to `answer`
      });
      expect(found, `answer ${answer}`).toBe(answer);
      expect(tried.length, `answer ${answer}: ${tried.join(',')}`).toBeLessThanOrEqual(5);
    }
    expect(await largestPassing({ minCrf: 16, maxCrf: 32, startCrf: 24, step: 4 }, async () => -1)).toBeNull();
  });

  it('spreads its windows over the source, and fits them into a short one', () => {
    expect(windowStarts(60, 3, 1)).toEqual({ starts: [9.5, 29.5, 49.5], seconds: 1 });
    expect(windowStarts(1.5, 3, 1)).toEqual({ starts: [0, 0.5, 1], seconds: 0.5 });
  });
});

describe('CODECS strings from codec records', () => {
  it('hvc1 from hvcC: profile space and idc, compatibility flags reversed, tier and level, constraint bytes', () => {
    // Main profile (1), compatibility flags 0x60000000 (profiles 1 and 2) → reversed 0x6, Main tier, level 93, constraints 0xB0.
    const hvcC = new Uint8Array([1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93, 0xf0]);
    expect(hevcCodecFromHvcC(hvcC)).toBe('hvc1.1.6.L93.B0');
    const high = new Uint8Array([1, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 120, 0xf0]);
    expect(hevcCodecFromHvcC(high)).toBe('hvc1.2.4.H120.90');
  });

  it('av01 from av1C: profile, level, tier, bit depth', () => {
    expect(av1CodecFromAv1C(new Uint8Array([0x81, 0x08, 0x0c, 0]))).toBe('av01.0.08M.08');
    expect(av1CodecFromAv1C(new Uint8Array([0x81, 0x2d, 0xc0, 0]))).toBe('av01.1.13H.10');
    expect(av1CodecFromAv1C(new Uint8Array([0x01, 0x08, 0, 0]))).toBeNull();
  });
});

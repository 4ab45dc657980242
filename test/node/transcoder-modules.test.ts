/**
 * The transcoder's modules with real ffprobe/ffmpeg on small generated files (no servers): what analysis accepts
 * and rejects, rotation, 10-second segments with aligned IDR frames, the storyboard's WebVTT, and where jobs keep
 * their temporary files.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../containers/transcoder/src/errors';
import { encodeAudio, encodeRungs, parseMediaPlaylist, spanChunk } from '../../containers/transcoder/src/pipeline';
import { avcCodecFromAnnexB } from '../../containers/transcoder/src/codec-strings';
import { analyze, interpretProbe } from '../../containers/transcoder/src/probe';
import { makeThumbnails, storyboardVtt } from '../../containers/transcoder/src/thumbnails';
import { removeWorkRoot, sweepStaleWorkRoots, withWorkDir } from '../../containers/transcoder/src/work-dirs';
import { firstVideoFrame, makeSource } from '../helpers/transcoding-media';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'transcoder-modules-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rejection(file: string): Promise<string> {
  try {
    await analyze(file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('analysis', () => {
  it('reads duration, size, frame rate, audio and codecs', async () => {
    const file = await makeSource(path.join(dir, 'ok.mp4'), { width: 320, height: 180, seconds: 2, fps: 25 });
    expect(await analyze(file)).toMatchObject({ width: 320, height: 180, frameRate: 25, hasAudio: true, videoCodec: 'h264', audioCodec: 'aac', rotation: 0 });
  });

  it('reports display size for rotated phone video', async () => {
    const file = await makeSource(path.join(dir, 'rotated.mp4'), { width: 320, height: 180, seconds: 1, rotate: 90 });
    const facts = await analyze(file);
    expect([facts.width, facts.height]).toEqual([180, 320]);
    expect([90, 270]).toContain(facts.rotation);
  });

  it('rejects random bytes, text, an image, audio only and a truncated MP4 with readable reasons', async () => {
    const random = path.join(dir, 'random');
    writeFileSync(random, Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 2654435761) % 256)));
    expect(await rejection(random)).toMatch(/not a readable video/);

    const text = path.join(dir, 'text');
    writeFileSync(text, 'hello, this is a text file\n'.repeat(100));
    expect(await rejection(text)).toMatch(/not a readable video|text file/);

    const png = path.join(dir, 'image.png');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', png]);
    expect(await rejection(png)).toMatch(/still image/);

    const audio = path.join(dir, 'audio.m4a');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=300', '-t', '2', audio]);
    expect(await rejection(audio)).toMatch(/only audio/);

    const full = await makeSource(path.join(dir, 'full.mp4'), { width: 320, height: 240, seconds: 3 });
    const truncated = path.join(dir, 'truncated.mp4');
    const bytes = readFileSync(full);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(await rejection(truncated)).toMatch(/not a readable video/);
  });

  it('classifies probe output without ffmpeg (text-art codecs, tiny frames, missing duration)', () => {
    expect(() => interpretProbe({ streams: [{ codec_type: 'video', codec_name: 'ansi', width: 640, height: 400 }], format: { format_name: 'tty', duration: '1' } })).toThrow(/text file/);
    expect(() => interpretProbe({ streams: [{ codec_type: 'video', codec_name: 'h264', width: 8, height: 8 }], format: { format_name: 'mp4', duration: '3' } })).toThrow(/too small/);
    expect(() => interpretProbe({ streams: [{ codec_type: 'video', codec_name: 'h264', width: 64, height: 64 }], format: { format_name: 'mp4' } })).toThrow(/no duration/);
  });
});

describe('encoding', () => {
  it('cuts 10 s segments at the same IDR timestamps in every rung, chunk by chunk, with continuous numbers and timestamps', async () => {
    const source = await makeSource(path.join(dir, 'src.mp4'), { width: 640, height: 360, seconds: 21, fps: 24 });
    const mk = (name: string, width: number, height: number, bitrate: number) => ({ name, width, height, bitrate, maxrate: bitrate * 1.5, bufsize: bitrate * 2, outputPrefix: `videos/v/${name}/` });
    const uploaded: string[] = [];
    // superfast, not ultrafast: B-frames (a negative first DTS) are what once shifted the first chunk alone.
    const base = { sourceKey: 'k', rungs: [mk('240p', 426, 240, 400_000), mk('360p', 640, 360, 800_000)], segmentDurationSec: 10, x264Preset: 'superfast', sourceDuration: 21, sourceFrameRate: 24, maxFrameRate: 60 };
    const chunks = [
      { index: 0, startSec: 0, endSec: 10, firstSegment: 0 },
      { index: 1, startSec: 10, endSec: null, firstSegment: 1 },
    ];
    const results = [];
    for (const chunk of chunks) {
      results.push(await encodeRungs(source, { ...base, chunk }, path.join(dir, `work${chunk.index}`), { upload: async (rung, file, name) => void uploaded.push(`${rung.name}/${name}=${file}`) }));
    }
    expect(results.map((r) => r.renditions.map((x) => x.segmentDurations))).toEqual([[[10], [10]], [[10, 1], [10, 1]]]);
    expect(uploaded.map((u) => u.split('=')[0]).sort()).toEqual(['240p/segment_0000.ts', '240p/segment_0001.ts', '240p/segment_0002.ts', '360p/segment_0000.ts', '360p/segment_0001.ts', '360p/segment_0002.ts']);
    for (const r of results.flatMap((x) => x.renditions)) {
      // Video only: the audio is its own rendition (encodeAudio).
      expect(r.codecs).toMatch(/^avc1\.[0-9a-f]{6}$/);
      expect(r.frameRate).toBe(24);
      expect(r.bandwidth).toBeGreaterThanOrEqual(r.averageBandwidth);
    }
    const starts = (name: string) => uploaded.filter((u) => u.startsWith(`${name}/`)).sort().map((u) => firstVideoFrame(u.split('=')[1]!));
    const a = starts('240p');
    const b = starts('360p');
    expect(a.every((f) => f.keyFrame && f.pictType === 'I')).toBe(true);
    expect(b.every((f) => f.keyFrame && f.pictType === 'I')).toBe(true);
    expect(a.map((f) => f.ptsTime)).toEqual(b.map((f) => f.ptsTime));
    // Chunk 1's first segment continues chunk 0's timeline: 10 s after the first, 20 s for the third.
    expect(a[1]!.ptsTime - a[0]!.ptsTime).toBeCloseTo(10, 3);
    expect(a[2]!.ptsTime - a[0]!.ptsTime).toBeCloseTo(20, 3);
    // Every frame exactly once across the chunk edge: 504 frames 1/24 s apart.
    const joined = path.join(dir, 'joined-240p.ts');
    writeFileSync(joined, Buffer.concat(uploaded.filter((u) => u.startsWith('240p/')).sort().map((u) => readFileSync(u.split('=')[1]!))));
    const pts = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', joined], { encoding: 'utf8' })
      .split('\n').map((l) => l.replace(/,/g, '').trim()).filter(Boolean).map(Number).sort((x, y) => x - y);
    expect(pts).toHaveLength(21 * 24);
    const steps = pts.slice(1).map((t, i) => t - pts[i]!);
    expect(Math.min(...steps)).toBeGreaterThan(1 / 24 - 0.002);
    expect(Math.max(...steps)).toBeLessThan(1 / 24 + 0.002);
  });

  it('encodes the audio once, padded or cut to the video, with segments of the same duration', async () => {
    const source = await makeSource(path.join(dir, 'a.mp4'), { width: 160, height: 90, seconds: 5 });
    const uploaded: string[] = [];
    const audio = await encodeAudio(source, { sourceKey: 'k', outputPrefix: 'videos/v/audio/', segmentDurationSec: 2, audioBitrate: 96_000, sourceDuration: 4, sourceHasAudio: true }, path.join(dir, 'wa'), {
      upload: async (_r, _f, name) => void uploaded.push(name),
    });
    expect(audio.codecs).toBe('mp4a.40.2');
    expect(Math.abs(audio.segmentDurations.reduce((x, y) => x + y, 0) - 4)).toBeLessThan(0.05);
    expect(uploaded[0]).toBe('segment_0000.ts');
    const silent = await encodeAudio(source, { sourceKey: 'k', outputPrefix: 'videos/v/audio/', segmentDurationSec: 2, audioBitrate: 96_000, sourceDuration: 3, sourceHasAudio: false }, path.join(dir, 'ws'));
    expect(Math.abs(silent.segmentDurations.reduce((x, y) => x + y, 0) - 3)).toBeLessThan(0.05);
  });

  it('reports the audio track as it grows: each partial is a prefix of uploaded segments, and the final result extends it', async () => {
    const source = await makeSource(path.join(dir, 'p.mp4'), { width: 160, height: 90, seconds: 12 });
    const uploaded: string[] = [];
    const partials: { durations: number[]; uploadedThen: string[]; codecs: string }[] = [];
    const audio = await encodeAudio(source, { sourceKey: 'k', outputPrefix: 'videos/v/audio/', segmentDurationSec: 2, audioBitrate: 96_000, sourceDuration: 12, sourceHasAudio: true }, path.join(dir, 'wp'), {
      // A slow store: segments land one by one, so the prefix visibly grows.
      upload: async (_r, _f, name) => {
        await new Promise((r) => setTimeout(r, 60));
        uploaded.push(name);
      },
      onPartial: (p) => partials.push({ durations: p.segmentDurations, uploadedThen: [...uploaded], codecs: p.codecs }),
    });
    expect(audio.segmentDurations).toHaveLength(7); // 6 × 2 s and the priming frame's 21 ms
    expect(partials.length).toBeGreaterThanOrEqual(2);
    partials.forEach((p, i) => {
      expect(p.codecs).toBe(audio.codecs);
      expect(p.durations).toEqual(audio.segmentDurations.slice(0, p.durations.length));
      // Only segments already in storage are reported.
      expect(p.uploadedThen.slice(0, p.durations.length)).toEqual(p.durations.map((_, n) => `segment_${String(n).padStart(4, '0')}.ts`));
      if (i > 0) expect(p.durations.length).toBeGreaterThan(partials[i - 1]!.durations.length);
    });
  });

  it('parses playlists and SPS bytes', () => {
    expect(parseMediaPlaylist('#EXTM3U\n#EXTINF:6.006,\nsegment_0000.ts\n#EXTINF:2.5,\nsegment_0001.ts\n#EXT-X-ENDLIST\n')).toEqual([
      { file: 'segment_0000.ts', duration: 6.006 },
      { file: 'segment_0001.ts', duration: 2.5 },
    ]);
    expect(avcCodecFromAnnexB(new Uint8Array([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xac]))).toBe('avc1.640028');
    expect(avcCodecFromAnnexB(new Uint8Array([0, 0, 1, 0x65, 1, 2, 3]))).toBeNull();
    // A chunk's last segment reaches the chunk's end (a VFR gap before it), never past; the last chunk is as measured.
    const stretched = [6, 5.866667];
    spanChunk(stretched, 0, 12);
    expect(stretched).toEqual([6, 6]);
    const exact = [6, 6];
    spanChunk(exact, 12, 24);
    expect(exact).toEqual([6, 6]);
    const lastChunk = [1.866667];
    spanChunk(lastChunk, 12, null);
    expect(lastChunk).toEqual([1.866667]);
  });
});

describe('storyboard', () => {
  it('is made from the lowest rung\'s segments with the same tiles as from the source; a broken segment stream fails', async () => {
    const source = await makeSource(path.join(dir, 'thumbs-src.mp4'), { width: 640, height: 360, seconds: 8, fps: 24 });
    const segments: string[] = [];
    const rung = { name: '240p', width: 426, height: 240, bitrate: 400_000, maxrate: 600_000, bufsize: 800_000, outputPrefix: 'videos/v/240p/' };
    for (const chunk of [{ index: 0, startSec: 0, endSec: 4, firstSegment: 0 }, { index: 1, startSec: 4, endSec: null, firstSegment: 2 }]) {
      await encodeRungs(source, { sourceKey: 'k', rungs: [rung], segmentDurationSec: 2, x264Preset: 'superfast', sourceDuration: 8, sourceFrameRate: 24, maxFrameRate: 60, chunk }, path.join(dir, `thumbs-work${chunk.index}`), {
        upload: async (_r, file, name) => void segments.push(`${name}=${file}`),
      });
    }
    const files = segments.sort().map((s) => s.split('=')[1]!);
    expect(files).toHaveLength(4);
    async function* stream(fail = false) {
      for (const [i, f] of files.entries()) {
        if (fail && i === 2) throw new Error('storage: GET segment_0002.ts failed with 500');
        yield readFileSync(f);
      }
    }
    const req = { sourceKey: 'k', outputPrefix: 'videos/v/thumbnails/', sourceDuration: 8, intervalSec: 2, tileWidth: 160, tileHeight: 90, columns: 2, rows: 2, posterMaxHeight: 360 };
    const work = (name: string) => {
      const d = path.join(dir, name);
      mkdirSync(d, { recursive: true });
      return d;
    };
    const fromSource = await makeThumbnails(source, req, work('thumbs-a'));
    const fromRung = await makeThumbnails(source, req, work('thumbs-b'), undefined, [], { bytes: stream(), packaging: 'ts' });
    expect(fromRung.count).toBe(4);
    expect(fromRung.count).toBe(fromSource.count);
    expect(fromRung.sprites).toHaveLength(fromSource.sprites.length);
    // The same frames (testsrc2 moves every frame, so a different pick would show), only downscaled from 240p.
    const ssim = spawnSync('ffmpeg', ['-hide_banner', '-i', fromRung.sprites[0]!, '-i', fromSource.sprites[0]!, '-lavfi', 'ssim', '-f', 'null', '-'], { encoding: 'utf8' }).stderr;
    expect(Number(/SSIM .*All:([\d.]+)/.exec(ssim)?.[1])).toBeGreaterThan(0.9);
    await expect(makeThumbnails(source, req, work('thumbs-c'), undefined, [], { bytes: stream(true), packaging: 'ts' })).rejects.toThrow(/segment_0002\.ts failed/);

    // A live recording: no source (no poster), and a broadcaster that reconnected, so the timestamps restart (here
    // the first 4 s twice): ffmpeg stitches them into one 8 s timeline, one tile every 2 s.
    async function* restarted() {
      for (const f of [...files.slice(0, 2), ...files.slice(0, 2)]) yield readFileSync(f);
    }
    const recording = await makeThumbnails(null, req, work('thumbs-d'), undefined, [], { bytes: restarted(), packaging: 'ts' });
    expect(recording.poster).toBeNull();
    expect(recording.count).toBe(4);
    await expect(makeThumbnails(null, req, work('thumbs-e'))).rejects.toThrow(/need a source or the frames/);
  });

  it('maps every interval to its tile, across sprite sheets', () => {
    const vtt = storyboardVtt(5, { intervalSec: 2, tileWidth: 160, tileHeight: 90, columns: 2, rows: 2, sourceDuration: 9.5 }, (n) => `sprite_${n}.jpg`);
    expect(vtt.trim().split('\n\n')).toEqual([
      'WEBVTT',
      '00:00:00.000 --> 00:00:02.000\nsprite_0.jpg#xywh=0,0,160,90',
      '00:00:02.000 --> 00:00:04.000\nsprite_0.jpg#xywh=160,0,160,90',
      '00:00:04.000 --> 00:00:06.000\nsprite_0.jpg#xywh=0,90,160,90',
      '00:00:06.000 --> 00:00:08.000\nsprite_0.jpg#xywh=160,90,160,90',
      '00:00:08.000 --> 00:00:09.500\nsprite_1.jpg#xywh=0,0,160,90',
    ]);
  });
});

describe('work directories', () => {
  it('a starting transcoder removes the work roots of stopped transcoders and keeps those of running ones', async () => {
    const tmp = path.join(dir, 'tmp');
    const exited = spawnSync(process.execPath, ['-e', '']).pid!;
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      for (const pid of [exited, running.pid!]) mkdirSync(path.join(tmp, `transcoder-${pid}`, 'job-a'), { recursive: true });
      mkdirSync(path.join(tmp, 'transcoder-modules-x'), { recursive: true });
      expect(await sweepStaleWorkRoots(tmp)).toEqual([path.join(tmp, `transcoder-${exited}`)]);
      expect(readdirSync(tmp).sort()).toEqual([`transcoder-${running.pid}`, 'transcoder-modules-x'].sort());
    } finally {
      running.kill('SIGKILL');
    }
  });

  it('a job gets a directory of its own under this process\'s root, removed when the job ends even if it fails', async () => {
    let seen = '';
    await expect(
      withWorkDir(async (d) => {
        seen = d;
        writeFileSync(path.join(d, 'segment_0.ts'), 'x');
        throw new Error('encode failed');
      }),
    ).rejects.toThrow('encode failed');
    expect(path.dirname(seen)).toBe(path.join(os.tmpdir(), `transcoder-${process.pid}`));
    expect(existsSync(seen)).toBe(false);
    removeWorkRoot();
    expect(existsSync(path.dirname(seen))).toBe(false);
  });
});

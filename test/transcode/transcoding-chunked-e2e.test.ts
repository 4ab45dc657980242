/**
 * Chunked (segment-parallel) transcoding end to end on the real local stack: 12 s chunks of 6 s segments, so a
 * 48 s source is 4 chunks × 2 rung groups + the audio track + thumbnails, dispatched to the transcoder and
 * reported back through the authenticated callback route. Checks the seams with ffprobe (keyframes at the same
 * global times in every rung, continuous video and audio timestamps across chunk edges, no frame lost or doubled),
 * the playlists with a real HLS parser, and the faults: one chunk's encoder killed, a container that claims more
 * than its streams hold, a variable-frame-rate source, audio longer than video, no audio, and a delete
 * mid-processing. Every fault lands at a point the test holds (TRANSCODER_HOLD_UNITS, containers/transcoder/src/
 * hold.ts: a held unit's ffmpeg is stopped once it has written output): the killed chunk is killed while held, the
 * deleted video is deleted while one of its chunks is held. In Chromium: the watch page plays the video while it is
 * still PROCESSING (its last 240p chunk is held, so the growing playlist stays growing, and so is the audio encode,
 * which the test lets run in steps, so the audio track is a growing one too), and hls.js plays the READY video
 * across the edges of the chunk that was killed and redone without a stall, a hole or a skipped frame.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium';
import { playAcrossEdges } from '../helpers/hls-edge-player';
import { startStack, type HeldUnit, type Stack } from '../helpers/local-stack';
import { firstVideoFrame, getObject, getVideo, listObjects, makeSource, uploadOriginal, waitForStatus, type VideoStatus } from '../helpers/transcoding-media';

const execFileP = promisify(execFile);
const { Parser } = createRequire(import.meta.url)('m3u8-parser') as {
  Parser: new () => { push(text: string): void; end(): void; manifest: { endList?: boolean; playlistType?: string; discontinuityStarts?: number[]; segments: { duration: number; uri: string; discontinuity?: boolean }[]; mediaGroups?: { AUDIO?: Record<string, Record<string, { uri?: string }>> }; playlists?: { uri: string; attributes: { AUDIO?: string; CODECS?: string } }[] } };
};
const parse = (text: string) => {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
};
const decoder = new TextDecoder();

interface Sources {
  main: string;
  longContainer: string;
  vfr: string;
  longAudio: string;
  noAudio: string;
  doomed: string;
}

/** Doubles the movie header's duration: ffprobe's format duration then claims twice what the streams hold. */
function inflateMvhd(from: string, to: string): string {
  const b = Buffer.from(readFileSync(from));
  const i = b.indexOf('mvhd');
  if (i < 0 || b[i + 4] !== 0) throw new Error('expected a version-0 mvhd box');
  const off = i + 4 + 4 + 8 + 4;
  b.writeUInt32BE(b.readUInt32BE(off) * 2, off);
  writeFileSync(to, b);
  return to;
}

async function makeSources(dir: string): Promise<Sources> {
  const at = (n: string) => path.join(dir, n);
  const [main, base, doomed, noAudio] = await Promise.all([
    makeSource(at('main.mp4'), { width: 640, height: 360, seconds: 48 }),
    makeSource(at('base.mp4'), { width: 320, height: 180, seconds: 14 }),
    makeSource(at('doomed.mp4'), { width: 640, height: 360, seconds: 40 }),
    makeSource(at('noaudio.mp4'), { width: 320, height: 180, seconds: 14, audio: false }),
    // Variable frame rate: runs of frames with gaps (select keeps the original timestamps).
    execFileP('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=48000',
      '-vf', "select='lt(mod(n\\,10)\\,6)+eq(mod(n\\,20)\\,9)'", '-fps_mode', 'vfr', '-t', '14', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', at('vfr.mp4')]),
    // Audio 18 s, video 14 s.
    execFileP('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=14', '-f', 'lavfi', '-i', 'sine=frequency=600:sample_rate=48000:duration=18',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', at('longaudio.mp4')]),
  ]);
  return { main, longContainer: inflateMvhd(base, at('longcontainer.mp4')), vfr: at('vfr.mp4'), longAudio: at('longaudio.mp4'), noAudio, doomed };
}

/** Concatenated segments of one rendition, as a player would play them, in one file. */
async function concatRendition(stack: Stack, id: string, name: string, dir: string): Promise<{ file: string; durations: number[]; text: string }> {
  const text = decoder.decode(await getObject(stack, `videos/${id}/${name}/playlist.m3u8`));
  const media = parse(text);
  const parts: Uint8Array[] = [];
  for (const s of media.segments) parts.push(await getObject(stack, `videos/${id}/${name}/${s.uri}`));
  const file = path.join(dir, `${id}-${name}.ts`);
  writeFileSync(file, Buffer.concat(parts));
  return { file, durations: media.segments.map((s) => s.duration), text };
}

function packetTimes(file: string, stream: 'v' | 'a'): { pts: number; duration: number; key: boolean }[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', `${stream}:0`, '-show_entries', 'packet=pts_time,duration_time,flags', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return (JSON.parse(out) as { packets: { pts_time: string; duration_time?: string; flags: string }[] }).packets
    .map((p) => ({ pts: Number(p.pts_time), duration: Number(p.duration_time ?? 0), key: p.flags.includes('K') }))
    .sort((a, b) => a.pts - b.pts);
}

/**
 * Held units (containers/transcoder/src/hold.ts), each entry the first first attempt that matches: the main video's
 * 360p chunk 1 (killed), its last 240p chunk and its audio (resumed by the watch-page test), then the doomed
 * video's 360p chunk 1 (deleted while held). The other sources are 320×180 (240p only) and upload after the main
 * video's units are held, so no entry is left for them.
 */
const HOLD_UNITS = ['encode:360p@1', 'encode:240p@3', 'audio', 'encode:360p@1'];

/** SIGCONT or SIGKILL for a held unit's ffmpeg (gone already: nothing to do). */
function signalHeld(h: HeldUnit, signal: NodeJS.Signals): void {
  try {
    process.kill(h.pid, signal);
  } catch {
    // already gone
  }
}

describe('chunked transcoding (local stack, 12 s chunks of 6 s segments)', () => {
  let stack: Stack;
  let dir: string;
  let sources: Sources;
  let ids: { main: string; longContainer: string; vfr: string; longAudio: string; noAudio: string };
  /** The main video's 360p chunk 1 (12–24 s), killed while held: that chunk alone is redone. */
  let killed: HeldUnit;
  /** The main video's last 240p chunk (36–48 s: two segments, so its first is written while it encodes and the hold catches it there), held until the growing-playlist test resumes it. */
  let lastChunk: HeldUnit;
  /** The main video's audio encode, held; the watch-page test lets it run in steps. */
  let audio: HeldUnit;
  let resumed = false;
  const resume = () => {
    if (resumed || !lastChunk || !audio) return;
    resumed = true;
    for (const h of [lastChunk, audio]) signalHeld(h, 'SIGCONT');
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'chunked-e2e-'));
    [stack, sources] = await Promise.all([
      startStack({
        transcoder: true,
        vars: { X264_PRESET: 'superfast', TRANSCODE_CHUNK_SEC: '12', SEGMENT_DURATION_SEC: '6', TRANSCODE_RETRY_BASE_DELAY_SEC: '1', TRANSCODE_JOB_LEASE_MS: '20000', TRANSCODE_PURGE_DELAY_SEC: '5' },
        holdUnits: HOLD_UNITS,
      }),
      makeSources(mkdtempSync(path.join(dir, 'src-'))),
    ]);
    const main = await uploadOriginal(stack, 'chunked main', sources.main);
    [killed, lastChunk, audio] = await Promise.all([stack.waitForHeld(main, 'encode:360p@1'), stack.waitForHeld(main, 'encode:240p@3'), stack.waitForHeld(main, 'audio')]);
    signalHeld(killed, 'SIGKILL');
    const [longContainer, vfr, longAudio, noAudio] = await Promise.all([sources.longContainer, sources.vfr, sources.longAudio, sources.noAudio].map((f) => uploadOriginal(stack, path.basename(f), f)));
    ids = { main, longContainer: longContainer!, vfr: vfr!, longAudio: longAudio!, noAudio: noAudio! };
  }, 600_000);
  afterAll(async () => {
    resume();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the watch page plays the video while it is still PROCESSING, from its growing 240p and audio playlists', async () => {
    const browser = await launchChromium();
    try {
      // Playable once the first 240p chunk is in and the audio covers it, long before the audio is done: the audio
      // encoder runs in short steps (SIGCONT, 60 ms, SIGSTOP; each is a few seconds of audio at most, then time for
      // its report to land) until the rung is listed, then stays stopped.
      const deadline = Date.now() + 400_000;
      let v = await getVideo(stack, ids.main);
      let steps = 0;
      while (!v.renditions.some((r) => r.name === '240p') && v.status === 'PROCESSING' && Date.now() < deadline) {
        if (v.processing.some((p) => p.unit === 'encode:240p@0' && p.status === 'COMPLETED') && steps < 200) {
          steps++;
          process.kill(audio.pid, 'SIGCONT');
          await new Promise((r) => setTimeout(r, 60));
          process.kill(audio.pid, 'SIGSTOP');
          await new Promise((r) => setTimeout(r, 1000));
        }
        await new Promise((r) => setTimeout(r, 500));
        v = await getVideo(stack, ids.main);
      }
      expect(v.status).toBe('PROCESSING');
      expect(v.renditions.find((r) => r.name === '240p')).toMatchObject({ complete: false });
      // The audio unit is still running: what the rung references is the audio's growing prefix.
      expect(v.processing.find((p) => p.unit === 'audio')).toMatchObject({ status: 'PROCESSING' });
      const audioNow = parse(decoder.decode(await getObject(stack, `videos/${ids.main}/audio/playlist.m3u8`)));
      expect(audioNow.endList).toBeFalsy();
      const covered = audioNow.segments.reduce((a, s) => a + s.duration, 0);
      expect(covered).toBeGreaterThanOrEqual(12 - 0.1);
      expect(covered).toBeLessThan(48);

      const page = await browser.newPage();
      const playlists: Promise<string>[] = [];
      const audioPlaylists: Promise<string>[] = [];
      const segments: string[] = [];
      page.on('response', (res) => {
        const p = new URL(res.url()).pathname;
        if (p.endsWith('/240p/playlist.m3u8')) playlists.push(res.text());
        if (p.endsWith('/audio/playlist.m3u8')) audioPlaylists.push(res.text());
      });
      page.on('request', (req) => {
        if (req.url().endsWith('.ts')) segments.push(new URL(req.url()).pathname);
      });
      await page.goto(`${stack.origin}/watch/${ids.main}`);
      await page.waitForSelector('#player[data-levels]', { timeout: 60_000 });
      const low = await page.locator('#quality option', { hasText: /^240p/ }).getAttribute('value');
      await page.selectOption('#quality', low!);
      await page.click('#big-play');
      await page.waitForSelector('#player[data-state=playing]', { timeout: 60_000 });
      const media = page.locator('#video');
      const t0 = await media.evaluate((el) => (el as HTMLVideoElement).currentTime);
      await page.waitForFunction((t) => (document.getElementById('video') as HTMLVideoElement).currentTime > t + 2, t0, { timeout: 60_000 });
      expect(await page.getAttribute('#player', 'data-state')).not.toBe('error');
      // What played was the growing playlist: an EVENT playlist without an end, extended as chunks land.
      const texts = await Promise.all(playlists);
      expect(texts.length).toBeGreaterThan(0);
      for (const text of texts) {
        expect(text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
        expect(text).not.toContain('#EXT-X-ENDLIST');
      }
      // …and so was the audio: its growing playlist, its segments played with the video's.
      const audioTexts = await Promise.all(audioPlaylists);
      expect(audioTexts.length).toBeGreaterThan(0);
      for (const text of audioTexts) {
        expect(text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
        expect(text).not.toContain('#EXT-X-ENDLIST');
      }
      expect(segments.some((p) => /\/240p\/segment_\d{4}\.ts$/.test(p))).toBe(true);
      expect(segments.some((p) => /\/audio\/segment_\d{4}\.ts$/.test(p))).toBe(true);
      expect((await getVideo(stack, ids.main)).status).toBe('PROCESSING');
    } finally {
      resume();
      await browser.close();
    }
  });

  it('encodes 4 chunks per rung group into seamless, keyframe-aligned renditions with one continuous audio track', async () => {
    const video = await waitForStatus(stack, ids.main, ['READY', 'FAILED'], 400_000);
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-80).join(''));
    expect(video.status).toBe('READY');
    const encodes = video.processing.filter((p) => p.unit.startsWith('encode:'));
    expect(encodes.map((p) => p.unit).sort()).toEqual(['encode:240p@0', 'encode:240p@1', 'encode:240p@2', 'encode:240p@3', 'encode:360p@0', 'encode:360p@1', 'encode:360p@2', 'encode:360p@3']);
    expect(encodes.find((p) => p.unit === 'encode:360p@1')!.range).toEqual([12, 24]);
    expect(encodes.find((p) => p.unit === 'encode:240p@3')!.range![0]).toBe(36);
    expect(video.processing.find((p) => p.unit === 'audio')).toMatchObject({ status: 'COMPLETED' });

    // The killed chunk was redone; every other chunk ran once.
    const redone = encodes.filter((p) => p.attempts > 1).map((p) => p.unit);
    expect(redone).toEqual([killed.unit]);

    const master = parse(decoder.decode(await getObject(stack, `videos/${ids.main}/master.m3u8`)));
    expect(master.mediaGroups?.AUDIO?.audio?.Original?.uri).toBe('audio/playlist.m3u8');
    for (const p of master.playlists!) {
      expect(p.attributes.AUDIO).toBe('audio');
      expect(p.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    }

    const starts: number[][] = [];
    for (const name of ['240p', '360p']) {
      const { file, durations, text } = await concatRendition(stack, ids.main, name, dir);
      const media = parse(text);
      expect(media.endList).toBe(true);
      expect(media.playlistType).toBe('VOD');
      expect(text).not.toContain('DISCONTINUITY');
      expect(durations).toHaveLength(8); // 48 s of 6 s segments
      expect(Math.abs(durations.reduce((a, b) => a + b, 0) - 48)).toBeLessThanOrEqual(1 / 30 + 1e-6);
      const frames = packetTimes(file, 'v');
      // Every frame exactly once: 1440 frames 1/30 s apart, across every chunk edge.
      expect(frames).toHaveLength(1440);
      const gaps = frames.slice(1).map((f, i) => f.pts - frames[i]!.pts);
      expect(Math.max(...gaps)).toBeLessThan(1 / 30 + 0.002);
      expect(Math.min(...gaps)).toBeGreaterThan(1 / 30 - 0.002);
      // Each segment starts with an IDR at the same global time in every rung.
      const segStarts: number[] = [];
      for (let n = 0; n < durations.length; n++) {
        const seg = path.join(dir, `${name}-${n}.ts`);
        writeFileSync(seg, await getObject(stack, `videos/${ids.main}/${name}/segment_${String(n).padStart(4, '0')}.ts`));
        const f = firstVideoFrame(seg);
        expect(f.keyFrame && f.pictType === 'I', `${name} segment ${n}`).toBe(true);
        segStarts.push(f.ptsTime);
      }
      segStarts.forEach((t, n) => expect(t - segStarts[0]!).toBeCloseTo(6 * n, 3));
      starts.push(segStarts);
    }
    starts[1]!.forEach((t, n) => expect(t).toBeCloseTo(starts[0]![n]!, 3));

    // Audio: one encode, continuous packets across every segment (and so every chunk) edge, as long as the video.
    const audio = await concatRendition(stack, ids.main, 'audio', dir);
    expect(parse(audio.text).endList).toBe(true);
    const packets = packetTimes(audio.file, 'a');
    const steps = packets.slice(1).map((p, i) => p.pts - packets[i]!.pts);
    expect(Math.max(...steps)).toBeLessThan(1024 / 48000 + 0.001);
    expect(Math.min(...steps)).toBeGreaterThan(1024 / 48000 - 0.001);
    const audioSpan = packets.at(-1)!.pts + packets.at(-1)!.duration - packets[0]!.pts;
    expect(Math.abs(audioSpan - 48)).toBeLessThan(0.05);
    // In sync: audio starts with the video (same TS timeline).
    expect(Math.abs(packets[0]!.pts - starts[0]![0]!)).toBeLessThan(0.05);

    const objects = await listObjects(stack, `videos/${ids.main}/`);
    expect(objects.filter((o) => o.key.includes('/240p/segment_')).length).toBe(8);
  });

  it('hls.js plays across both edges of the redone chunk without a stall, a hole or a skipped frame', async () => {
    const video = await waitForStatus(stack, ids.main, ['READY', 'FAILED'], 400_000);
    expect(video.status).toBe('READY');
    // The rung whose chunk 1 (12–24 s) was killed and redone: its edges at 12 s and 24 s are the ones played.
    const redone = video.processing.find((p) => p.unit.startsWith('encode:') && p.attempts > 1)!.unit;
    const rung = /^encode:(\d+)p/.exec(redone)![1]!;
    const res = await fetch(`${stack.origin}/v1/videos/${ids.main}/playback`);
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    const heights = video.renditions.map((r) => r.height).sort((a, b) => a - b);
    const level = heights.indexOf(Number(rung));
    expect(level).toBeGreaterThanOrEqual(0);

    const played = await playAcrossEdges(url, level, [12, 24]);
    console.log(`[chunked-e2e] edges played on ${rung}p (${redone} redone): ${played.windows.map((w) => `${w.edge}s: ${w.frames.length} frames shown, ${w.decodedFrames} decoded, ${w.droppedFrames} dropped, stalls ${JSON.stringify(w.stallsMs.map(Math.round))}`).join('; ')}`);
    expect(played.levels.map((l) => l.height)).toEqual(heights);
    expect(played.errors).toEqual([]);
    // Every fragment came from the pinned rung, among them the two on each side of both edges.
    expect(new Set(played.frags.map((f) => f.level))).toEqual(new Set([level]));
    expect(played.frags.map((f) => f.sn)).toEqual(expect.arrayContaining([1, 2, 3, 4]));
    // The audio rendition played along, across the same edges.
    expect(played.audioFrags.map((f) => f.sn)).toEqual(expect.arrayContaining([1, 2, 3, 4]));
    const frameTime = 1 / 30;
    for (const w of played.windows) {
      const at = `edge ${w.edge}s`;
      expect(w.reachedEnd, at).toBe(true);
      expect(w.currentTime, at).toBeGreaterThanOrEqual(w.edge + 2.9);
      // One buffered range across the edge: no hole between the chunks' segments.
      expect(w.buffered.some(([a, b]) => a <= w.from + 0.05 && b >= w.to), `${at}: ${JSON.stringify(w.buffered)}`).toBe(true);
      // No stall once playback started (the window was buffered before play: only a seam could stall it).
      expect(Math.max(0, ...w.stallsMs), at).toBeLessThan(250);
      // Frames kept coming across the edge: in the second around it, media time moves forward by at most two
      // frame durations from one presented frame to the next (a missing frame or a timestamp jump would show here).
      // A frame the renderer dropped because the machine was busy (counted by getVideoPlaybackQuality) also makes a
      // longer step without any hole in the media, so each dropped frame of the window widens the bound by one frame;
      // a hole in the stream itself shows in the decoded-frame count below and in the ffprobe checks of the first test.
      const near = w.frames.filter((f) => Math.abs(f.mediaTime - w.edge) <= 0.5);
      expect(near.length, at).toBeGreaterThanOrEqual(15);
      expect(near.some((f) => f.mediaTime < w.edge) && near.some((f) => f.mediaTime >= w.edge), at).toBe(true);
      const steps = near.slice(1).map((f, i) => f.mediaTime - near[i]!.mediaTime);
      expect(Math.min(...steps), at).toBeGreaterThan(0);
      expect(Math.max(...steps), `${at}: ${w.droppedFrames} frame(s) dropped`).toBeLessThanOrEqual((2 + w.droppedFrames) * frameTime + 0.002);
      // The decoder produced the window's frames (6 s at 30 fps), not a frozen picture.
      expect(w.decodedFrames, at).toBeGreaterThanOrEqual(0.9 * (w.to - w.from) * 30);
    }
  });

  it('ends the playlists of a source whose container claims more than its streams hold', async () => {
    const v = await waitForStatus(stack, ids.longContainer, ['READY', 'FAILED'], 300_000);
    expect(v.status).toBe('READY');
    expect(v.duration).toBeCloseTo(14, 0);
    const media = parse(decoder.decode(await getObject(stack, `videos/${ids.longContainer}/240p/playlist.m3u8`)));
    expect(media.endList).toBe(true);
    expect(media.segments.reduce((a, s) => a + s.duration, 0)).toBeCloseTo(14, 0);
  });

  it('encodes a variable-frame-rate source, one whose audio outlasts the video and one with no audio', async () => {
    const checks: [string, number][] = [[ids.vfr, 14], [ids.longAudio, 14], [ids.noAudio, 14]];
    for (const [id, seconds] of checks) {
      const v: VideoStatus = await waitForStatus(stack, id, ['READY', 'FAILED'], 300_000);
      expect(v.status, id).toBe('READY');
      const media = parse(decoder.decode(await getObject(stack, `videos/${id}/240p/playlist.m3u8`)));
      expect(media.endList).toBe(true);
      expect(media.segments.map((s) => Math.round(s.duration))).toEqual([6, 6, 2]);
      // The playlist is as long as the video stream (the VFR source's last frame ends at 13.867 s, not 14 s).
      const videoTotal = media.segments.reduce((a, s) => a + s.duration, 0);
      expect(videoTotal).toBeCloseTo(seconds, 0);
      expect(Math.abs(videoTotal - v.duration!)).toBeLessThan(1e-3);
      const audio = parse(decoder.decode(await getObject(stack, `videos/${id}/audio/playlist.m3u8`)));
      // The audio track is cut to the video: a player reaches the end of both together. The audio is trimmed to
      // exactly the video's duration D, but AAC comes in 1024-sample frames (1024 / 48000 s = 21.3 ms): the encoder
      // adds one frame of priming (placed before the video's start) and the last frame may be partly padding, so the
      // audio playlist sums to between D and D + 2 frames = D + 42.7 ms (both sources here measure D + 21.3 ms).
      const aacFrame = 1024 / 48000;
      const over = audio.segments.reduce((a, s) => a + s.duration, 0) - videoTotal;
      expect(over, id).toBeGreaterThan(-1e-3);
      expect(over, id).toBeLessThan(2 * aacFrame + 1e-3);
      // Two chunks each (12 s chunks of a 14 s source).
      const ranges = v.processing.filter((p) => p.unit.startsWith('encode:240p@')).map((p) => p.range!).sort((x, y) => x[0] - y[0]);
      expect(ranges, id).toEqual([[0, 12], [12, v.duration]]);
    }
    // No audio in the source: every variant still references one continuous (silent) AAC track as long as the video.
    const master = parse(decoder.decode(await getObject(stack, `videos/${ids.noAudio}/master.m3u8`)));
    expect(master.mediaGroups?.AUDIO?.audio?.Original?.uri).toBe('audio/playlist.m3u8');
    for (const p of master.playlists!) expect(p.attributes.CODECS).toMatch(/,mp4a\.40\.2$/);
    const silent = packetTimes((await concatRendition(stack, ids.noAudio, 'audio', dir)).file, 'a');
    const steps = silent.slice(1).map((p, i) => p.pts - silent[i]!.pts);
    expect(Math.max(...steps)).toBeLessThan(1024 / 48000 + 0.001);
    expect(silent.at(-1)!.pts + silent.at(-1)!.duration - silent[0]!.pts).toBeCloseTo(14, 1);
  });

  it('stops a video deleted mid-processing and leaves no objects under videos/{id}/ within a minute', async () => {
    await waitForStatus(stack, ids.main, ['READY', 'FAILED'], 400_000);
    const id = await uploadOriginal(stack, 'doomed', sources.doomed);
    // Mid-processing for sure: its 360p chunk 1 is held mid-encode (the last entry of HOLD_UNITS).
    const held = await stack.waitForHeld(id, 'encode:360p@1');
    expect((await getVideo(stack, id)).processing.find((p) => p.unit === held.unit)).toMatchObject({ status: 'PROCESSING' });
    const res = await fetch(`${stack.origin}/v1/videos/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${stack.token}` } });
    expect(res.status).toBeLessThan(300);
    const until = Date.now() + 60_000;
    let left = await listObjects(stack, `videos/${id}/`);
    while (left.length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1000));
      left = await listObjects(stack, `videos/${id}/`);
    }
    expect(left).toEqual([]);
    // …and it stays empty: nothing still running writes there.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await listObjects(stack, `videos/${id}/`)).toEqual([]);
    expect(await listObjects(stack, `originals/${id}/`)).toEqual([]);
  });
});

/**
 * CMAF packaging, per-title ladders and HEVC/AV1 rungs end to end on the real local stack (12 s chunks of 6 s
 * segments): a 24 s source created with `packaging: "cmaf"`, `codecs: ["h264","hevc","av1"]`,
 * `ladderMode: "per-title"` goes through analysis, the complexity probe, the chunk encodes of every codec and the audio
 * track. Checked: the growing CMAF playlists while its last 240p chunk is held mid-encode (TRANSCODER_HOLD_UNITS,
 * containers/transcoder/src/hold.ts), init + `.m4s` per rendition,
 * keyframes at the same global times in every rung of every codec, every frame once across the chunk edge, CODECS
 * from the bitstream, the DASH manifest (valid against the MPD schema) parsed by mpd-parser over the same files, then
 * clip, frame at a time, MP4 download, captions (HLS timestamp map, DASH text track) and the storyboard; hls.js (fMP4)
 * and dash.js in Chromium play, switch rung and seek, and skip the HEVC rungs Chromium cannot decode. Also: per-title
 * with MPEG-TS (a DASH request is a 404 with its reason), and a damaged source whose probe fails (the fixed ladder,
 * with the reason).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium';
import { servePlayersPage, type PlayReport } from '../helpers/cmaf-players';
import { mpdSchemaErrors } from '../helpers/dash-schema';
import { startStack, type HeldUnit, type Stack } from '../helpers/local-stack';
import { firstVideoFrame, getObject, getVideo, listObjects, makeSource, uploadOriginal, waitForStatus } from '../helpers/transcoding-media';

const require = createRequire(import.meta.url);
const { Parser } = require('m3u8-parser') as {
  Parser: new () => { push(text: string): void; end(): void; manifest: { endList?: boolean; playlistType?: string; segments: { duration: number; uri: string; map?: { uri: string } }[]; playlists?: { uri: string; attributes: { CODECS?: string; RESOLUTION?: { height: number } } }[] } };
};
const { parse: parseMpd } = require('mpd-parser') as {
  parse: (xml: string, options: { manifestUri: string }) => { duration: number; playlists: MpdPlaylist[]; mediaGroups: { AUDIO: Record<string, Record<string, { playlists: MpdPlaylist[] }>>; SUBTITLES: Record<string, Record<string, { language: string; playlists: { resolvedUri?: string; uri?: string }[] }>> } };
};
interface MpdPlaylist {
  attributes: { NAME: string; CODECS: string; BANDWIDTH: number; RESOLUTION?: { height: number } };
  segments: { uri: string; resolvedUri: string; duration: number; map: { resolvedUri: string } }[];
}
const parseM3u8 = (text: string) => {
  const p = new Parser();
  p.push(text);
  p.end();
  return p.manifest;
};
const decoder = new TextDecoder();
const CMAF = { packaging: 'cmaf' as const, codecs: ['h264', 'hevc', 'av1'], ladderMode: 'per-title' as const };
const RUNGS = ['240p', '360p', '240p-hevc', '360p-hevc', '240p-av1', '360p-av1'];

/** Overwrites half the bytes of 42–52 % of the file: frames around the middle no longer decode (ffmpeg conceals them). */
function damage(from: string, to: string): string {
  const b = Buffer.from(readFileSync(from));
  let seed = 3;
  for (let k = Math.floor(b.length * 0.42); k < Math.floor(b.length * 0.52); k++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    if (seed % 2 === 0) b[k] = seed % 256;
  }
  writeFileSync(to, b);
  return to;
}

function ffprobeJson<T>(args: string[]): T {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', ...args, '-of', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as T;
}

describe('CMAF, per-title ladders and AV1/HEVC rungs (local stack, 12 s chunks of 6 s segments)', () => {
  let stack: Stack;
  let dir: string;
  let ids: { cmaf: string; ts: string; damaged: string };
  let held: (HeldUnit & { resumed: boolean }) | null = null;
  let browser: Browser | undefined;
  let page: Awaited<ReturnType<typeof servePlayersPage>> | undefined;
  const auth = () => ({ Authorization: `Bearer ${stack.token}` });
  const resume = () => {
    if (held && !held.resumed) {
      held.resumed = true;
      try {
        process.kill(held.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  };

  async function signed(id: string): Promise<{ url: string; dashUrl?: string; base: string }> {
    const res = await fetch(`${stack.origin}/v1/videos/${id}/playback`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; dashUrl?: string };
    return { ...body, base: body.url.slice(0, body.url.lastIndexOf('/') + 1) };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cmaf-e2e-'));
    const at = (n: string) => path.join(dir, n);
    const [started, main, plain, whole] = await Promise.all([
      startStack({ transcoder: true, vars: { X264_PRESET: 'superfast', HEVC_PRESET: 'superfast', AV1_CPU_USED: '8', TRANSCODE_CHUNK_SEC: '12', SEGMENT_DURATION_SEC: '6', TRANSCODE_RETRY_BASE_DELAY_SEC: '1', TRANSCODE_JOB_LEASE_MS: '20000' }, holdUnits: ['encode:240p@1'] }),
      makeSource(at('main.mp4'), { width: 640, height: 360, seconds: 24 }),
      makeSource(at('plain.mp4'), { width: 640, height: 360, seconds: 14 }),
      makeSource(at('whole.mp4'), { width: 640, height: 360, seconds: 24 }),
    ]);
    stack = started;
    const cmaf = await uploadOriginal(stack, 'cmaf', main, 4, CMAF);
    // The 240p encoder of the last chunk (12–24 s; the lowest rung is encoded alone) is held mid-encode: the 240p
    // playlist stays a growing one until the test resumes it.
    held = { ...(await stack.waitForHeld(cmaf, 'encode:240p@1')), resumed: false };
    const ts = await uploadOriginal(stack, 'per-title ts', plain, 4, { ladderMode: 'per-title' });
    const damaged = await uploadOriginal(stack, 'damaged', damage(whole, at('damaged.mp4')), 4, { ladderMode: 'per-title' });
    ids = { cmaf, ts, damaged };
  }, 600_000);

  afterAll(async () => {
    resume();
    await browser?.close();
    await page?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grows: EVENT playlists with EXT-X-MAP while the last 240p chunk is held; DASH waits for complete renditions', async () => {
    const deadline = Date.now() + 300_000;
    let v = await getVideo(stack, ids.cmaf);
    while (!v.renditions.some((r) => r.name === '240p') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      v = await getVideo(stack, ids.cmaf);
    }
    try {
      expect(v.status).toBe('PROCESSING');
      expect(v.renditions.find((r) => r.name === '240p')).toMatchObject({ complete: false });
      const { url, dashUrl, base } = await signed(ids.cmaf);
      expect(dashUrl).toBe(url.replace(/master\.m3u8$/, 'manifest.mpd'));
      const text = await (await fetch(`${base}240p/playlist.m3u8`)).text();
      expect(text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
      expect(text).toContain('#EXT-X-MAP:URI="init.mp4"');
      expect(text).not.toContain('#EXT-X-ENDLIST');
      expect(parseM3u8(text).segments.map((s) => s.uri)).toEqual(['segment_0000.m4s', 'segment_0001.m4s']);
      const init = await fetch(`${base}240p/init.mp4`);
      expect(init.status).toBe(200);
      expect(init.headers.get('content-type')).toBe('video/mp4');
      const mpd = await fetch(dashUrl!);
      expect(mpd.status).toBe(409);
      expect(((await mpd.json()) as { error: { message: string } }).error.message).toMatch(/complete renditions only/);
    } finally {
      resume();
    }
  }, 400_000);

  it('READY: init + m4s per rendition, keyframes aligned in every codec, every frame once across the chunk edge, CODECS from the bitstream', async () => {
    const v = await waitForStatus(stack, ids.cmaf, ['READY', 'FAILED'], 600_000);
    if (v.status !== 'READY') process.stderr.write(stack.logs.slice(-80).join(''));
    expect(v.status).toBe('READY');
    expect(v).toMatchObject({ packaging: 'cmaf', codecs: ['h264', 'hevc', 'av1'], ladderMode: 'per-title' });
    expect(v.ladder?.mode).toBe('per-title');
    expect(v.ladder?.crf?.['240p']).toBe(21);
    for (const name of RUNGS) expect(v.ladder?.crf?.[name], name).toEqual(expect.any(Number));
    expect(v.processing.map((p) => p.unit)).toEqual(expect.arrayContaining(['ladder', 'encode:240p@1', 'encode:360p@1', 'encode:240p-hevc+360p-hevc@0', 'encode:240p-av1+360p-av1@1']));
    const codecs = Object.fromEntries(v.renditions.map((r) => [r.name, r.codecs]));
    expect(Object.keys(codecs).sort()).toEqual([...RUNGS].sort());
    expect(codecs['360p']).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
    expect(codecs['360p-hevc']).toMatch(/^hvc1\.1\.6\.L\d+(\.[0-9A-F]{1,2})*,mp4a\.40\.2$/);
    expect(codecs['360p-av1']).toMatch(/^av01\.0\.\d{2}M\.08,mp4a\.40\.2$/);

    const master = await (await fetch((await signed(ids.cmaf)).url)).text();
    expect(master).toContain('#EXT-X-VERSION:7');
    expect(parseM3u8(master).playlists!.map((p) => p.attributes.CODECS).sort()).toEqual(RUNGS.map((n) => codecs[n]).sort());

    const starts: Record<string, number[]> = {};
    for (const name of [...RUNGS, 'audio']) {
      const media = parseM3u8(decoder.decode(await getObject(stack, `videos/${ids.cmaf}/${name}/playlist.m3u8`)));
      expect(media.endList, name).toBe(true);
      // Video: 24 s of 6 s segments. Audio: cut where its 1024-sample frames cross 6 s, so its end can spill into a
      // last short segment (the track is the video's length plus up to two AAC frames).
      if (name !== 'audio') expect(media.segments.map((s) => s.uri), name).toEqual(['segment_0000.m4s', 'segment_0001.m4s', 'segment_0002.m4s', 'segment_0003.m4s']);
      else expect(media.segments.reduce((a, s) => a + s.duration, 0) - 24).toBeLessThan(2 * (1024 / 48000) + 1e-3);
      const init = await getObject(stack, `videos/${ids.cmaf}/${name}/init.mp4`);
      const parts = [init];
      starts[name] = [];
      for (const [n, s] of media.segments.entries()) {
        const bytes = await getObject(stack, `videos/${ids.cmaf}/${name}/${s.uri}`);
        parts.push(bytes);
        if (name === 'audio') continue;
        const one = path.join(dir, `${name}-${n}.mp4`);
        writeFileSync(one, Buffer.concat([init, bytes]));
        const f = firstVideoFrame(one);
        expect(f.keyFrame, `${name} segment ${n}`).toBe(true);
        starts[name].push(f.ptsTime);
      }
      const file = path.join(dir, `${name}.mp4`);
      writeFileSync(file, Buffer.concat(parts));
      const stream = name === 'audio' ? 'a' : 'v';
      const packets = ffprobeJson<{ packets: { pts_time: string }[] }>(['-select_streams', `${stream}:0`, '-show_entries', 'packet=pts_time', file]).packets.map((p) => Number(p.pts_time)).sort((a, b) => a - b);
      const steps = packets.slice(1).map((t, i) => t - packets[i]!);
      if (name === 'audio') {
        expect(Math.max(...steps)).toBeLessThan(1024 / 48000 + 0.001);
        continue;
      }
      // 24 s at 30 fps, each frame once, 1/30 s apart across the chunk edge at 12 s.
      expect(packets, name).toHaveLength(720);
      expect(Math.max(...steps), name).toBeLessThan(1 / 30 + 0.002);
      expect(Math.min(...steps), name).toBeGreaterThan(1 / 30 - 0.002);
    }
    // Every rung of every codec opens its segments with a keyframe at the same global times: 0, 6, 12, 18 s.
    for (const name of RUNGS) starts[name]!.forEach((t, n) => expect(t, `${name} segment ${n}`).toBeCloseTo(starts['240p']![n]!, 3));
    starts['240p']!.forEach((t, n) => expect(t - starts['240p']![0]!).toBeCloseTo(6 * n, 3));
    expect((await listObjects(stack, `videos/${ids.cmaf}/`)).filter((o) => o.key.endsWith('.ts'))).toEqual([]);
  }, 700_000);

  it('the DASH manifest validates against the MPD schema, lists the same segment files (mpd-parser), under the signed path, and every URL serves', async () => {
    await waitForStatus(stack, ids.cmaf, ['READY'], 600_000);
    const { dashUrl, url } = await signed(ids.cmaf);
    const res = await fetch(dashUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/dash+xml');
    const xml = await res.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static"/);
    expect(await mpdSchemaErrors(xml)).toEqual([]);
    const mpd = parseMpd(xml, { manifestUri: dashUrl! });
    expect(mpd.duration).toBeCloseTo(24, 1);
    const byName = new Map(mpd.playlists.map((p) => [p.attributes.NAME, p]));
    expect([...byName.keys()].sort()).toEqual([...RUNGS].sort());
    const signedBase = url.slice(0, url.lastIndexOf('/') + 1);
    for (const [name, p] of byName) {
      const hls = parseM3u8(await (await fetch(`${signedBase}${name}/playlist.m3u8`)).text());
      // Same files, same durations as the HLS playlist.
      expect(p.segments.map((s) => s.resolvedUri)).toEqual(hls.segments.map((s) => `${signedBase}${name}/${s.uri}`));
      p.segments.forEach((s, i) => expect(s.duration, `${name} ${i}`).toBeCloseTo(hls.segments[i]!.duration, 2));
      expect(p.segments[0]!.map.resolvedUri).toBe(`${signedBase}${name}/init.mp4`);
      const seg = await fetch(p.segments[1]!.resolvedUri);
      expect(seg.status, name).toBe(200);
      expect(Buffer.from(await seg.arrayBuffer()).equals(Buffer.from(await getObject(stack, `videos/${ids.cmaf}/${name}/segment_0001.m4s`)))).toBe(true);
    }
    const audio = Object.values(mpd.mediaGroups.AUDIO).flatMap((g) => Object.values(g))[0]!.playlists[0]!;
    expect(audio.attributes.CODECS).toBe('mp4a.40.2');
    expect(audio.segments.reduce((a, s) => a + s.duration, 0)).toBeCloseTo(24, 1);
    expect((await fetch(audio.segments[0]!.map.resolvedUri)).status).toBe(200);
    // A segment of the wrong packaging does not exist.
    expect((await fetch(`${signedBase}360p/segment_0000.ts`)).status).toBe(404);
  }, 700_000);

  it('clip, frame at a time, MP4 download, captions (HLS map, DASH text track) and storyboard work on CMAF segments', async () => {
    await waitForStatus(stack, ids.cmaf, ['READY'], 600_000);
    const { base } = await signed(ids.cmaf);
    // Storyboard: decoded from the 240p rung's init + segments.
    const vtt = await (await fetch(`${base}thumbnails/storyboard.vtt`)).text();
    expect(vtt.match(/#xywh=/g)!.length).toBe(12);
    // A frame at 13.2 s (the second chunk), cut from init + segment.
    const frame = await fetch(`${base}thumbnails/at.jpg?time=13.2&width=320`);
    expect(frame.status, await frame.clone().text()).toBe(200);
    const jpg = path.join(dir, 'at.jpg');
    writeFileSync(jpg, Buffer.from(await frame.arrayBuffer()));
    expect(ffprobeJson<{ streams: { width: number; height: number }[] }>(['-show_entries', 'stream=width,height', jpg]).streams[0]).toEqual({ width: 320, height: 180 });

    // Captions: the HLS map is the first fragment's decode time on the 90 kHz clock; DASH lists the WebVTT file.
    const put = await fetch(`${stack.origin}/v1/videos/${ids.cmaf}/captions/en?label=English`, { method: 'PUT', headers: auth(), body: 'WEBVTT\n\n00:00:02.000 --> 00:00:04.000\nHello\n' });
    expect(put.status).toBe(201);
    const segment = await (await fetch(`${base}captions/en_hls.vtt`)).text();
    const mpegts = Number(/X-TIMESTAMP-MAP=MPEGTS:(\d+),/.exec(segment)![1]);
    // The first sample's decode time as stored (the fragment's tfdt; edit list not applied), in 90 kHz ticks.
    const first = ffprobeJson<{ packets: { dts_time: string }[] }>(['-ignore_editlist', '1', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'packet=dts_time', path.join(dir, '240p-0.mp4')]).packets[0]!;
    expect(Math.abs(mpegts / 90000 - Number(first.dts_time))).toBeLessThan(0.001);
    const xml = await (await fetch(`${base}manifest.mpd`)).text();
    expect(xml).toContain('<AdaptationSet id="4" contentType="text" mimeType="text/vtt" lang="en">');
    expect(xml).toContain('<BaseURL>captions/en.vtt</BaseURL>');
    expect(await mpdSchemaErrors(xml)).toEqual([]);

    // MP4 download of the 360p rung: a remux of init + segments.
    const post = await fetch(`${stack.origin}/v1/videos/${ids.cmaf}/downloads`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ rendition: '360p' }) });
    expect(post.status).toBe(202);
    const until = Date.now() + 120_000;
    let state: { status: string; method: string | null } | undefined;
    while (Date.now() < until) {
      const video = (await (await fetch(`${stack.origin}/v1/videos/${ids.cmaf}`, { headers: auth() })).json()) as { downloads: { rendition: string; status: string; method: string | null }[] };
      state = video.downloads.find((d) => d.rendition === '360p');
      if (state?.status === 'COMPLETED' || state?.status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(state).toMatchObject({ status: 'COMPLETED', method: 'remux' });
    const mp4 = path.join(dir, 'download.mp4');
    writeFileSync(mp4, Buffer.from(await (await fetch(`${base}downloads/360p.mp4`)).arrayBuffer()));
    const probe = ffprobeJson<{ format: { duration: string }; streams: { codec_name: string }[] }>(['-show_entries', 'format=duration:stream=codec_name', mp4]);
    expect(Number(probe.format.duration)).toBeCloseTo(24, 0);
    expect(probe.streams.map((s) => s.codec_name)).toContain('h264');

    // A clip over 7–13 s: its playlists list the source's m4s under their numbers after the source's init segment.
    const clipRes = await fetch(`${stack.origin}/v1/videos/${ids.cmaf}/clips`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ start: 7, end: 13 }) });
    expect(clipRes.status).toBe(201);
    const clip = (await clipRes.json()) as { id: string; packaging: string; clip: { start: number; end: number } };
    expect(clip).toMatchObject({ packaging: 'cmaf', clip: { start: 6, end: 18 } });
    const c = await signed(clip.id);
    const media = parseM3u8(await (await fetch(`${c.base}360p-av1/playlist.m3u8`)).text());
    expect(media.segments.map((s) => s.uri)).toEqual(['segment_0001.m4s', 'segment_0002.m4s']);
    const clipInit = await fetch(`${c.base}360p-av1/init.mp4`);
    expect(clipInit.status).toBe(200);
    expect(Buffer.from(await clipInit.arrayBuffer()).equals(Buffer.from(await getObject(stack, `videos/${ids.cmaf}/360p-av1/init.mp4`)))).toBe(true);
    const clipXml = await (await fetch(c.dashUrl!)).text();
    expect(await mpdSchemaErrors(clipXml)).toEqual([]);
    const clipMpd = parseMpd(clipXml, { manifestUri: c.dashUrl! });
    expect(clipMpd.duration).toBeCloseTo(12, 1);
    expect(clipMpd.playlists.find((p) => p.attributes.NAME === '360p')!.segments.map((s) => s.resolvedUri.slice(s.resolvedUri.lastIndexOf('/') + 1))).toEqual(['segment_0001.m4s', 'segment_0002.m4s']);
  }, 700_000);

  it('hls.js (fMP4) and dash.js in Chromium play, switch to the top rung and seek across the chunk edge; neither fetches HEVC', async () => {
    await waitForStatus(stack, ids.cmaf, ['READY'], 600_000);
    browser = await launchChromium();
    page = await servePlayersPage();
    const { url, dashUrl } = await signed(ids.cmaf);
    const play = async (fn: 'playHls' | 'playDash', src: string): Promise<PlayReport> => {
      const context = await browser!.newContext();
      try {
        const tab = await context.newPage();
        await tab.goto(page!.origin);
        return (await tab.evaluate(([f, u]) => (window as unknown as Record<string, (u: string, s: number) => Promise<PlayReport>>)[f]!(u, 11), [fn, src] as const)) as PlayReport;
      } finally {
        await context.close();
      }
    };
    for (const [fn, src] of [['playHls', url], ['playDash', dashUrl!]] as const) {
      const r = await play(fn, src);
      console.log(`[cmaf-e2e] ${fn}: rungs ${JSON.stringify(r.rungs)}; switched to ${r.switchedTo}; after seeking to ${r.seekedTo} s at ${r.timeAfterSeek.toFixed(2)} s, ${r.decodedFrames} frames decoded; ${r.fragments.length} fragments`);
      expect(r.errors, fn).toEqual([]);
      // Chromium decodes H.264 and AV1, not HEVC: the player offers and fetches no HEVC rung.
      expect(r.rungs.length, fn).toBeGreaterThanOrEqual(2);
      expect(r.rungs.some((x) => /^(hvc1|hev1)/.test(x.codecs)), fn).toBe(false);
      expect(r.fragments.some((f) => f.url.includes('-hevc/')), fn).toBe(false);
      expect(r.fragments.every((f) => f.url.endsWith('.m4s')), fn).toBe(true);
      // The forced switch reached the top rung, and playback went on past the seek target, across the chunk edge at 12 s.
      expect(r.switchedTo, fn).not.toBeNull();
      expect(new Set(r.fragments.map((f) => f.rung)).size, fn).toBeGreaterThanOrEqual(2);
      expect(r.timeAfterSeek, fn).toBeGreaterThan(12.5);
      expect(r.decodedFrames, fn).toBeGreaterThan(30);
    }
  }, 400_000);

  it('per-title with MPEG-TS: CRFs recorded, segments .ts, and manifest.mpd is a 404 that says why', async () => {
    const v = await waitForStatus(stack, ids.ts, ['READY', 'FAILED'], 600_000);
    expect(v.status).toBe('READY');
    expect(v).toMatchObject({ packaging: 'ts', ladderMode: 'per-title', ladder: { mode: 'per-title', crf: { '240p': 21, '360p': expect.any(Number) } } });
    expect(v.processing.find((p) => p.unit === 'ladder')).toMatchObject({ status: 'COMPLETED' });
    const { url, dashUrl, base } = await signed(ids.ts);
    expect(dashUrl).toBeUndefined();
    expect(parseM3u8(await (await fetch(`${base}360p/playlist.m3u8`)).text()).segments[0]!.uri).toBe('segment_0000.ts');
    const mpd = await fetch(url.replace(/master\.m3u8$/, 'manifest.mpd'));
    expect(mpd.status).toBe(404);
    expect(((await mpd.json()) as { error: { code: string; message: string } }).error).toEqual({ code: 'not_found', message: expect.stringMatching(/packaged as MPEG-TS.*DASH needs CMAF/) });
    expect((await fetch(`${base}360p/init.mp4`)).status).toBe(404);
  }, 700_000);

  it('a damaged source whose complexity probe fails keeps the fixed ladder, records why, and still becomes READY', async () => {
    const v = await waitForStatus(stack, ids.damaged, ['READY', 'FAILED'], 600_000);
    expect(v.status, JSON.stringify(v.processing)).toBe('READY');
    expect(v.processing.find((p) => p.unit === 'ladder')).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/does not decode cleanly/) });
    expect(v.ladder).toMatchObject({ mode: 'fixed', reason: expect.stringMatching(/^the complexity probe failed: the sample of the source does not decode cleanly/) });
    expect(v.renditions.map((r) => r.name)).toEqual(['240p', '360p']);
  }, 700_000);
});

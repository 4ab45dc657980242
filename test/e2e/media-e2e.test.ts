/**
 * End to end, through the shared local stack (wrangler dev + the transcoder Node process + ffmpeg + Chromium;
 * shared-stack.ts), on one 12 s 640×360 source uploaded and transcoded there (a 2-rung ladder of 2 s segments):
 * - captions: an SRT track becomes an HLS subtitles rendition (master parsed by m3u8-parser) and hls.js in Chromium
 *   shows its cue at its time; a cue past the end is clipped;
 * - MP4 download: made by the media-jobs queue + transcoder, full duration by ffprobe, faststart, answers Range;
 * - thumbnails at any time: three times → three different JPEGs of the asked size; the repeat is a cache HIT;
 *   posterTime moves the poster;
 * - instant clips: READY at once, playlists parse, duration = the range rounded outward, plays in Chromium; deleting
 *   the source deletes the clip.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseM3u8 as parseM3u8As } from '../helpers/m3u8';
import type { StackClient } from '../helpers/local-stack';
import { launchChromium, serveHlsPage } from '../helpers/chromium';
import { sharedStack } from '../helpers/shared-stack';
import { transcodedVideo } from '../helpers/transcoding-media';

interface ParsedManifest {
  segments: { duration: number; uri: string }[];
  endList?: boolean;
  playlists?: { uri: string; attributes: Record<string, unknown> }[];
  mediaGroups?: { SUBTITLES?: Record<string, Record<string, { uri: string; language: string; default: boolean; autoselect: boolean }>> };
}
const parseM3u8 = (text: string) => parseM3u8As<ParsedManifest>(text);

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
function start(url) {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false, capLevelToPlayerSize: false });
  hls.loadSource(url);
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play(); });
  return { video, hls };
}
// Plays until a showing text track has an active cue, and reports it with the playback time.
window.caption = (url) => new Promise((resolve, reject) => {
  const { video, hls } = start(url);
  const timer = setTimeout(() => reject(new Error('timeout: no active cue by ' + video.currentTime)), 60000);
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) { clearTimeout(timer); reject(new Error('hls fatal: ' + d.details)); } });
  video.addEventListener('timeupdate', () => {
    for (const track of video.textTracks) {
      const cues = track.activeCues ? [...track.activeCues] : [];
      if (cues.length) {
        clearTimeout(timer);
        resolve({ text: cues[0].text, start: cues[0].startTime, end: cues[0].endTime, at: video.currentTime, language: track.language, mode: track.mode,
          all: [...track.cues].map((c) => [c.startTime, c.endTime, c.text]) });
      }
    }
  });
});
window.playToEnd = (url) => new Promise((resolve, reject) => {
  const { video, hls } = start(url);
  const timer = setTimeout(() => reject(new Error('timeout at ' + video.currentTime)), 60000);
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) { clearTimeout(timer); reject(new Error('hls fatal: ' + d.details)); } });
  video.addEventListener('ended', () => { clearTimeout(timer); resolve({ duration: video.duration, currentTime: video.currentTime }); });
});
</script></body></html>`;

const SRT = `1
00:00:02,000 --> 00:00:04,500
Hello from the captions

2
00:00:11,000 --> 00:00:30,000
This cue runs past the end
`;

describe('captions, MP4 downloads, frames at any time and instant clips (local stack)', () => {
  let stack: StackClient;
  let workDir: string;
  let videoId: string;
  let browser: Browser;
  let pageServer: Awaited<ReturnType<typeof serveHlsPage>> | undefined;
  let pageOrigin: string;
  const auth = () => ({ Authorization: `Bearer ${stack.token}` });

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'media-e2e-'));
    stack = await sharedStack('media e2e');
    videoId = (await transcodedVideo(stack, 'media e2e', path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 12 })).id;

    pageServer = await serveHlsPage(PAGE);
    pageOrigin = pageServer.origin;
    browser = await launchChromium();
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function playbackUrl(id: string): Promise<string> {
    const res = await fetch(`${stack.origin}/v1/videos/${id}/playback`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { url: string }).url;
  }

  async function inPage<T>(fn: 'caption' | 'playToEnd', url: string): Promise<T> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(pageOrigin);
      return (await page.evaluate(([f, u]) => (window as unknown as Record<string, (u: string) => Promise<unknown>>)[f]!(u), [fn, url] as const)) as T;
    } finally {
      await context.close();
    }
  }

  function ffprobe(file: string, entries: string): Record<string, unknown> {
    return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', entries, '-of', 'json', file], { encoding: 'utf8' })) as Record<string, unknown>;
  }

  it('a caption track is a subtitles rendition in the master and hls.js shows its cue at its time', async () => {
    const put = await fetch(`${stack.origin}/v1/videos/${videoId}/captions/en-us?label=English&default=true`, { method: 'PUT', headers: auth(), body: SRT });
    expect(put.status).toBe(201);
    const track = (await put.json()) as { lang: string; default: boolean; cues: number; clippedCues: number };
    expect(track).toMatchObject({ lang: 'en-US', default: true, cues: 2, clippedCues: 1 });

    const url = await playbackUrl(videoId);
    const master = await (await fetch(url)).text();
    expect(master).toContain('#EXT-X-MEDIA:TYPE=SUBTITLES');
    const parsed = parseM3u8(master);
    const subs = parsed.mediaGroups?.SUBTITLES?.subs;
    expect(subs?.English).toMatchObject({ language: 'en-US', default: true, uri: 'captions/en-US.m3u8' });
    expect(parsed.playlists!.every((p) => p.attributes.SUBTITLES === 'subs')).toBe(true);

    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const subsPlaylist = parseM3u8(await (await fetch(base + 'captions/en-US.m3u8')).text());
    expect(subsPlaylist.endList).toBe(true);
    expect(subsPlaylist.segments.reduce((a, s) => a + s.duration, 0)).toBeCloseTo(12, 1);
    const segment = await (await fetch(base + 'captions/' + subsPlaylist.segments[0]!.uri)).text();
    expect(segment).toMatch(/^WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:\d+,LOCAL:00:00:00.000\n/);
    const download = await fetch(base + 'captions/en-US.vtt');
    expect(download.headers.get('content-type')).toContain('text/vtt');
    const vtt = await download.text();
    // The SRT arrived converted, and the second cue was cut at the end of the video.
    expect(vtt).toContain('00:00:02.000 --> 00:00:04.500\nHello from the captions');
    expect(vtt).toContain('00:00:11.000 --> 00:00:12.000\nThis cue runs past the end');

    const shown = await inPage<{ text: string; start: number; end: number; at: number; language: string }>('caption', url);
    expect(shown.text).toBe('Hello from the captions');
    expect(shown.language).toBe('en-US');
    expect(shown.start).toBeGreaterThan(1.7);
    expect(shown.start).toBeLessThan(2.3);
    expect(shown.at).toBeGreaterThanOrEqual(shown.start);
    expect(shown.at).toBeLessThanOrEqual(shown.end);

    const list = (await (await fetch(`${stack.origin}/v1/videos/${videoId}/captions`)).json()) as { captions: { lang: string }[] };
    expect(list.captions.map((c) => c.lang)).toEqual(['en-US']);
  }, 120_000);

  it('thumbnails at any time: three times, three different frames of the asked size; the repeat is a cache HIT', async () => {
    const url = await playbackUrl(videoId);
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const hashes: string[] = [];
    for (const time of [1, 5.5, 10]) {
      const res = await fetch(`${base}thumbnails/at.jpg?time=${time}&width=320`);
      expect(res.status, await res.clone().text().catch(() => '')).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('x-cache')).toBe('MISS');
      const bytes = Buffer.from(await res.arrayBuffer());
      const file = path.join(workDir, `at-${time}.jpg`);
      writeFileSync(file, bytes);
      const stream = (ffprobe(file, 'stream=width,height,codec_name') as { streams: { width: number; height: number; codec_name: string }[] }).streams[0]!;
      expect(stream).toEqual({ codec_name: 'mjpeg', width: 320, height: 180 });
      hashes.push(createHash('sha256').update(bytes).digest('hex'));
    }
    expect(new Set(hashes).size).toBe(3);
    // 5.51 s is the same frame as 5.5 s at 30 fps: same canonical key, served from the cache.
    const again = await fetch(`${base}thumbnails/at.jpg?width=320&time=5.51`);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(createHash('sha256').update(Buffer.from(await again.arrayBuffer())).digest('hex')).toBe(hashes[1]);

    const patched = await fetch(`${stack.origin}/v1/videos/${videoId}`, {
      method: 'PATCH',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ posterTime: 5.5 }),
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { posterTime: number }).posterTime).toBe(5.5);
    const poster = await fetch(`${base}thumbnails/poster.jpg`);
    expect(poster.status).toBe(200);
    const posterFile = path.join(workDir, 'poster.jpg');
    writeFileSync(posterFile, Buffer.from(await poster.arrayBuffer()));
    expect((ffprobe(posterFile, 'stream=width,height') as { streams: { width: number; height: number }[] }).streams[0]).toEqual({ width: 640, height: 360 });
  }, 120_000);

  it('an MP4 download is made as a job, plays its full duration by ffprobe, and answers Range', async () => {
    const res = await fetch(`${stack.origin}/v1/videos/${videoId}/downloads`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({}),
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { rendition: string }).rendition).toBe('360p');
    const deadline = Date.now() + 120_000;
    let state: { status: string; progress: number; method: string | null } | undefined;
    while (Date.now() < deadline) {
      const video = (await (await fetch(`${stack.origin}/v1/videos/${videoId}`, { headers: auth() })).json()) as { downloads: (typeof state & { rendition: string })[] };
      state = video.downloads.find((d) => d.rendition === '360p');
      if (state?.status === 'COMPLETED' || state?.status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(state).toMatchObject({ status: 'COMPLETED', progress: 1, method: 'remux' });

    const listed = (await (await fetch(`${stack.origin}/v1/videos/${videoId}/downloads`)).json()) as { downloads: { url: string }[] };
    const url = listed.downloads[0]!.url;
    expect(url).toMatch(/\/v\/[^/]+\/t\/[^/]+\/downloads\/360p\.mp4$/);
    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('content-disposition')).toBe(`attachment; filename="${videoId}-360p.mp4"`);
    const bytes = Buffer.from(await full.arrayBuffer());
    const file = path.join(workDir, 'download.mp4');
    writeFileSync(file, bytes);
    const probe = ffprobe(file, 'format=duration:stream=codec_name') as { format: { duration: string }; streams: { codec_name: string }[] };
    expect(Number(probe.format.duration)).toBeGreaterThan(11.8);
    expect(Number(probe.format.duration)).toBeLessThan(12.3);
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    // +faststart: the index (moov) comes before the media data.
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
    // Decodes to the end without errors.
    execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);

    const ranged = await fetch(url, { headers: { Range: 'bytes=100-1099' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-1099/${bytes.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(100, 1100))).toBe(true);
  }, 180_000);

  it('an instant clip is READY at once, covers the range rounded outward, plays in Chromium, and goes with its source', async () => {
    const res = await fetch(`${stack.origin}/v1/videos/${videoId}/clips`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ start: 3, end: 7, title: 'the middle' }),
    });
    expect(res.status).toBe(201);
    const clip = (await res.json()) as { id: string; status: string; title: string; duration: number; clip: { sourceId: string; start: number; end: number; segments: number } };
    expect(clip).toMatchObject({ status: 'READY', title: 'the middle', duration: 6, clip: { sourceId: videoId, start: 2, end: 8, segments: 3 } });
    expect(clip.id).toMatch(/^clp_/);

    const url = await playbackUrl(clip.id);
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const master = parseM3u8(await (await fetch(url)).text());
    expect(master.playlists!.map((p) => p.uri)).toEqual(['240p/playlist.m3u8', '360p/playlist.m3u8']);
    for (const p of master.playlists!) {
      const media = parseM3u8(await (await fetch(base + p.uri)).text());
      expect(media.endList).toBe(true);
      expect(media.segments.map((s) => s.uri)).toEqual(['segment_0001.ts', 'segment_0002.ts', 'segment_0003.ts']);
      expect(media.segments.reduce((a, s) => a + s.duration, 0)).toBeCloseTo(6, 2);
    }
    // Outside the window is not part of the clip.
    expect((await fetch(`${base}360p/segment_0000.ts`)).status).toBe(404);

    const played = await inPage<{ duration: number; currentTime: number }>('playToEnd', url);
    expect(played.duration).toBeGreaterThan(5.5);
    expect(played.duration).toBeLessThan(6.5);

    // Its own views: a view on the clip is counted for the clip.
    const stats = await fetch(`${stack.origin}/v1/videos/${clip.id}/stats`, { headers: auth() });
    expect(stats.status).toBe(200);

    const deleted = await fetch(`${stack.origin}/v1/videos/${videoId}`, { method: 'DELETE', headers: auth() });
    expect(deleted.status).toBe(204);
    expect((await fetch(`${stack.origin}/v1/videos/${clip.id}`, { headers: auth() })).status).toBe(404);
    expect((await fetch(`${stack.origin}/v1/videos/${clip.id}/playback`)).status).toBe(404);
  }, 120_000);
});

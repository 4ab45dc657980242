/**
 * Extra audio tracks and the audio-only download end to end, on the shared local stack (wrangler dev + the
 * transcoder + ffmpeg + Chromium): an 8 s upload (a 440 Hz tone) transcoded there, then a French track of 10 s of a
 * 1 kHz tone PUT beside it.
 * - the track is encoded by the transcoder's audio unit: COMPLETED with a `warning` (10 s cut to 8 s), cut at the
 *   same segment boundaries as the main audio;
 * - a file that is not audio ends its track FAILED with the reason; the video and its master are unchanged;
 * - hls.js in Chromium lists both tracks (names, languages, one default), switches to the French one and fetches its
 *   segments;
 * - the watch page (the player package) offers both in its audio menu and switches by it;
 * - `{type: "audio"}` makes an M4A that ffprobe reads as AAC alone, of the video's duration;
 * - a CMAF video (6 s): a 4 s pink-noise Spanish track made the default is padded (warning), fMP4 with an init
 *   segment on the main audio's boundaries, two audio AdaptationSets in the DASH manifest, and its M4A is the track's;
 * - a clip lists both tracks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackClient } from '../helpers/local-stack';
import { launchChromium, serveHlsPage } from '../helpers/chromium';
import { sharedStack } from '../helpers/shared-stack';
import { makeSource, transcodedVideo, uploadOriginal, waitForStatus } from '../helpers/transcoding-media';

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
// Plays, lists the audio tracks, switches to \`lang\` after the first audio fragment and resolves once a fragment of
// the switched track has loaded.
window.switchAudio = (url, lang) => new Promise((resolve, reject) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false });
  const timer = setTimeout(() => reject(new Error('timeout at ' + video.currentTime)), 45000);
  let listed = null;
  let asked = false;
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) { clearTimeout(timer); reject(new Error('hls fatal: ' + d.details)); } });
  hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play(); });
  hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, (_e, d) => {
    if (!listed) listed = d.audioTracks.map((t) => ({ name: t.name, lang: t.lang ?? null, default: t.default }));
  });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    if (d.frag.type !== 'audio') return;
    if (!asked) {
      asked = true;
      hls.audioTrack = hls.audioTracks.findIndex((t) => t.lang === lang);
      return;
    }
    if (d.frag.url.includes('/audio_' + lang + '/')) {
      clearTimeout(timer);
      resolve({ listed, current: hls.audioTracks[hls.audioTrack].lang, fragment: d.frag.url.replace(/^.*\\/t\\/[^/]+\\//, '') });
    }
  });
  hls.loadSource(url);
  hls.attachMedia(video);
});
</script></body></html>`;

interface Track {
  lang: string;
  status: string;
  warning: string | null;
  error: string | null;
  duration: number | null;
  inputDuration: number | null;
}

describe('extra audio tracks and the audio-only download (local stack)', () => {
  let stack: StackClient;
  let workDir: string;
  let videoId: string;
  let browser: Browser;
  let pageServer: Awaited<ReturnType<typeof serveHlsPage>> | undefined;
  const auth = () => ({ Authorization: `Bearer ${stack.token}` });

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'audio-e2e-'));
    stack = await sharedStack('audio tracks e2e');
    videoId = (await transcodedVideo(stack, 'audio tracks e2e', path.join(workDir, 'source.mp4'), { width: 426, height: 240, seconds: 8 })).id;
    pageServer = await serveHlsPage(PAGE);
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

  async function settledTrack(lang: string, id = videoId): Promise<Track> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { tracks } = (await (await fetch(`${stack.origin}/v1/videos/${id}/audio`)).json()) as { tracks: Track[] };
      const track = tracks.find((t) => t.lang === lang);
      if (track && (track.status === 'COMPLETED' || track.status === 'FAILED')) return track;
      if (Date.now() > deadline) throw new Error(`track ${lang} still ${track?.status}; the stack's last output:\n${stack.logs.slice(-40).join('')}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  const extinfs = (playlist: string) => [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));

  it('a second-language track is encoded on the video timeline, listed in the master, and hls.js switches to it', async () => {
    const file = path.join(workDir, 'fr.m4a');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=44100', '-t', '10', '-c:a', 'aac', '-b:a', '96k', file]);
    const put = await fetch(`${stack.origin}/v1/videos/${videoId}/audio/fr?label=Fran%C3%A7ais`, { method: 'PUT', headers: auth(), body: readFileSync(file) });
    expect(put.status).toBe(202);
    expect(await put.json()).toMatchObject({ lang: 'fr', label: 'Français', status: 'PENDING' });

    // Not audio at all: the track fails with the reason, nothing else changes.
    const bad = await fetch(`${stack.origin}/v1/videos/${videoId}/audio/de`, { method: 'PUT', headers: auth(), body: 'these are words, not sound\n'.repeat(100) });
    expect(bad.status).toBe(202);

    const fr = await settledTrack('fr');
    expect(fr).toMatchObject({ status: 'COMPLETED', inputDuration: 10, warning: expect.stringContaining('cut') });
    expect(fr.duration).toBeCloseTo(8, 1);
    const de = await settledTrack('de');
    expect(de.status).toBe('FAILED');
    expect(de.error).toMatch(/audio/);
    const video = (await (await fetch(`${stack.origin}/v1/videos/${videoId}`, { headers: auth() })).json()) as { status: string };
    expect(video.status).toBe('READY');

    const url = await playbackUrl(videoId);
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const master = await (await fetch(url)).text();
    const group = master.split('\n').filter((l) => l.startsWith('#EXT-X-MEDIA:TYPE=AUDIO'));
    expect(group).toEqual([
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Original",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/playlist.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Français",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio_fr/playlist.m3u8"',
    ]);
    expect(master).not.toContain('audio_de');
    // The same segment boundaries as the main audio.
    const main = extinfs(await (await fetch(`${base}audio/playlist.m3u8`)).text());
    const track = extinfs(await (await fetch(`${base}audio_fr/playlist.m3u8`)).text());
    expect(track).toEqual(main);

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(pageServer!.origin);
      const result = (await page.evaluate(([u]) => (window as unknown as { switchAudio: (u: string, l: string) => Promise<unknown> }).switchAudio(u!, 'fr'), [url])) as {
        listed: { name: string; lang: string | null; default: boolean }[];
        current: string;
        fragment: string;
      };
      expect(result.listed).toEqual([
        { name: 'Original', lang: null, default: true },
        { name: 'Français', lang: 'fr', default: false },
      ]);
      expect(result.current).toBe('fr');
      expect(result.fragment).toMatch(/^audio_fr\/segment_\d{4}\.ts$/);
    } finally {
      await context.close();
    }
  }, 150_000);

  it("the watch page's audio menu lists both languages and switches to the chosen one", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      await page.goto(`${stack.origin}/watch/${videoId}`);
      await page.waitForSelector('label.audio:not([hidden]) #audio:not([disabled])', { timeout: 30_000 });
      expect(await page.locator('#audio option').allTextContents()).toEqual(['Original', 'Français']);
      await page.click('#play');
      await page.locator('#audio').selectOption({ label: 'Français' });
      await expect.poll(() => requested.some((u) => /\/audio_fr\/segment_\d{4}\.ts$/.test(u)), { timeout: 30_000 }).toBe(true);
      expect(await page.locator('#audio').inputValue()).toBe('1');
    } finally {
      await context.close();
    }
  }, 90_000);

  async function audioDownload(id: string, name: string): Promise<{ streams: { codec_type: string; codec_name: string }[]; duration: number }> {
    const res = await fetch(`${stack.origin}/v1/videos/${id}/downloads`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'audio' }) });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 60_000;
    let state: { rendition: string; status: string; method: string | null; url: string | null; error: string | null } | undefined;
    while (Date.now() < deadline) {
      const listed = (await (await fetch(`${stack.origin}/v1/videos/${id}/downloads`)).json()) as { downloads: NonNullable<typeof state>[] };
      state = listed.downloads.find((d) => d.rendition === 'audio');
      if (state?.status === 'COMPLETED' || state?.status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(state).toMatchObject({ status: 'COMPLETED', method: 'remux' });
    expect(state!.url).toMatch(/\/downloads\/audio\.m4a$/);
    const m4a = await fetch(state!.url!);
    expect(m4a.headers.get('content-type')).toBe('audio/mp4');
    const file = path.join(workDir, name);
    writeFileSync(file, Buffer.from(await m4a.arrayBuffer()));
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', file], { encoding: 'utf8' })) as {
      format: { duration: string };
      streams: { codec_type: string; codec_name: string }[];
    };
    return { streams: probe.streams, duration: Number(probe.format.duration) };
  }

  it('a CMAF video: the track is fMP4 with its init segment, in the DASH manifest, and the default for the M4A', async () => {
    const source = await makeSource(path.join(workDir, 'cmaf.mp4'), { width: 426, height: 240, seconds: 6 });
    const id = await uploadOriginal(stack, 'audio tracks cmaf', source, 4, { packaging: 'cmaf' });
    expect((await waitForStatus(stack, id, ['READY', 'FAILED'])).status).toBe('READY');
    const file = path.join(workDir, 'es.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anoisesrc=color=pink:sample_rate=48000:amplitude=0.2', '-t', '4', file]);
    const put = await fetch(`${stack.origin}/v1/videos/${id}/audio/es?default=true`, { method: 'PUT', headers: auth(), body: readFileSync(file) });
    expect(put.status).toBe(202);
    const es = await settledTrack('es', id);
    expect(es).toMatchObject({ status: 'COMPLETED', inputDuration: 4, warning: expect.stringContaining('silence') });
    const url = await playbackUrl(id);
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const playlist = await (await fetch(`${base}audio_es/playlist.m3u8`)).text();
    expect(playlist).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(playlist).toContain('segment_0000.m4s');
    expect(extinfs(playlist)).toEqual(extinfs(await (await fetch(`${base}audio/playlist.m3u8`)).text()));
    const init = Buffer.from(await (await fetch(`${base}audio_es/init.mp4`)).arrayBuffer());
    expect(init.subarray(4, 8).toString()).toBe('ftyp');
    const mpd = await (await fetch(`${base}manifest.mpd`)).text();
    expect(mpd.match(/contentType="audio"/g)).toHaveLength(2);
    expect(mpd).toMatch(/lang="es"[^]*value="main"/);
    // The default track is Spanish: the M4A is its segments, joined after its init segment.
    const m4a = await audioDownload(id, 'cmaf.m4a');
    expect(m4a.streams).toEqual([{ codec_type: 'audio', codec_name: 'aac' }]);
    expect(m4a.duration).toBeGreaterThan(5.8);
    expect(m4a.duration).toBeLessThan(6.3);
  }, 150_000);

  it('{type: "audio"} makes an M4A of the default track: AAC alone, the video\'s duration', async () => {
    const m4a = await audioDownload(videoId, 'audio.m4a');
    expect(m4a.streams).toEqual([{ codec_type: 'audio', codec_name: 'aac' }]);
    expect(m4a.duration).toBeGreaterThan(7.8);
    expect(m4a.duration).toBeLessThan(8.3);
  }, 90_000);

  it('a clip lists every audio track of its source', async () => {
    const res = await fetch(`${stack.origin}/v1/videos/${videoId}/clips`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ start: 2, end: 6 }) });
    expect(res.status).toBe(201);
    const clipId = ((await res.json()) as { id: string }).id;
    const url = await playbackUrl(clipId);
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const master = await (await fetch(url)).text();
    expect(master).toContain('URI="audio/playlist.m3u8"');
    expect(master).toContain('NAME="Français",LANGUAGE="fr"');
    const playlist = await (await fetch(`${base}audio_fr/playlist.m3u8`)).text();
    expect(playlist).toContain('segment_0001.ts');
    expect(playlist).not.toContain('segment_0000.ts');
    expect((await fetch(`${base}audio_fr/segment_0001.ts`)).status).toBe(200);
  }, 60_000);
});

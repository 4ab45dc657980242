/**
 * End to end: a live input on the shared local stack, fed by real ffmpeg (`-f hls -method PUT`), watched live by
 * hls.js in Chromium through the signed playback URL. The broadcaster is killed (SIGKILL) and pushes again within
 * the reconnect window: the viewer goes on across one discontinuity. The second run ends with ENDLIST: the recording
 * is a READY video over the same segments, lasting what was sent (±1 segment), playing from its start, with a
 * storyboard, an MP4 download (remuxed across the reconnect), an instant clip, and deletion like any video. Wrong,
 * malformed and rotated keys, a deleted input, a segment that is not media and one over the size limit are refused,
 * and nothing of them is stored.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { stackFetch, type StackClient } from '../helpers/local-stack';
import { launchChromium, serveHlsPage } from '../helpers/chromium';
import { sharedStack } from '../helpers/shared-stack';
import { pushLive } from '../helpers/live-push';

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
window.viewer = { frags: [], errors: [], fatal: null, ended: false };
window.watch = (url) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false });
  hls.on(Hls.Events.ERROR, (_e, d) => { window.viewer.errors.push(d.details); if (d.fatal) window.viewer.fatal = d.type + ' ' + d.details; });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => { if (d.frag.type === 'main') window.viewer.frags.push({ sn: d.frag.sn, cc: d.frag.cc }); });
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
  video.addEventListener('ended', () => { window.viewer.ended = true; });
  hls.loadSource(url);
  hls.attachMedia(video);
  window.hls = hls;
};
window.state = () => ({ ...window.viewer, time: document.getElementById('v').currentTime, live: window.hls && window.hls.levels[0] && window.hls.levels[0].details ? window.hls.levels[0].details.live : null });
</script></body></html>`;

interface ViewerState {
  frags: { sn: number; cc: number }[];
  errors: string[];
  fatal: string | null;
  ended: boolean;
  time: number;
  live: boolean | null;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}

describe('live input: ffmpeg ingest, live playback, reconnect, recording', () => {
  let stack: StackClient;
  let browser: Browser;
  let page: Page;
  let pageServer: Awaited<ReturnType<typeof serveHlsPage>>;
  const api = (path: string, init: RequestInit = {}) =>
    stackFetch(`${stack.origin}${path}`, { ...init, headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const input = async (id: string) =>
    (await (await api(`/v1/live_inputs/${id}`)).json()) as { status: string; playback: { videoId: string | null }; ladder?: { rungs: { name: string; segments: number; droppedFromSegment: number | null }[]; backlog: number } };

  beforeAll(async () => {
    stack = await sharedStack('live e2e');
    pageServer = await serveHlsPage(PAGE);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${pageServer.origin}/`);
  });

  beforeEach(() => onTestFailed(() => console.log(stack.logs.slice(-80).join(''))));

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
  });

  it('refuses bad keys, bad segments and a deleted input before storing anything', async () => {
    const created = await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'refusals' }) });
    expect(created.status).toBe(201);
    const live = (await created.json()) as { id: string; ingest: { url: string } };
    const url = live.ingest.url;
    const put = (u: string, body: BodyInit) => fetch(u, { method: 'PUT', body });
    const wrongKey = url.replace(/lsk_[a-z0-9]{40}$/, `lsk_${'a'.repeat(40)}`);
    const codeOf = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;
    let r = await put(`${wrongKey}/index0.ts`, 'x');
    expect([r.status, await codeOf(r)]).toEqual([403, 'forbidden']);
    r = await put(`${url.replace(/lsk_[a-z0-9]{40}$/, 'nokey')}/index0.ts`, 'x');
    expect([r.status, await codeOf(r)]).toEqual([401, 'unauthorized']);
    r = await put(`${url}/index0.ts`, new Uint8Array(188 * 10).fill(0x47));
    expect([r.status, await codeOf(r)]).toEqual([415, 'not_media']);
    r = await put(`${url}/index0.ts`, 'this is not a video');
    expect([r.status, await codeOf(r)]).toEqual([415, 'not_media']);
    r = await put(`${url}/index0.ts`, new Uint8Array(17 * 1024 * 1024));
    expect([r.status, await codeOf(r)]).toEqual([413, 'payload_too_large']);
    // Nothing was accepted: the input never went live and has no broadcast video.
    expect(await input(live.id)).toMatchObject({ status: 'idle', playback: { videoId: null } });

    const rotated = (await (await api(`/v1/live_inputs/${live.id}/rotate_key`, { method: 'POST' })).json()) as { ingest: { url: string } };
    expect(rotated.ingest.url).not.toBe(url);
    r = await put(`${url}/index.m3u8`, '#EXTM3U\n');
    expect([r.status, await codeOf(r)]).toEqual([403, 'forbidden']);
    expect((await api(`/v1/live_inputs/${live.id}`, { method: 'DELETE' })).status).toBe(204);
    r = await put(`${rotated.ingest.url}/index.m3u8`, '#EXTM3U\n');
    expect([r.status, await codeOf(r)]).toEqual([410, 'gone']);
    expect((await api(`/v1/live_inputs/${live.id}`)).status).toBe(404);
  });

  it('plays live in hls.js, survives a killed broadcaster, and records a READY video', async () => {
    const created = await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'e2e live', reconnectWindowSeconds: 60 }) });
    const live = (await created.json()) as { id: string; ingest: { url: string } };

    const first = pushLive(live.ingest.url, { seconds: 60 });
    const { playback } = await until('the input goes live', () => input(live.id), (i) => i.status === 'live' && i.playback.videoId !== null);
    const videoId = playback.videoId!;
    // Playable once its first segment is in with its duration (the playlist after it).
    const signed = await until('the broadcast is playable', async () => (await (await api(`/v1/videos/${videoId}/playback`)).json()) as { url: string; status: string }, (p) => p.status !== undefined);
    expect(signed.status).toBe('PROCESSING');
    const media = async () => (await fetch(signed.url.replace('master.m3u8', '360p/playlist.m3u8'))).text();
    const growing = await until('the live playlist has 3 segments', media, (t) => (t.match(/#EXTINF/g) ?? []).length >= 3);
    expect(growing).not.toContain('#EXT-X-ENDLIST');
    // The live ladder: the 360p push is also transcoded to 240p, listed in the master once it has a segment.
    const master = await until('the master lists the 240p rung', async () => (await fetch(signed.url)).text(), (t) => t.includes('240p/playlist.m3u8'));
    expect(master).toMatch(/RESOLUTION=426x240/);
    const ladder = (await input(live.id)).ladder;
    expect(ladder?.rungs).toEqual([expect.objectContaining({ name: '240p', droppedFromSegment: null })]);
    expect(ladder!.rungs[0]!.segments).toBeGreaterThan(0);

    await page.evaluate((u) => (globalThis as unknown as { watch(u: string): void }).watch(u), signed.url);
    const state = () => page.evaluate(() => (globalThis as unknown as { state(): ViewerState }).state());
    const watching = await until('the viewer plays live', state, (s) => s.time > 2 || s.fatal !== null);
    expect(watching.fatal).toBeNull();
    expect(watching.live).toBe(true);

    // The broadcaster dies mid-segment; what it had finished stays listed, and the viewer keeps its place.
    first.child.kill('SIGKILL');
    await first.done;
    const beforeReconnect = (await media()).match(/#EXTINF:([\d.]+)/g)!.map((l) => Number(l.slice(8)));
    expect((await input(live.id)).status).toBe('live');

    const second = pushLive(live.ingest.url, { seconds: 8 });
    const afterBreak = await until('the viewer plays past the reconnect', state, (s) => s.frags.some((f) => f.cc === 1) || s.fatal !== null, 90_000);
    expect(afterBreak.fatal).toBeNull();
    expect(await second.done).toBe(0);

    // The input ends once the last segments are in and the lower rung's encodes caught up: a busy machine takes
    // longer, so the deadline is only a safety net.
    const ended = await until('the recording is READY', () => input(live.id), (i) => i.status === 'idle', 180_000);
    expect(ended.playback.videoId).toBe(videoId);
    const video = (await (await api(`/v1/videos/${videoId}`)).json()) as { status: string; duration: number; liveInputId?: string };
    expect(video.status).toBe('READY');
    const sent = beforeReconnect.reduce((a, b) => a + b, 0) + 8;
    expect(Math.abs(video.duration - sent)).toBeLessThanOrEqual(2.1);

    const recorded = await media();
    expect(recorded).toContain('#EXT-X-ENDLIST');
    expect(recorded.match(/#EXT-X-DISCONTINUITY\n/g)?.length).toBe(1);
    // The recording has the transcoded rung too, over every segment, with the same discontinuity.
    const lower = await (await fetch(signed.url.replace('master.m3u8', '240p/playlist.m3u8'))).text();
    expect(lower).toContain('#EXT-X-ENDLIST');
    expect(lower.match(/#EXTINF:[\d.]+/g)).toEqual(recorded.match(/#EXTINF:[\d.]+/g));
    expect(lower.match(/#EXT-X-DISCONTINUITY\n/g)?.length).toBe(1);
    const final = await until('the viewer reaches the end', state, (s) => s.ended || s.fatal !== null, 60_000);
    expect(final.fatal).toBeNull();
    expect(new Set(final.frags.map((f) => f.cc))).toEqual(new Set([0, 1]));

    // The recording plays from its start in a fresh viewer.
    const vod = (await (await api(`/v1/videos/${videoId}/playback`)).json()) as { url: string; status: string };
    expect(vod.status).toBe('READY');
    // Its poster is a frame of its own segments (a recording has no original for the transcoder's poster).
    const poster = await fetch(vod.url.replace('master.m3u8', 'thumbnails/poster.jpg'));
    expect(poster.status).toBe(200);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    expect([...new Uint8Array(await poster.arrayBuffer()).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    // Its storyboard follows READY, made from its lowest rung: one tile every 2 s over the whole recording, across
    // the reconnect (whose segments' timestamps restart).
    const storyboardUrl = vod.url.replace('master.m3u8', 'thumbnails/storyboard.vtt');
    const storyboard = await until('the recording has a storyboard', async () => {
      const res = await fetch(storyboardUrl);
      return res.status === 200 ? res.text() : null;
    }, (t) => t !== null, 120_000);
    const cues = storyboard!.split('\n').filter((l) => l.includes(' --> '));
    expect(Math.abs(cues.length - Math.ceil(video.duration / 2))).toBeLessThanOrEqual(1);
    expect(cues[0]).toMatch(/^00:00:00\.000 --> 00:00:02\.000$/);
    const sprite = await fetch(vod.url.replace('master.m3u8', 'thumbnails/sprite_0.jpg'));
    expect(sprite.status).toBe(200);
    expect([...new Uint8Array(await sprite.arrayBuffer()).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const fresh = await browser.newPage();
    await fresh.goto(`${pageServer.origin}/`);
    await fresh.evaluate((u) => (globalThis as unknown as { watch(u: string): void }).watch(u), vod.url);
    const replay = await until('the recording plays', () => fresh.evaluate(() => (globalThis as unknown as { state(): ViewerState }).state()), (s) => s.time > 1 || s.fatal !== null);
    expect(replay.fatal).toBeNull();
    expect(replay.live).toBe(false);
    expect(replay.frags[0]!.sn).toBe(0);
    await fresh.close();

    // Like any other video: an MP4 download of its top rung (its segments joined across the reconnect), an instant
    // clip, and deletion.
    const ordered = await api(`/v1/videos/${videoId}/downloads`, { method: 'POST', body: '{}' });
    expect(ordered.status).toBe(202);
    const rendition = ((await ordered.json()) as { rendition: string }).rendition;
    expect(rendition).toBe('360p');
    const made = await until('the download is made', async () =>
      ((await (await api(`/v1/videos/${videoId}`)).json()) as { downloads: { rendition: string; status: string; method: string | null }[] }).downloads.find((d) => d.rendition === rendition),
    (d) => d?.status === 'COMPLETED' || d?.status === 'FAILED', 120_000);
    expect(made).toMatchObject({ status: 'COMPLETED', method: 'remux' });
    const listed = (await (await api(`/v1/videos/${videoId}/downloads`)).json()) as { downloads: { url: string }[] };
    const downloadDir = mkdtempSync(path.join(os.tmpdir(), 'live-download-'));
    onTestFinished(() => rmSync(downloadDir, { recursive: true, force: true }));
    const mp4 = path.join(downloadDir, 'recording.mp4');
    writeFileSync(mp4, Buffer.from(await (await fetch(listed.downloads[0]!.url)).arrayBuffer()));
    const probed = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', mp4], { encoding: 'utf8' })) as { format: { duration: string }; streams: { codec_name: string }[] };
    expect(Math.abs(Number(probed.format.duration) - video.duration)).toBeLessThanOrEqual(2.1);
    expect(probed.streams.map((st) => st.codec_name).sort()).toEqual(['aac', 'h264']);
    execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', mp4, '-f', 'null', '-']);

    const clipped = await api(`/v1/videos/${videoId}/clips`, { method: 'POST', body: JSON.stringify({ start: 1, end: 5 }) });
    expect(clipped.status).toBe(201);
    const clip = (await clipped.json()) as { id: string; status: string; duration: number };
    expect(clip.status).toBe('READY');
    const clipPlayback = (await (await api(`/v1/videos/${clip.id}/playback`)).json()) as { url: string };
    const clipMedia = await (await fetch(clipPlayback.url.replace('master.m3u8', '360p/playlist.m3u8'))).text();
    expect(clipMedia).toContain('#EXT-X-ENDLIST');
    const listedSeconds = (clipMedia.match(/#EXTINF:([\d.]+)/g) ?? []).reduce((a, l) => a + Number(l.slice(8)), 0);
    expect(listedSeconds).toBeCloseTo(clip.duration, 2);
    expect(clip.duration).toBeGreaterThanOrEqual(4);

    expect((await api(`/v1/videos/${videoId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/v1/videos/${videoId}`)).status).toBe(404);
    expect((await api(`/v1/videos/${clip.id}`)).status).toBe(404);
  }, 600_000);

  it('orders hand-pushed segments: a repeat changes nothing, a late one and a new resolution are refused; webhooks follow', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'live-order-'));
    const received: { type: string; data: { videoId: string; liveInputId?: string } }[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as (typeof received)[number]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const hook = await api('/v1/webhooks', {
        method: 'POST',
        body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['live_input.connected', 'live_input.disconnected', 'live_input.recording.ready'] }),
      });
      expect(hook.status).toBe(201);
      // Encoded without blocking the event loop: a kept-alive socket the stack closes meanwhile is then seen closed,
      // not reused for the POST below (which is not retried: it is not idempotent).
      const encode = (size: string, name: string) =>
        promisify(execFile)('nice', ['-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine',
          '-t', '6', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-sc_threshold', '0', '-c:a', 'aac', '-f', 'hls', '-hls_time', '2', path.join(dir, `${name}.m3u8`)]);
      await encode('640x360', 'a');
      await encode('854x480', 'b');
      const live = (await (await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'ordering' }) })).json()) as { id: string; ingest: { url: string } };
      // stackFetch: a push that met a kept-alive socket wrangler dev just closed is sent again (a repeat changes nothing).
      const put = async (name: string, file: string) => (await stackFetch(`${live.ingest.url}/${name}`, { method: 'PUT', body: readFileSync(path.join(dir, file)) })).status;
      expect(await put('index0.ts', 'a0.ts')).toBe(201);
      expect(await put('index0.ts', 'a0.ts')).toBe(200);
      expect(await put('index2.ts', 'a2.ts')).toBe(201);
      const late = await stackFetch(`${live.ingest.url}/index1.ts`, { method: 'PUT', body: readFileSync(path.join(dir, 'a1.ts')) });
      expect([late.status, ((await late.json()) as { error: { code: string } }).error.code]).toEqual([409, 'out_of_order']);
      const resized = await stackFetch(`${live.ingest.url}/index3.ts`, { method: 'PUT', body: readFileSync(path.join(dir, 'b0.ts')) });
      expect(resized.status).toBe(409);
      expect(((await resized.json()) as { error: { message: string } }).error.message).toMatch(/changed resolution .*640x360 → 854x480/);
      // The final playlist overtakes its last segment (ffmpeg sends both without waiting): the broadcast waits for it.
      const playlist = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\nindex0.ts\n#EXTINF:2.000000,\nindex2.ts\n#EXTINF:2.000000,\nindex4.ts\n#EXT-X-ENDLIST\n';
      expect((await fetch(`${live.ingest.url}/index.m3u8`, { method: 'PUT', body: playlist })).status).toBe(204);
      expect((await input(live.id)).status).toBe('live');
      expect(await put('index4.ts', 'a1.ts')).toBe(201);

      const ended = await until('the input is idle', () => input(live.id), (i) => i.status === 'idle' && i.playback.videoId !== null);
      const videoId = ended.playback.videoId!;
      const video = (await (await api(`/v1/videos/${videoId}`)).json()) as { status: string; duration: number };
      expect(video).toMatchObject({ status: 'READY', duration: 6 });
      const signed = (await (await api(`/v1/videos/${videoId}/playback`)).json()) as { url: string };
      const media = await (await fetch(signed.url.replace('master.m3u8', '360p/playlist.m3u8'))).text();
      expect(media.match(/segment_\d+\.ts/g)).toEqual(['segment_0000.ts', 'segment_0001.ts', 'segment_0002.ts']);
      const lower = await (await fetch(signed.url.replace('master.m3u8', '240p/playlist.m3u8'))).text();
      expect(lower.match(/segment_\d+\.ts/g)).toEqual(['segment_0000.ts', 'segment_0001.ts', 'segment_0002.ts']);
      const events = await until('three webhooks', async () => received.filter((e) => e.data.videoId === videoId).map((e) => e.type), (t) => t.length >= 3);
      expect(events.sort()).toEqual(['live_input.connected', 'live_input.disconnected', 'live_input.recording.ready']);
      expect(received.every((e) => e.data.liveInputId === live.id)).toBe(true);
    } finally {
      receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * End to end: the live ladder falling behind, on a stack of its own (real wrangler dev and transcoder). A 854x480
 * broadcast is pushed by hand, one segment and its playlist at a time, so the test decides when each arrives; the
 * transcoder holds the encode of segment 2 (`live@2`, hold.ts) while segments 3 and 4 arrive. With
 * LIVE_LADDER_MAX_BACKLOG=1 the ladder then has more waiting than it may: the top transcoded rung (360p) is dropped
 * from segment 3 on (still in the master, its playlist listing segment 3 and every later one as `EXT-X-GAP`), 240p
 * goes on with every segment, and the pushed 480p rung never misses one. The recording is READY with the rungs that
 * cover it all: 480p and 240p; what 360p had is deleted. A viewer in Chromium (hls.js, held to 360p and below) plays
 * through the drop: at the first gap it goes on in 240p, without requesting a gap segment and without an error
 * that stops it.
 * No timing is involved: the backlog exists because the test holds the encode, however fast the machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, serveHlsPage } from '../helpers/chromium';
import { stackFetch, startStack, type Stack } from '../helpers/local-stack';
import { listObjects } from '../helpers/transcoding-media';

const SEGMENTS = 8;

/** hls.js with its defaults, capped at 360p from the start (the rung that will be dropped). */
const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
window.viewer = { frags: [], errors: [], fatal: null };
window.watch = (url) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false });
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => {
    const cap = d.levels.findIndex((l) => l.height === 360);
    hls.autoLevelCapping = cap;
    hls.startLevel = cap;
    video.play();
  });
  hls.on(Hls.Events.ERROR, (_e, d) => { window.viewer.errors.push(d.details); if (d.fatal) window.viewer.fatal = d.type + ' ' + d.details; });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => { if (d.frag.type === 'main') window.viewer.frags.push(hls.levels[d.frag.level].height + '@' + d.frag.sn); });
  hls.loadSource(url);
  hls.attachMedia(video);
};
window.state = () => ({ ...window.viewer, time: document.getElementById('v').currentTime });
</script></body></html>`;

interface ViewerState {
  frags: string[];
  errors: string[];
  fatal: string | null;
  time: number;
}

interface LiveInputView {
  status: string;
  playback: { videoId: string | null };
  ladder?: { rungs: { name: string; segments: number; droppedFromSegment: number | null }[]; backlog: number };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await probe();
  }
  return last;
}

describe('live ladder: the top rung goes when the transcoder falls behind, never the stream', () => {
  let stack: Stack;
  let dir: string;
  let browser: Browser;
  let pageServer: Awaited<ReturnType<typeof serveHlsPage>>;
  const api = (p: string, init: RequestInit = {}) =>
    stackFetch(`${stack.origin}${p}`, { ...init, headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'live-ladder-'));
    execFileSync('nice', [
      '-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30', '-f', 'lavfi', '-i', 'sine',
      '-t', String(SEGMENTS * 2), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-c:a', 'aac',
      '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', path.join(dir, 'index.m3u8'),
    ]);
    stack = await startStack({ transcoder: true, vars: { LIVE_LADDER_MAX_BACKLOG: '1' }, holdUnits: ['live@2'] });
    pageServer = await serveHlsPage(PAGE);
    browser = await launchChromium();
  }, 240_000);

  beforeEach(() => onTestFailed(() => console.log(stack.logs.slice(-80).join(''))));

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drops 360p from the segment after the backlog, keeps 240p whole, and records 480p + 240p', async () => {
    const live = (await (await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'ladder' }) })).json()) as { id: string; ingest: { url: string } };
    const input = async () => (await (await api(`/v1/live_inputs/${live.id}`)).json()) as LiveInputView;
    const playlist = (last: number, ended = false) =>
      ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', ...Array.from({ length: last + 1 }, (_, n) => `#EXTINF:2.000000,\nindex${n}.ts`), ...(ended ? ['#EXT-X-ENDLIST'] : [])].join('\n') + '\n';
    const push = async (n: number) => {
      expect((await fetch(`${live.ingest.url}/index${n}.ts`, { method: 'PUT', body: readFileSync(path.join(dir, `index${n}.ts`)) })).status).toBe(201);
      expect((await fetch(`${live.ingest.url}/index.m3u8`, { method: 'PUT', body: playlist(n) })).status).toBe(204);
    };
    const rung = (view: LiveInputView, name: string) => view.ladder?.rungs.find((r) => r.name === name);

    // Segments 0 and 1 go through both transcoded rungs, each before the next is pushed (no backlog).
    for (let n = 0; n <= 1; n++) {
      await push(n);
      await until(`segment ${n} is encoded`, input, (v) => v.ladder?.rungs.every((r) => r.segments === n + 1) === true);
    }
    const videoId = (await input()).playback.videoId!;
    // The encode of segment 2 is held as it starts.
    await push(2);
    const held = await stack.waitForHeld(videoId, 'live@2', 120_000);
    let view = await input();
    expect(view.ladder?.rungs.map((r) => [r.name, r.segments, r.droppedFromSegment])).toEqual([['360p', 2, null], ['240p', 2, null]]);
    const signed = (await (await api(`/v1/videos/${videoId}/playback`)).json()) as { url: string };
    const master = async () => (await fetch(signed.url)).text();
    const variants = (text: string) => text.match(/^\d+p(?=\/playlist\.m3u8$)/gm);
    expect(variants(await until('the master lists every rung', master, (t) => (variants(t) ?? []).length === 3))?.sort()).toEqual(['240p', '360p', '480p']);
    // The viewer starts now, on 360p, while segment 2 is held: it plays what is there and waits for more.
    const page: Page = await browser.newPage();
    // What the player really fetched (a gap is never requested) and what failed.
    const fetched: string[] = [];
    const failed: string[] = [];
    page.on('response', (res) => {
      const name = new URL(res.url()).pathname.split('/').slice(-2).join('/');
      fetched.push(name);
      if (res.status() >= 400) failed.push(`${res.status()} ${name}`);
    });
    await page.goto(pageServer.origin);
    await page.evaluate((u) => (globalThis as unknown as { watch(u: string): void }).watch(u), signed.url);
    const viewer = () => page.evaluate(() => (globalThis as unknown as { state(): ViewerState }).state());
    await until('the viewer plays 360p', viewer, (v) => v.frags.includes('360@0') || v.fatal !== null, 60_000);

    // Two more segments while segment 2's encode is held: three wait, more than the one allowed.
    await push(3);
    await push(4);
    view = await until('three segments wait', input, (v) => v.ladder?.backlog === 3);
    process.kill(held.pid, 'SIGCONT');

    view = await until('360p is dropped and 240p catches up', input, (v) => rung(v, '360p')?.droppedFromSegment !== null && rung(v, '240p')?.segments === 5);
    // 360p keeps the segments it had (0 to 2, the one held included).
    expect(rung(view, '360p')).toMatchObject({ droppedFromSegment: 3, segments: 3 });
    expect(rung(view, '240p')).toMatchObject({ droppedFromSegment: null });
    expect(stack.logs.join('')).toMatch(/"event":"live.ladder.dropped".*"rung":"360p"/);
    // A live master is read once: it keeps listing 360p, whose playlist goes on with gaps from segment 3.
    expect(variants(await master())?.sort()).toEqual(['240p', '360p', '480p']);
    const media360 = async () => (await fetch(signed.url.replace('master.m3u8', '360p/playlist.m3u8'))).text();
    const gaps = (text: string) => {
      const lines = text.split('\n');
      return lines.filter((l) => /^segment_\d+\.ts$/.test(l)).map((name) => `${name}${lines[lines.indexOf(name) - 2] === '#EXT-X-GAP' ? ' gap' : ''}`);
    };
    expect(gaps(await until('360p lists segment 4', media360, (t) => t.includes('segment_0004.ts')))).toEqual(['segment_0000.ts', 'segment_0001.ts', 'segment_0002.ts', 'segment_0003.ts gap', 'segment_0004.ts gap']);
    const gapSegment = await fetch(signed.url.replace('master.m3u8', '360p/segment_0003.ts'));
    expect(gapSegment.status).toBe(404);
    expect(await gapSegment.text()).toMatch(/segment_0003\.ts is a gap: the broadcast dropped 360p/);
    expect((await fetch(signed.url.replace('master.m3u8', '360p/segment_0002.ts'))).status).toBe(200);

    // Caught up: one segment at a time, the remaining rung keeps every one and nothing more is dropped.
    for (let n = 5; n < SEGMENTS; n++) {
      await push(n);
      await until(`240p has segment ${n}`, input, (v) => rung(v, '240p')?.segments === n + 1);
    }
    expect(rung(await input(), '240p')?.droppedFromSegment).toBeNull();
    // The viewer went on past the drop in 240p: 360p up to segment 2, then 240p; no gap segment requested.
    const watched = await until('the viewer plays past the drop', viewer, (v) => v.time > 10 || v.fatal !== null, 120_000);
    expect(watched.fatal).toBeNull();
    expect(watched.frags).toContain('240@3');
    expect(watched.frags.filter((f) => f.startsWith('360@')).map((f) => Number(f.slice(4))).every((sn) => sn < 3)).toBe(true);
    expect(fetched.filter((u) => u.startsWith('360p/segment_')).sort()).toEqual(['360p/segment_0000.ts', '360p/segment_0001.ts', '360p/segment_0002.ts']);
    expect(failed).toEqual([]);
    // On 360p when the first gap came (unless its ABR had already gone down): hls.js met the gap and switched.
    if (watched.frags.includes('360@2')) expect(watched.errors).toContain('fragGap');
    expect(watched.errors.filter((e) => /load/i.test(e))).toEqual([]);
    await page.close();
    const lastGap = `segment_${String(SEGMENTS - 1).padStart(4, '0')}.ts gap`;
    expect(gaps(await until('360p lists the last segment as a gap', media360, (t) => gaps(t).includes(lastGap)))).toHaveLength(SEGMENTS);
    expect((await fetch(`${live.ingest.url}/index.m3u8`, { method: 'PUT', body: playlist(SEGMENTS - 1, true) })).status).toBe(204);

    await until('the recording is READY', async () => (await (await api(`/v1/videos/${videoId}`)).json()) as { status: string }, (v) => v.status === 'READY', 60_000);
    expect(variants(await master())?.sort()).toEqual(['240p', '480p']);
    for (const name of ['480p', '240p']) {
      const media = await (await fetch(signed.url.replace('master.m3u8', `${name}/playlist.m3u8`))).text();
      expect(media).toContain('#EXT-X-ENDLIST');
      expect(media.match(/segment_\d+\.ts/g)).toHaveLength(SEGMENTS);
    }
    // The recording leaves 360p out (once the live playlist's edge copy, about a second, has expired), and what it
    // had is deleted.
    await until('360p/playlist.m3u8 is gone', async () => (await fetch(signed.url.replace('master.m3u8', '360p/playlist.m3u8'))).status, (status) => status === 404, 15_000);
    expect(await listObjects(stack, `videos/${videoId}/360p/`)).toEqual([]);
    expect(await listObjects(stack, `videos/${videoId}/240p/`)).toHaveLength(SEGMENTS + 1);
  });
});

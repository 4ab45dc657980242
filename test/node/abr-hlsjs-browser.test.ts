/**
 * The platform ABR controller inside a real hls.js (the light build the watch page bundles) in headless Chromium,
 * against a real ffmpeg-made 3-rung ladder served by a plain local http server (no wrangler: this test is about the
 * adapter and hls.js, not the stack). The server can trickle segment bytes at a fixed rate to play a slow link.
 *
 * - Fast link: hls.js consults the controller, and the player climbs above the lowest rung on its own within the
 *   first few segments (LEVEL_SWITCHED to a higher level while in Auto, nothing forced).
 * - Fast link, the web e2e case (10 s clip buffered while paused): not all on the lowest rung.
 * - Slow link (0.65 Mbit/s, below the second rung): a first-time viewer stays on the lowest rung; a returning viewer
 *   whose stored estimate is fast starts high and steps down to the lowest rung.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePageScript, launchChromium } from '../helpers/chromium';
import { makeHlsLadder, type LadderRung, type LadderRungSpec } from '../helpers/hls-ladder';
import { ABR_STORAGE_KEY } from '../../abr/hls-abr-controller';

/**
 * The platform ladder's first three rungs (config LADDER video bitrates; + 96 kbit/s audio). The master lists 240p
 * first with its measured peak (~0.6 Mbit/s), as the playback module does: above hls.js's 0.5 Mbit/s default
 * estimate, so hls.js's level controller calls `abrController.resetEstimator(firstVariantBitrate)` at manifest load,
 * the path that kept the web e2e test's 10 s clip on the lowest rungs.
 */
const RUNGS: LadderRungSpec[] = [
  { name: '240p', width: 426, height: 240, bitrate: 400_000 },
  { name: '360p', width: 640, height: 360, bitrate: 800_000 },
  { name: '480p', width: 854, height: 480, bitrate: 1_500_000 },
];
/** Between the 240p rung (~0.5 Mbit/s on the wire) and the 360p one (~0.9). */
const SLOW_BPS = 650_000;

/** The page: hls.js with `abrController: PlatformAbrController`, recording what happened for the test to read. */
const ENTRY = `
import Hls from 'hls.js';
import { PlatformHlsAbr, PlatformAbrController } from './abr/hls-abr-controller';

// Count hls.js's reads of nextAutoLevel (the stream controller asks it before every fragment).
let reads = 0;
const desc = Object.getOwnPropertyDescriptor(PlatformHlsAbr.prototype, 'nextAutoLevel');
Object.defineProperty(PlatformHlsAbr.prototype, 'nextAutoLevel', {
  configurable: true,
  get() { reads++; return desc.get.call(this); },
  set(v) { desc.set.call(this, v); },
});

// Resolves once \`fragsWanted\` main fragments have loaded and, with \`untilUp\`, playback has switched above rung 0
// (LEVEL_SWITCHED fires when the playhead enters a fragment of another level), or at the end of the video.
window.watch = (url, fragsWanted, untilUp, opts = {}) => new Promise((resolve, reject) => {
  const video = document.getElementById('v');
  const hls = new Hls({ abrController: PlatformAbrController, ...(opts.config || {}) });
  window.hls = hls;
  const t0 = performance.now();
  const at = () => Math.round(performance.now() - t0);
  let firstBitrate = 0;
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => { firstBitrate = d.levels.find((l) => l.height === 240)?.bitrate ?? 0; });
  const loading = [];
  const loaded = [];
  const switched = [];
  let finished = false;
  const done = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    const result = { loading, loaded, switched, reads, auto: hls.autoLevelEnabled, manualLevel: hls.manualLevel,
      estimate: hls.bandwidthEstimate, heights: hls.levels.map((l) => l.height), firstBitrate };
    hls.destroy();
    resolve(result);
  };
  const timer = setTimeout(() => reject(new Error('timeout: ' + JSON.stringify({ loading, loaded, switched, reads }))), 40000);
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) { clearTimeout(timer); reject(new Error('hls fatal: ' + d.details)); } });
  hls.on(Hls.Events.FRAG_LOADING, (_e, d) => { if (d.frag.type === 'main') loading.push({ sn: d.frag.sn, level: d.frag.level, t: at() }); });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    if (d.frag.type !== 'main') return;
    loaded.push({ sn: d.frag.sn, level: d.frag.level, t: at(), bytes: d.frag.stats.loaded });
    if (loaded.length >= fragsWanted && (!untilUp || switched.some((s) => s.level > 0))) done();
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
    switched.push({ level: d.level, t: at() });
    if (loaded.length >= fragsWanted && untilUp && d.level > 0) done();
  });
  video.addEventListener('ended', done);
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    if (opts.playDelayMs !== undefined) setTimeout(() => video.play().catch(() => {}), opts.playDelayMs);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
});
`;

interface Watch {
  loading: { sn: number; level: number; t: number }[];
  loaded: { sn: number; level: number; t: number; bytes: number }[];
  switched: { level: number; t: number }[];
  reads: number;
  auto: boolean;
  manualLevel: number;
  estimate: number;
  heights: number[];
  firstBitrate: number;
}

function masterPlaylist(ladder: LadderRung[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3'];
  for (const r of ladder) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},AVERAGE-BANDWIDTH=${r.averageBandwidth},RESOLUTION=${r.width}x${r.height},CODECS="${r.codecs}",FRAME-RATE=${r.frameRate}`,
      `${r.name}/playlist.m3u8`,
    );
  }
  return lines.join('\n') + '\n';
}

const SHORT_SEGMENTS = 5;

/** The first `segments` segments of a VOD media playlist. */
function truncatePlaylist(text: string, segments: number): string {
  const out: string[] = [];
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-ENDLIST')) break;
    if (count === segments && line.startsWith('#EXTINF')) break;
    out.push(line);
    if (line && !line.startsWith('#')) count++;
  }
  return out.join('\n') + '\n#EXT-X-ENDLIST\n';
}

/** Sends `body` at `bps`, in 50 ms slices (a token bucket per request, like a bottleneck link shared by nobody). */
function trickle(res: ServerResponse, body: Buffer, bps: number): void {
  const slice = Math.max(1, Math.round(bps / 8 / 20));
  let offset = 0;
  const send = (): void => {
    if (res.destroyed) return;
    const end = Math.min(body.length, offset + slice);
    res.write(body.subarray(offset, end));
    offset = end;
    if (offset < body.length) setTimeout(send, 50);
    else res.end();
  };
  send();
}

describe('PlatformAbrController in hls.js in Chromium', () => {
  let dir: string;
  let server: Server;
  let origin: string;
  let browser: Browser;
  /** Segment delivery rate for the next requests; null = as fast as loopback goes. */
  let rateBps: number | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'abr-browser-'));
    const ladder = makeHlsLadder(dir, { seconds: 20, segmentSeconds: 2, rungs: RUNGS });
    writeFileSync(path.join(dir, 'master.m3u8'), masterPlaylist(ladder));
    const js = await bundlePageScript(ENTRY);
    const page = '<!doctype html><html><body><video id="v" muted playsinline></video><script src="/bundle.js"></script></body></html>';
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
      if (url.pathname === '/bundle.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(js);
      // /media/short/… is the same ladder cut to its first SHORT_SEGMENTS segments (the web e2e test's 10 s clip).
      const short = url.pathname.startsWith('/media/short/');
      const file = path.join(dir, path.normalize(url.pathname.replace(/^\/media\/(short\/)?/, '')));
      if (!url.pathname.startsWith('/media/') || !file.startsWith(dir)) return void res.writeHead(404).end();
      let body: Buffer;
      try {
        body = readFileSync(file);
      } catch {
        return void res.writeHead(404).end();
      }
      if (short && file.endsWith('playlist.m3u8')) body = Buffer.from(truncatePlaylist(body.toString('utf8'), SHORT_SEGMENTS));
      const isSegment = file.endsWith('.ts');
      res.writeHead(200, { 'Content-Type': isSegment ? 'video/mp2t' : 'application/vnd.apple.mpegurl', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
      if (isSegment && rateBps) trickle(res, body, rateBps);
      else res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function watch(
    fragsWanted: number,
    options: { storedEstimateBps?: number; untilUp?: boolean; short?: boolean; paused?: boolean } = {},
  ): Promise<Watch> {
    const { storedEstimateBps, untilUp = false, short = false, paused = false } = options;
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(origin);
      if (storedEstimateBps) {
        await page.evaluate(([key, bps]) => localStorage.setItem(key, JSON.stringify({ bandwidthBps: bps, savedAtMs: Date.now() })), [ABR_STORAGE_KEY, storedEstimateBps] as const);
      }
      const result = (await page.evaluate(
        ([u, n, up, playDelayMs]) =>
          (window as unknown as { watch: (u: string, n: number, up: boolean, o: object) => Promise<Watch> }).watch(u, n, up, { playDelayMs }),
        [`${origin}/media/${short ? 'short/' : ''}master.m3u8`, fragsWanted, untilUp, paused ? undefined : 0] as const,
      )) as Watch;
      console.log(`[abr-browser] ${rateBps ? `${rateBps / 1e6} Mbit/s` : 'fast'}${short ? ' 10 s clip, paused' : ''}${storedEstimateBps ? ' (returning)' : ''}: loaded ${result.loaded.map((f) => `${f.sn}@${f.level}`).join(' ')}; switched ${result.switched.map((s) => `${s.level}@${s.t}ms`).join(' ')}; reads ${result.reads}; estimate ${Math.round(result.estimate / 1e3)} kbit/s`);
      return result;
    } finally {
      await context.close();
    }
  }

  it('fast link: hls.js asks the controller, which climbs above the lowest rung within the first segments', async () => {
    rateBps = null;
    const r = await watch(10, { untilUp: true });
    expect(r.heights).toEqual([240, 360, 480]);
    expect(r.reads).toBeGreaterThan(0);
    // In Auto the whole time: the climb is the controller's, not a manual pick.
    expect(r.auto).toBe(true);
    expect(r.manualLevel).toBe(-1);
    expect(r.estimate).toBeGreaterThan(5e6);
    // A first-time viewer starts on the lowest rung, then a higher one by the third segment at the latest.
    expect(r.loaded[0]?.level).toBe(0);
    expect(r.loaded.slice(0, 3).some((f) => f.level > 0)).toBe(true);
    // From then on it stays up (a 20+ Mbit/s loopback never justifies going back down), to the top rung.
    const firstUp = r.loaded.findIndex((f) => f.level > 0);
    expect(r.loaded.slice(firstUp).every((f) => f.level > 0)).toBe(true);
    expect(r.loaded.at(-1)?.level).toBe(2);
    // And playback went up with it: LEVEL_SWITCHED to a higher rung, while still in Auto.
    expect(r.switched.some((s) => s.level > 0)).toBe(true);
  });

  it('fast link, the web e2e case: a 10 s clip buffered while paused is not all on the lowest rung', async () => {
    rateBps = null;
    // The watch page does not autoplay: hls.js buffers the whole clip (5 segments) before anyone presses play.
    const r = await watch(SHORT_SEGMENTS, { short: true, paused: true });
    // The manifest-load reset happened (first variant above hls.js's default), and did not hold the estimate down.
    expect(r.firstBitrate).toBeGreaterThan(500_000);
    expect(r.loaded.map((f) => f.sn)).toEqual([0, 1, 2, 3, 4]);
    expect(r.loaded[0]?.level).toBe(0);
    expect(r.loaded[1]?.level).toBeGreaterThan(0);
    expect(r.loaded.slice(2).every((f) => f.level === 2)).toBe(true);
  });

  it('slow link (0.65 Mbit/s): a first-time viewer stays on the lowest rung', async () => {
    rateBps = SLOW_BPS;
    const r = await watch(4);
    expect(r.reads).toBeGreaterThan(0);
    expect(r.loaded.map((f) => f.level)).toEqual([0, 0, 0, 0]);
    expect(r.estimate).toBeLessThan(1e6);
  });

  it('slow link: a returning viewer with a fast stored estimate starts high and steps down', async () => {
    rateBps = SLOW_BPS;
    const r = await watch(4, { storedEstimateBps: 20e6 });
    // The stored estimate picks a higher rung for the first segment...
    expect(r.loading[0]?.level).toBeGreaterThan(0);
    // ...which the link cannot carry: the player is on the lowest rung within a few segments, and stays there.
    expect(r.loaded.at(-1)?.level).toBe(0);
    expect(r.loaded.slice(-2).every((f) => f.level === 0)).toBe(true);
  });
});

/**
 * End to end: an 8 s 640×360 source uploaded to the shared local stack (shared-stack.ts) and transcoded into a 2-rung
 * ladder with its audio rendition, played by hls.js in headless Chromium from a page on another origin (so CORS is
 * exercised) through the signed URL from the API. The player loads the master, is forced from one rendition to the
 * other with `hls.currentLevel`, and plays to the end; a second viewer (fresh browser context, its own signed URL)
 * is then served every playlist and segment from cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackClient } from '../helpers/local-stack';
import { launchChromium, serveHlsPage } from '../helpers/chromium';
import { sharedStack } from '../helpers/shared-stack';
import { transcodedVideo } from '../helpers/transcoding-media';

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
window.play = (url) => new Promise((resolve, reject) => {
  const video = document.getElementById('v');
  const hls = new Hls({ startLevel: 0, capLevelToPlayerSize: false, enableWorker: false });
  const frags = [];
  const switched = [];
  let forced = false;
  const timer = setTimeout(() => reject(new Error('timeout: ' + JSON.stringify({ frags, switched, t: video.currentTime }))), 90000);
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) { clearTimeout(timer); reject(new Error('hls fatal: ' + d.type + ' ' + d.details)); } });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    if (d.frag.type !== 'main') return; // the audio rendition's fragments: their level is the audio track
    frags.push({ level: d.frag.level, sn: d.frag.sn });
    const level0 = frags.filter((f) => f.level === 0).length;
    // Once the first rung is fully buffered and playback has started, force the other rung.
    if (!forced && level0 === hls.levels[0].details.fragments.length) {
      forced = true;
      hls.currentLevel = 1;
    }
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => switched.push(d.level));
  video.addEventListener('ended', () => {
    clearTimeout(timer);
    resolve({ frags, switched, levels: hls.levels.map((l) => l.height), duration: video.duration, currentTime: video.currentTime });
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    // Manual level selection (no ABR): start on the first rung; the switch below is forced, not bandwidth-driven.
    hls.currentLevel = 0;
    video.play().catch(reject);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
});
</script></body></html>`;

interface PlayResult {
  frags: { level: number; sn: number }[];
  switched: number[];
  levels: number[];
  duration: number;
  currentTime: number;
}

describe('hls.js plays a signed READY video end to end', () => {
  let stack: StackClient;
  let pageServer: Awaited<ReturnType<typeof serveHlsPage>> | undefined;
  let pageOrigin: string;
  let browser: Browser;
  let workDir: string;
  let videoId: string;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'playback-e2e-'));
    stack = await sharedStack('playback e2e');
    videoId = (await transcodedVideo(stack, 'e2e ladder', path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 8 })).id;

    pageServer = await serveHlsPage(PAGE);
    pageOrigin = pageServer.origin;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function signedUrl(): Promise<string> {
    const res = await fetch(`${stack.origin}/v1/videos/${videoId}/playback`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { url: string }).url;
  }

  async function watch(): Promise<{ result: PlayResult; cacheByPath: Map<string, string | null> }> {
    const context = await browser.newContext();
    const page: Page = await context.newPage();
    const cacheByPath = new Map<string, string | null>();
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.origin === stack.origin && url.pathname.startsWith('/v/')) cacheByPath.set(url.pathname, res.headers()['x-cache'] ?? null);
    });
    await page.goto(pageOrigin);
    const url = await signedUrl();
    const result = (await page.evaluate((u) => (window as unknown as { play: (u: string) => Promise<unknown> }).play(u), url)) as PlayResult;
    await context.close();
    return { result, cacheByPath };
  }

  it('loads the master, switches renditions on demand, reaches the end; a second viewer is served from cache', async () => {
    const first = await watch();
    expect(first.result.levels).toEqual([240, 360]);
    // Rung 0 first (pinned), then the forced switch: rung 1 fragments after, and hls.js reports the switch.
    const levelOrder = first.result.frags.map((f) => f.level);
    expect(levelOrder[0]).toBe(0);
    expect(levelOrder.at(-1)).toBe(1);
    expect(levelOrder.indexOf(1)).toBeGreaterThan(levelOrder.lastIndexOf(0));
    expect(first.result.switched.at(-1)).toBe(1);
    expect(first.result.duration).toBeGreaterThan(7.5);
    expect(first.result.currentTime).toBeGreaterThan(7.5);
    // The first viewer was served through the edge cache (filled from R2 by it, or by the warming on video.ready).
    const firstSegments = [...first.cacheByPath].filter(([p]) => p.endsWith('.ts'));
    expect(firstSegments.length).toBeGreaterThanOrEqual(6);
    for (const [p, x] of first.cacheByPath) expect({ path: p, xCache: x }).toEqual({ path: p, xCache: expect.stringMatching(/^(HIT|MISS)$/) });

    const second = await watch();
    expect(second.result.switched.at(-1)).toBe(1);
    const secondRequests = [...second.cacheByPath];
    expect(secondRequests.filter(([p]) => p.endsWith('.ts')).length).toBeGreaterThanOrEqual(4);
    // The master, the two rungs' playlists and the audio rendition's.
    expect(secondRequests.filter(([p]) => p.endsWith('.m3u8')).length).toBe(4);
    for (const [p, x] of secondRequests) expect({ path: p, xCache: x }).toEqual({ path: p, xCache: 'HIT' });
  });
});

/**
 * The startup phase of the real-player benchmark: time to first frame of the embed page and of the watch page next to
 * plain hls.js, side by side, each in its own Chromium behind its own shaping proxy.
 *
 * What is compared is QoE's startup (docs/qoe.md): from the play intent to the first `playing` of the video element.
 * The intent is the first `HTMLMediaElement.play()` call of the page: the embed's autoplay (right after it hands the
 * master URL to hls.js), the watch page's play button (clicked by the page itself the moment its script has run), and
 * plain hls.js's `video.play()` right after `loadSource` / `attachMedia`, as an app that autoplays writes it. Each
 * link is at loopback speed until that intent and follows the trace from it (the page tells the bench through an
 * exposed binding), so page loading is kept apart: it is reported on its own (navigation to intent).
 *
 * Plain hls.js is its full build (dist/hls.mjs): the platform's audio is an alternate rendition, which the light build
 * does not load, so a light-build player would start without downloading sound.
 *
 * Where the time goes: each run returns the Resource Timing of its requests after the intent (master, media and
 * audio playlists, first segments), relative to the intent.
 */
import type { Browser } from 'playwright-core';
import type { Trace } from '../../abr/lab/sim/traces';
import type { ShapingProxy } from './shaping-proxy';

export type StartupMode = 'hlsjs' | 'embed' | 'watch';

/** Plain hls.js as an app writes it: default config, its own ABR, play at once. */
export const HLSJS_STARTUP_ENTRY = `
import Hls from 'hls.js';
window.startPlain = (url) => {
  const video = document.getElementById('v');
  const hls = new Hls();
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(() => {});
};
`;

export const HLSJS_STARTUP_HTML = '<!doctype html><html><body><video id="v" muted playsinline></video><script src="/__startup_plain.js"></script></body></html>';

/** Records the intent and the first frame of the page's first played video, and tells the bench at the intent. */
const INIT_SCRIPT = `(() => {
  const play = HTMLMediaElement.prototype.play;
  window.__startup = { intent: null, playing: null };
  HTMLMediaElement.prototype.play = function (...args) {
    if (window.__startup.intent === null) {
      window.__startup.intent = performance.now();
      window.__intent();
      this.addEventListener('playing', () => { if (window.__startup.playing === null) window.__startup.playing = performance.now(); }, { once: true });
    }
    return play.apply(this, args);
  };
  // The watch page waits for its viewer: press its play button as soon as its script has run.
  document.addEventListener('DOMContentLoaded', () => { const b = document.getElementById('play'); if (b) b.click(); });
})();`;

export interface StartupRun {
  mode: StartupMode;
  /** Intent to the first frame, s. */
  ttffSec: number;
  /** Navigation to intent, s (page and script loading at loopback speed). */
  intentSec: number;
  /** Requests after the intent: [name, start, end] in s from the intent. */
  timeline: Array<[string, number, number]>;
}

export interface StartupPages {
  origin: string;
  embedUrl: string;
  watchUrl: string;
  masterUrl: string;
  /** The plain hls.js page's script (bundled by the bench). */
  plainJs: string;
}

export async function runStartup(browser: Browser, proxy: ShapingProxy, mode: StartupMode, pages: StartupPages, trace: Trace, timeoutMs: number): Promise<StartupRun> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    proxy.shape(null);
    await page.exposeFunction('__intent', () => proxy.shape(trace));
    await page.addInitScript(INIT_SCRIPT);
    if (mode === 'hlsjs') {
      const url = new URL('/__startup_plain', pages.origin).href;
      await page.route(url, (route) => route.fulfill({ contentType: 'text/html', body: HLSJS_STARTUP_HTML }));
      await page.route(new URL('/__startup_plain.js', pages.origin).href, (route) => route.fulfill({ contentType: 'text/javascript', body: pages.plainJs }));
      await page.goto(url);
      await page.evaluate((u) => (window as unknown as { startPlain(u: string): void }).startPlain(u), pages.masterUrl);
    } else {
      await page.goto(mode === 'embed' ? pages.embedUrl : pages.watchUrl);
    }
    await page.waitForFunction(() => (window as unknown as { __startup: { playing: number | null } }).__startup.playing !== null, null, { timeout: timeoutMs, polling: 50 });
    const measured = await page.evaluate(() => {
      const s = (window as unknown as { __startup: { intent: number; playing: number } }).__startup;
      const names: Array<[RegExp, string]> = [
        [/master\.m3u8/, 'master'],
        [/audio\/playlist\.m3u8/, 'audio playlist'],
        [/\/playlist\.m3u8/, 'media playlist'],
        [/audio\/segment_\d+\.ts/, 'audio segment'],
        [/segment_\d+\.ts/, 'video segment'],
        [/thumbnails\//, 'thumbnail'],
        [/\/v1\//, 'api'],
      ];
      const timeline = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => e.responseEnd >= s.intent - 1)
        .map((e): [string, number, number] => [names.find(([re]) => re.test(e.name))?.[1] ?? new URL(e.name).pathname, (e.startTime - s.intent) / 1000, (e.responseEnd - s.intent) / 1000]);
      return { ttffSec: (s.playing - s.intent) / 1000, intentSec: s.intent / 1000, timeline };
    });
    return { mode, ...measured };
  } finally {
    proxy.shape(null);
    await context.close();
  }
}

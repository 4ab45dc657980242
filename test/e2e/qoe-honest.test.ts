/**
 * Honest numbers: `<edge-video>` on another origin plays in Chromium through a throttled link (the ABR benchmark's
 * shaping proxy) that forces a stall: the first 375 kB (what 1.5 s at 2 Mbit/s carries) pass whenever the player asks
 * for them, then the link gives 20 kbit/s, far less than the video plays, until the test has seen the stall; then
 * 4 Mbit/s. Nothing depends on how fast the machine starts the player. The test measures from the video element's own events
 * (play intent to the first `playing`; each `waiting` that is not a seek, to the next `playing`), closes the page
 * mid-play, and checks that the record the page sent on `pagehide` (and the server's report of it) agree with its
 * measurements within 10 % or 250 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShapingProxy, type ShapingProxy } from '../../bench/abr-player/shaping-proxy';
import { launchChromium } from '../helpers/chromium';
import type { StackClient } from '../helpers/local-stack';
import { sharedStack } from '../helpers/shared-stack';
import { transcodedVideo } from '../helpers/transcoding-media';

/** What passes at loopback speed before the starved link: enough for startup, a few seconds of media. */
const ALLOWANCE_BYTES = 375_000;
const STARVED = { durationsSec: [3600], bps: [20_000] };
const RELEASED = { durationsSec: [3600], bps: [4_000_000] };

/** The host page: the element is added by `start()`, after the module loaded, with listeners on its video first. */
const hostPage = (stack: string, videoId: string) => `<!doctype html><html><body>
<script>
// What the player sends is copied to this page's server (beacons from a closing page are not visible to the test).
const send = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, body) => { if (String(url).endsWith('/qoe')) send('/copy', body); return send(url, body); };
</script>
<script type="module" src="${stack}/player.js"></script>
<script>
window.measured = { t0: 0, events: [] };
window.start = () => {
  const el = document.createElement('edge-video');
  el.setAttribute('video-id', '${videoId}');
  el.setAttribute('autoplay', '');
  el.setAttribute('muted', '');
  el.setAttribute('controls', '');
  // Appending runs connectedCallback (the player starts, autoplay: the play intent); its video gets listeners before
  // any of its events can fire (they are queued as tasks).
  window.measured.t0 = performance.now();
  document.body.append(el);
  const video = el.shadowRoot.querySelector('video');
  for (const type of ['playing', 'waiting', 'seeking', 'pause', 'ended']) video.addEventListener(type, () => window.measured.events.push({ type, t: performance.now(), seeking: video.seeking, pos: video.currentTime }));
  window.video = video;
};
</script></body></html>`;

interface Measured {
  t0: number;
  events: { type: string; t: number; seeking: boolean; pos: number }[];
}

/** Startup and stalls from the element's events, by the definitions of docs/qoe.md. */
function fromEvents(m: Measured, closedAt: number): { startupMs: number; stalls: number; stalledMs: number } {
  const first = m.events.find((e) => e.type === 'playing');
  if (!first) throw new Error(`never played: ${JSON.stringify(m.events)}`);
  let stalls = 0;
  let stalledMs = 0;
  let since: number | null = null;
  for (const e of m.events.filter((x) => x.t > first.t)) {
    if (e.type === 'waiting' && !e.seeking && since === null) {
      since = e.t;
      stalls++;
    } else if (since !== null && e.type !== 'waiting') {
      stalledMs += e.t - since;
      since = null;
    }
  }
  if (since !== null) stalledMs += closedAt - since;
  return { startupMs: first.t - m.t0, stalls, stalledMs };
}

const within = (reported: number, measured: number) => Math.abs(reported - measured) <= Math.max(0.1 * measured, 250);

describe('QoE reports what the viewer lived through', () => {
  let stack: StackClient;
  let browser: Browser;
  let proxy: ShapingProxy;
  let host: Server;
  let hostOrigin: string;
  let workDir: string;
  let videoId: string;
  /** The QoE beacons' bodies, as the page sent them. */
  const copies: string[] = [];
  const auth = () => ({ Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' });

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'qoe-honest-'));
    stack = await sharedStack('throttled');
    videoId = (await transcodedVideo(stack, 'throttled', path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 40 })).id;
    await fetch(`${stack.origin}/v1/videos/${videoId}`, { method: 'PATCH', headers: auth(), body: JSON.stringify({ requireSignedURLs: false }) });
    host = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/copy') {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          copies.push(body);
          res.writeHead(204).end();
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(hostPage(stack.origin, videoId));
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostOrigin = `http://127.0.0.1:${(host.address() as { port: number }).port}`;
    proxy = await startShapingProxy(0);
    browser = await launchChromium([`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>']);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    host?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('startup and stalled time within 10 % or 250 ms of the video element, from a page closed mid-play', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    proxy.shape(null); // the page and the player module at loopback speed
    await page.goto(hostOrigin);
    await page.waitForFunction(() => customElements.get('edge-video') !== undefined);
    proxy.shape(STARVED, { allowanceBytes: ALLOWANCE_BYTES });
    await page.evaluate(() => (window as unknown as { start(): void }).start());

    // The player starts on the allowance, then its buffer runs out on the starved link: a stall, whenever it comes.
    await page.waitForFunction(
      () => {
        const events = (window as unknown as { measured: Measured }).measured.events;
        const first = events.findIndex((e) => e.type === 'playing');
        return first >= 0 && events.slice(first + 1).some((e) => e.type === 'waiting' && !e.seeking);
      },
      null,
      { timeout: 240_000 },
    );
    await new Promise((r) => setTimeout(r, 500)); // stalled for a while, then the link comes back
    proxy.shape(RELEASED);

    // Playing again after the stall.
    await page.waitForFunction(() => (window as unknown as { video: HTMLVideoElement }).video.currentTime > 12, null, { timeout: 120_000 });
    const measured = await page.evaluate(() => (window as unknown as { measured: Measured }).measured);
    const closedAt = await page.evaluate(() => performance.now());
    await page.close({ runBeforeUnload: true });

    await expect.poll(() => copies.length, { timeout: 30_000 }).toBeGreaterThan(0);
    const record = (JSON.parse(copies[copies.length - 1]!) as { records: { startupMs: number; stalledMs: number; rebufferCount: number; exitBeforeStart: boolean; watchedMs: number }[] }).records[0]!;
    const truth = fromEvents(measured, closedAt);
    console.log(`[qoe-honest] measured startup ${truth.startupMs.toFixed(0)} ms, ${truth.stalls} stall(s) ${truth.stalledMs.toFixed(0)} ms; reported ${JSON.stringify(record)}`);
    expect(truth.stalls).toBeGreaterThanOrEqual(1);
    expect(record.rebufferCount).toBe(truth.stalls);
    expect(within(record.startupMs, truth.startupMs), `startup ${record.startupMs} vs ${truth.startupMs}`).toBe(true);
    expect(within(record.stalledMs, truth.stalledMs), `stalled ${record.stalledMs} vs ${truth.stalledMs}`).toBe(true);
    expect(record.exitBeforeStart).toBe(false);

    // The server took that record: the video's report has this one view with those figures.
    await expect
      .poll(async () => {
        const res = await fetch(`${stack.origin}/v1/videos/${videoId}/qoe`, { headers: auth() });
        return ((await res.json()) as { totals: { views: number; stalledMs: number; rebufferCount: number } }).totals;
      }, { timeout: 30_000 })
      .toMatchObject({ views: 1, stalledMs: record.stalledMs, rebufferCount: record.rebufferCount });
    await context.close();
  }, 600_000);
});

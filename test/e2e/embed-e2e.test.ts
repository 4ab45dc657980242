/**
 * End to end: the embed page in an `<iframe>` and the `<edge-video>` element loaded from /player.js, both on a page
 * served from another origin (a second local port), in Chromium against the local stack with an ffmpeg-made ladder
 * and a caption track. Both play (currentTime advances, events arrive), seek by command, switch captions; two
 * elements on one page play independently; postMessage commands with bad payloads are answered with `bad_command`
 * and a command from another window is ignored; the players' QoE records arrive for their playback sessions. A
 * video with allowed origins can be framed by those only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Frame, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium';
import type { StackClient } from '../helpers/local-stack';
import { sharedStack } from '../helpers/shared-stack';
import { transcodedVideo } from '../helpers/transcoding-media';

const VTT = 'WEBVTT\n\n00:00:00.500 --> 00:00:07.500\nCaptions are on\n';

/** The host page: an embed iframe, two elements, a sibling frame (another window) and the events they send. */
function hostPage(stack: string, videoId: string): string {
  return `<!doctype html><html><body>
<iframe id="embed" src="${stack}/embed/${videoId}?muted=1&autoplay=1" allow="autoplay; fullscreen" width="480" height="300"></iframe>
<iframe id="sibling" srcdoc="<p>another window</p>" width="10" height="10"></iframe>
<edge-video id="a" video-id="${videoId}" controls muted style="width:480px;height:300px"></edge-video>
<edge-video id="b" video-id="${videoId}" controls muted style="width:480px;height:300px"></edge-video>
<script>
window.frameEvents = [];
window.elementEvents = { a: [], b: [] };
addEventListener('message', (e) => { if (e.data && e.data.type === 'edge-video:event') window.frameEvents.push({ origin: e.origin, ...e.data }); });
for (const id of ['a', 'b']) for (const type of ['ready', 'play', 'pause', 'timeupdate', 'ended', 'error', 'qualitychange'])
  document.getElementById(id).addEventListener(type, (e) => window.elementEvents[id].push({ type, ...(e.detail || {}) }));
window.command = (message) => document.getElementById('embed').contentWindow.postMessage(message, '*');
window.commandFromSibling = (message) => document.getElementById('sibling').contentWindow.eval("parent.frames[0].postMessage(" + JSON.stringify(message) + ", '*')");
</script>
<script type="module" src="${stack}/player.js"></script>
</body></html>`;
}

function serve(html: () => string): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(html()));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

interface FrameEvent {
  /** A frame's message names its event; an element's DOM event its type. */
  event?: string;
  type?: string;
  origin: string;
  currentTime?: number;
  code?: string;
}

describe('embed page and <edge-video> on another origin', () => {
  let stack: StackClient;
  let browser: Browser;
  let workDir: string;
  let videoId: string;
  let host: { origin: string; server: Server };
  let other: { origin: string; server: Server };
  const auth = () => ({ Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' });

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'embed-e2e-'));
    stack = await sharedStack('embedded <b>video</b>');
    videoId = (await transcodedVideo(stack, 'embedded <b>video</b>', path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 20 })).id;
    // Embeds without a token play public videos that allow unsigned playback.
    expect((await fetch(`${stack.origin}/v1/videos/${videoId}`, { method: 'PATCH', headers: auth(), body: JSON.stringify({ requireSignedURLs: false }) })).status).toBe(200);
    const put = await fetch(`${stack.origin}/v1/videos/${videoId}/captions/en?label=English`, { method: 'PUT', headers: { Authorization: `Bearer ${stack.token}` }, body: VTT });
    expect(put.status, await put.text()).toBeLessThan(300);
    host = await serve(() => hostPage(stack.origin, videoId));
    other = await serve(() => `<!doctype html><iframe id="embed" src="${stack.origin}/embed/${videoId}?muted=1&autoplay=1"></iframe>`);
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    host?.server.close();
    other?.server.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const frameEvents = (page: Page) => page.evaluate(() => (window as unknown as { frameEvents: FrameEvent[] }).frameEvents);
  const elementEvents = (page: Page, id: 'a' | 'b') => page.evaluate((i) => (window as unknown as { elementEvents: Record<string, FrameEvent[]> }).elementEvents[i]!, id);
  const lastTime = (events: { event?: string; type?: string; currentTime?: number }[]) => [...events].reverse().find((e) => (e.event ?? e.type) === 'timeupdate')?.currentTime ?? -1;
  const embedFrame = (page: Page): Frame => page.frames().find((f) => f.url().includes('/embed/'))!;

  it('plays both, answers commands and element methods, switches captions, and reports QoE', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(host.origin);

    // The iframe autoplays (muted): ready, play and advancing time reach the parent.
    await expect.poll(async () => lastTime(await frameEvents(page)), { timeout: 30_000 }).toBeGreaterThan(1);
    const first = await frameEvents(page);
    expect(first.map((e) => e.event)).toEqual(expect.arrayContaining(['ready', 'play', 'timeupdate']));
    expect(new Set(first.map((e) => e.origin))).toEqual(new Set([stack.origin]));

    // A command from another window (a sibling frame) is ignored: playback goes on.
    await page.evaluate(() => (window as unknown as { commandFromSibling(m: unknown): void }).commandFromSibling({ type: 'edge-video:command', command: 'pause' }));
    const before = lastTime(await frameEvents(page));
    await expect.poll(async () => lastTime(await frameEvents(page)), { timeout: 30_000 }).toBeGreaterThan(before + 0.5);
    expect((await frameEvents(page)).some((e) => e.event === 'pause')).toBe(false);
    // The parent's pause, bad payloads (answered with bad_command), a seek while paused, then play again.
    await page.evaluate(() => (window as unknown as { command(m: unknown): void }).command({ type: 'edge-video:command', command: 'pause' }));
    await expect.poll(async () => (await frameEvents(page)).some((e) => e.event === 'pause'), { timeout: 30_000 }).toBe(true);
    expect((await frameEvents(page)).some((e) => e.event === 'ended')).toBe(false);
    await page.evaluate(() => {
      const w = window as unknown as { command(m: unknown): void };
      w.command({ type: 'edge-video:command', command: 'seek', time: 'soon' });
      w.command({ type: 'edge-video:command', command: 'explode' });
      w.command({ type: 'edge-video:command', command: 'setMuted', muted: 'yes' });
      w.command({ type: 'edge-video:command', command: 'play', extra: 1 });
      w.command({ type: 'something-else', command: 'play' });
    });
    await expect.poll(async () => (await frameEvents(page)).filter((e) => e.event === 'error').map((e) => e.code), { timeout: 30_000 }).toEqual(['bad_command', 'bad_command', 'bad_command', 'bad_command']);
    await page.evaluate(() => (window as unknown as { command(m: unknown): void }).command({ type: 'edge-video:command', command: 'seek', time: 8 }));
    await expect.poll(async () => lastTime(await frameEvents(page)), { timeout: 30_000 }).toBeGreaterThanOrEqual(8);
    await page.evaluate(() => (window as unknown as { command(m: unknown): void }).command({ type: 'edge-video:command', command: 'play' }));
    await expect.poll(async () => lastTime(await frameEvents(page)), { timeout: 30_000 }).toBeGreaterThan(8.5);

    // Captions in the frame: the menu lists the track; choosing it shows the cue.
    const frame = embedFrame(page);
    await frame.locator('[data-part=captions]').selectOption({ label: 'English' });
    await page.evaluate(() => (window as unknown as { command(m: unknown): void }).command({ type: 'edge-video:command', command: 'seek', time: 1 }));
    await expect.poll(() => frame.evaluate(() => {
      const video = document.querySelector('edge-video')!.shadowRoot!.querySelector('video')!;
      const showing = [...video.textTracks].find((t) => t.mode === 'showing');
      return showing?.activeCues?.[0] ? (showing.activeCues[0] as VTTCue).text : null;
    }), { timeout: 30_000 }).toBe('Captions are on');

    // The elements: play by method, seek by property, captions from their own menu.
    await page.evaluate(() => {
      for (const id of ['a', 'b']) void (document.getElementById(id) as unknown as { play(): Promise<void> }).play();
    });
    for (const id of ['a', 'b'] as const) await expect.poll(async () => lastTime(await elementEvents(page, id)), { timeout: 30_000 }).toBeGreaterThan(1);
    expect((await elementEvents(page, 'a')).map((e) => e.type)).toEqual(expect.arrayContaining(['ready', 'play', 'timeupdate']));
    await page.evaluate(() => ((document.getElementById('a') as unknown as { currentTime: number }).currentTime = 6));
    await expect.poll(async () => lastTime(await elementEvents(page, 'a')), { timeout: 30_000 }).toBeGreaterThanOrEqual(6);
    await page.locator('#a [data-part=captions]').selectOption({ label: 'English' });
    await page.evaluate(() => ((document.getElementById('a') as unknown as { currentTime: number }).currentTime = 1));
    await expect.poll(() => page.evaluate(() => {
      const video = document.getElementById('a')!.shadowRoot!.querySelector('video')!;
      const showing = [...video.textTracks].find((t) => t.mode === 'showing');
      return showing?.activeCues?.[0] ? (showing.activeCues[0] as VTTCue).text : null;
    }), { timeout: 30_000 }).toBe('Captions are on');

    // Leaving the page sends each player's QoE record: three playback sessions with a first frame.
    await page.close({ runBeforeUnload: true });
    await expect
      .poll(async () => {
        const res = await fetch(`${stack.origin}/v1/videos/${videoId}/qoe`, { headers: auth() });
        return ((await res.json()) as { totals: { views: number; startedViews: number } }).totals;
      }, { timeout: 30_000 })
      .toMatchObject({ views: 3, startedViews: 3 });
    await context.close();
  }, 180_000);

  it('serves the element module to any origin, the current version briefly cached and the pinned one for good', async () => {
    const current = await fetch(`${stack.origin}/player.js`);
    expect(current.headers.get('access-control-allow-origin')).toBe('*');
    expect(current.headers.get('cache-control')).toBe('public, max-age=600, stale-while-revalidate=86400');
    const banner = /^\/\*! @edge-video\/player (\S+): pinned at (\/player\/\S+\.js) \*\//.exec(await current.text());
    expect(banner).not.toBeNull();
    const pinned = await fetch(`${stack.origin}${banner![2]}`);
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get('access-control-allow-origin')).toBe('*');
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${stack.origin}/_headers`)).status).toBe(404);
  });

  it("frames only on the video's allowed origins once it has them", async () => {
    const patch = await fetch(`${stack.origin}/v1/videos/${videoId}`, { method: 'PATCH', headers: auth(), body: JSON.stringify({ allowedOrigins: [host.origin] }) });
    expect(patch.status).toBe(200);
    const embed = await fetch(`${stack.origin}/embed/${videoId}`);
    expect(embed.headers.get('content-security-policy')).toContain(`frame-ancestors ${host.origin}`);
    const context = await browser.newContext();
    const allowed = await context.newPage();
    await allowed.goto(host.origin);
    await expect.poll(async () => lastTime(await frameEvents(allowed)), { timeout: 30_000 }).toBeGreaterThan(0.5);
    const refused = await context.newPage();
    await refused.goto(other.origin);
    // Chromium refuses to render the frame (frame-ancestors): it shows its error page, never the embed page.
    await expect.poll(() => refused.frames().map((f) => f.url()), { timeout: 30_000 }).toContain('chrome-error://chromewebdata/');
    await context.close();
    await fetch(`${stack.origin}/v1/videos/${videoId}`, { method: 'PATCH', headers: auth(), body: JSON.stringify({ allowedOrigins: null }) });
  }, 120_000);
});

/**
 * The web app end to end in a real browser: Debian's Chromium driven by playwright-core against the real local
 * stack (wrangler dev on Miniflare + the transcoder process running ffmpeg). Nothing is mocked: the page uploads
 * with tus-js-client, the transcoder produces the HLS ladder, hls.js plays it through signed URLs, views are counted
 * by the view-counter shards.
 *
 * Segments are 2 s here (SEGMENT_DURATION_SEC) so a 10 s clip has five segments per rung: room for a rendition
 * switch and for a deletion to land between segment requests. Upload parts are 5 MiB so the resume test needs only
 * a 12 MB file.
 *
 * Screenshots go to test-artifacts/web/; with UPDATE_SCREENSHOTS=1 they are also written to docs/screenshots/
 * (the README shows those).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type StackClient } from '../helpers/local-stack';
import { sharedStack } from '../helpers/shared-stack';

const MiB = 1024 * 1024;
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'web');
const DOCS = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'];

let stack: StackClient;
let browser: Browser;
let creator: BrowserContext;
let dir: string;
let clip: string;
let broken: string;
let readyVideoId = '';

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, path.join(DOCS, `${name}.png`));
  }
}

async function signedInContext(viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript((token) => {
    if (!localStorage.getItem('edge-video.token')) localStorage.setItem('edge-video.token', token);
  }, stack.token);
  return context;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'web-e2e-'));
  clip = path.join(dir, 'e2e-clip.mp4');
  // 10 s, 854×480 (so the ladder has 240p, 360p and 480p), moving test pattern, a tone.
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30:duration=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=10',
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2M', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', '-shortest', clip,
  ]);
  // Random bytes named like a video: uploads fine, fails analysis.
  broken = path.join(dir, 'holiday.mp4');
  writeFileSync(broken, randomBytes(12 * 1000 * 1000));
  // The shared stack: 2 s segments, 5 MiB parts (shared-stack.ts).
  stack = await sharedStack('web e2e');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  creator = await signedInContext();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (stack && process.env.STACK_VERBOSE === '1') process.stderr.write(stack.logs.join(''));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web app in Chromium against the local stack', () => {
  it('an unknown or expired token sends the creator to sign in, which checks the token', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await page.goto(`${stack.origin}/signin`);
    await page.evaluate(() => localStorage.setItem('edge-video.token', 'evt_' + 'x'.repeat(40)));
    await page.goto(`${stack.origin}/library`);
    await page.waitForURL(/\/signin\?reason=expired/);
    await expect.poll(() => page.locator('#signin-reason').textContent()).toContain('sign-in has expired');
    await page.fill('#token', 'evt_not-a-real-token-at-all-000000000000000');
    await page.press('#token', 'Enter');
    await expect.poll(() => page.locator('#signin-status').textContent()).toContain('not accepted');
    await shot(page, 'signin');
    await page.fill('#token', stack.token);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/library$/);
    expect(await page.evaluate(() => localStorage.getItem('edge-video.token'))).toBe(stack.token);
    await context.close();
  });

  it('uploads through the page, processes to READY, plays to the end with a rendition switch, counts the view', async () => {
    // Upload
    const page = await creator.newPage();
    await page.goto(`${stack.origin}/upload`);
    await page.setInputFiles('#file', clip);
    await expect.poll(() => page.inputValue('#title')).toBe('e2e-clip');
    await page.fill('#title', 'Test pattern at dusk');
    await page.fill('#description', 'A generated clip: the testsrc2 pattern and a 440 Hz tone.');
    const percents: number[] = [];
    await page.exposeFunction('reportPercent', (v: number) => percents.push(v));
    await page.evaluate(() => {
      const bar = document.getElementById('progress') as HTMLProgressElement;
      new MutationObserver(() => (window as unknown as { reportPercent(v: number): void }).reportPercent(bar.value)).observe(bar, { attributes: true });
    });
    await page.click('#start');
    await page.waitForSelector('#upload-progress[data-state=complete]', { timeout: 60_000 });
    expect(await page.locator('#progress').evaluate((el) => (el as HTMLProgressElement).value)).toBe(100);
    expect(await page.textContent('#progress-percent')).toBe('100%');
    expect(percents.length).toBeGreaterThan(0);
    const videoId = (await page.getAttribute('#upload-progress', 'data-video-id'))!;
    expect(videoId).toMatch(/^vid_/);
    await page.waitForSelector('#processing[data-status=READY]', { timeout: 120_000 });
    expect(await page.textContent('#processing-status')).toContain('Ready');
    await shot(page, 'upload');
    await page.close();

    // Library
    const library = await creator.newPage();
    await library.goto(`${stack.origin}/library`);
    const card = library.locator(`li[data-video-id="${videoId}"][data-status=READY]`);
    await card.waitFor({ timeout: 30_000 });
    await expect.poll(() => card.locator('img.thumb').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect(await card.textContent()).toContain('Test pattern at dusk');
    expect(await card.textContent()).toMatch(/0:10|0:09/);
    await shot(library, 'library');

    // Watch, as a viewer with no token
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const watch = await viewer.newPage();
    await watch.goto(`${stack.origin}/watch/${videoId}`);
    await watch.waitForSelector('#player[data-levels]', { timeout: 30_000 });
    expect(Number(await watch.getAttribute('#player', 'data-levels'))).toBeGreaterThanOrEqual(2);
    expect(await watch.locator('#quality option').allTextContents()).toEqual(expect.arrayContaining(['Auto', expect.stringMatching(/^480p/), expect.stringMatching(/^240p/)]));
    // The poster is fetched by the player (a play before it arrives cancels it) and shown from a blob URL.
    await expect.poll(() => watch.getAttribute('#video', 'poster'), { timeout: 30_000 }).toMatch(/^blob:/);
    // Keyboard only: focus the play button, press Enter; the focus ring is visible.
    await watch.focus('#play');
    await watch.keyboard.press('Enter');
    expect(await watch.locator('#play').evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none');
    await watch.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).currentTime > 1.5, null, { timeout: 30_000 });
    await watch.click('#nerd-toggle');
    expect(await watch.getAttribute('#nerd-toggle', 'aria-expanded')).toBe('true');
    await expect.poll(() => watch.textContent('#nerd-bandwidth')).toMatch(/bit\/s/);
    // Scrub preview from the storyboard while hovering the seek bar.
    await watch.waitForSelector('#player[data-storyboard]', { timeout: 30_000 });
    const seekBox = (await watch.locator('#seek').boundingBox())!;
    await watch.mouse.move(seekBox.x + seekBox.width * 0.6, seekBox.y + seekBox.height / 2);
    await watch.waitForSelector('#preview:not([hidden])');
    expect(await watch.locator('#preview-image').evaluate((el) => (el as HTMLElement).style.backgroundImage)).toContain('sprite_');
    await shot(watch, 'watch');
    await watch.mouse.move(0, 0);
    // In Auto, the platform's ABR controller starts on the lowest rung and climbs when the link allows: whether it
    // has climbed yet depends on how busy the machine is (the climbing itself is abr-hlsjs-browser.test.ts's, on a
    // shaped link). The viewer then picks a rung from the quality menu other than the one playing (a manual
    // switch), and goes back to Auto.
    const automaticSwitches = Number((await watch.getAttribute('#player', 'data-switches')) ?? 0);
    const playing = await watch.getAttribute('#player', 'data-level');
    const rungs = (await watch.locator('#quality option').evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value))).filter((v) => v !== '-1');
    await watch.selectOption('#quality', rungs.find((v) => v !== playing)!);
    await watch.waitForFunction((n) => Number(document.getElementById('player')!.dataset.switches ?? 0) > n, automaticSwitches, { timeout: 30_000 });
    await watch.selectOption('#quality', '-1');
    await watch.waitForSelector('#player[data-state=ended]', { timeout: 40_000 });
    expect(await watch.getAttribute('#player', 'data-view')).toBe('counted');
    console.log(`[web-e2e] rendition switches: ${await watch.getAttribute('#player', 'data-switches')} (${automaticSwitches} automatic)`);
    // Leaving the page (pagehide) sends the player's QoE record.
    await watch.close({ runBeforeUnload: true });
    await viewer.close();

    // Stats: the view is counted
    const stats = await creator.newPage();
    await stats.goto(`${stack.origin}/stats/${videoId}`);
    await expect.poll(() => stats.textContent('#stat-views'), { timeout: 30_000 }).toBe('1');
    expect(await stats.textContent('#stat-unique')).toBe('1');
    expect(await stats.locator('#chart svg rect').count()).toBe(48);
    // Its quality of experience: one view that started, charted per hour and by browser.
    await expect.poll(() => stats.locator('#qoe-cards .stat-value').first().textContent(), { timeout: 30_000 }).toBe('1');
    expect(await stats.locator('#qoe-cards .stat-value').nth(1).textContent()).toMatch(/^\d+\.\d+ s \/ \d+\.\d+ s$/);
    expect(await stats.locator('#qoe-startup-chart svg rect').count()).toBe(48);
    expect(await stats.locator('#qoe-browser-chart svg rect').getAttribute('data-key')).toBe('Chrome / Linux');
    await shot(stats, 'stats');
    await stats.close();

    // The watch page on a phone-sized screen
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    await phonePage.goto(`${stack.origin}/watch/${videoId}`);
    await phonePage.waitForSelector('#player[data-levels]');
    const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(phonePage, 'watch-phone');
    await phone.close();
    readyVideoId = videoId;
  });

  it('a network drop mid-upload resumes, closing the tab resumes, and a non-video file ends FAILED with a reason', async () => {
    const page = await creator.newPage();
    const cdp = await creator.newCDPSession(page);
    // ~2.5 MB/s up: slow enough to drop the network and close the tab mid-upload.
    const throttle = () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 2_500_000 });
    await throttle();
    await page.goto(`${stack.origin}/upload`);
    await page.setInputFiles('#file', broken);
    await expect.poll(() => page.textContent('#file-info')).toContain('holiday.mp4');
    await page.click('#start');
    await page.waitForFunction(() => (document.getElementById('progress') as HTMLProgressElement).value >= 15, null, { timeout: 30_000 });
    await creator.setOffline(true);
    await expect.poll(() => page.textContent('#upload-status'), { timeout: 30_000 }).toMatch(/Connection problem|connection was lost/);
    await creator.setOffline(false);
    await throttle(); // setOffline(false) resets the network conditions, throttling included
    await page.waitForFunction(() => (document.getElementById('progress') as HTMLProgressElement).value >= 60, null, { timeout: 60_000 });
    const videoId = (await page.getAttribute('#upload-progress', 'data-video-id'))!;
    await page.close(); // the creator closes the tab

    const again = await creator.newPage();
    const offsets: number[] = [];
    again.on('request', (req) => {
      if (req.method() === 'PATCH' && req.url().includes('/v1/uploads/')) offsets.push(Number(req.headers()['upload-offset']));
    });
    await again.goto(`${stack.origin}/upload`);
    await again.setInputFiles('#file', broken);
    await again.waitForSelector('#resume-note:not([hidden])');
    expect(await again.textContent('#start')).toBe('Resume upload');
    await again.click('#start');
    await again.waitForSelector('#upload-progress[data-state=complete]', { timeout: 60_000 });
    expect(await again.getAttribute('#upload-progress', 'data-video-id')).toBe(videoId);
    expect(offsets[0]).toBeGreaterThanOrEqual(5 * MiB);
    // The platform stored the whole file (its size is checked at completion) and then tried to analyse it.
    await again.waitForSelector('#processing[data-status=FAILED]', { timeout: 90_000 });
    expect(await again.textContent('#processing-status')).toMatch(/could not be processed: .{8,}/);
    await shot(again, 'upload-failed');
    await again.close();
  });

  it('a video deleted while someone watches ends in a clear message, not a spinner', async () => {
    expect(readyVideoId, 'needs the READY video of the upload test').not.toBe('');
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const watch = await viewer.newPage();
    const cdp = await viewer.newCDPSession(watch);
    // A slow viewer (~100 kB/s): segments arrive one by one while the video plays.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 100_000, uploadThroughput: -1 });
    await watch.goto(`${stack.origin}/watch/${readyVideoId}`);
    await watch.waitForSelector('#player[data-levels]', { timeout: 30_000 });
    // The top rung: the slow link makes each of its segments take seconds to arrive.
    await watch.selectOption('#quality', (await watch.locator('#quality option').nth(1).getAttribute('value'))!);
    await watch.click('#big-play');
    await watch.waitForSelector('#player[data-state=playing]', { timeout: 30_000 });

    // The creator deletes it from the library.
    const library = await creator.newPage();
    await library.goto(`${stack.origin}/library`);
    const card = library.locator(`li[data-video-id="${readyVideoId}"]`);
    await card.getByRole('button', { name: /^Delete / }).click();
    await card.getByRole('button', { name: 'Delete for good' }).click();
    await card.waitFor({ state: 'detached' });
    expect((await fetch(`${stack.origin}/v1/videos/${readyVideoId}`)).status).toBe(404);
    await library.close();

    await watch.waitForSelector('#player[data-state=error]', { timeout: 30_000 });
    expect(await watch.getAttribute('#player', 'data-error-reason')).toBe('deleted');
    expect(await watch.textContent('#player-message')).toContain('deleted');
    expect(await watch.isHidden('#spinner')).toBe(true);
    await shot(watch, 'watch-deleted');
    await viewer.close();
  });
});

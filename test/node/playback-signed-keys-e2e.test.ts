/**
 * Apps that play videos at their own scale, through real `wrangler dev`: the app (a separate Node process using
 * `jose`, with the snippet docs/playback.md shows) signs tokens offline with its signing key; a player plays master,
 * media playlist and segment; in Chromium a page on an allowed origin plays while another origin's fetch is refused;
 * and 1,000 viewers from 1,000 addresses, each with a token the one app signed, all get playback sessions from the
 * master playlist and each counts exactly one view (the app's backend is never throttled: it sends nothing).
 */
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveHlsPage } from '../helpers/chromium';
import { ROOT, startStack, type Stack } from '../helpers/local-stack';
import { transcodedVideo } from '../helpers/transcoding-media';

// Views count after 1 s of watching; 2 s segments and a cheap preset keep the one transcode short.
const VARS = { VIEWS_MIN_WATCH_SECONDS: '1', VIEWS_SESSION_SKEW_SEC: '0.5', SEGMENT_DURATION_SEC: '2', X264_PRESET: 'superfast' };
const VIEWERS = 1000;

let stack: Stack;
let workDir: string;
/** One real upload, transcoded by the stack: every test plays it with tokens of its own key. */
let videoId: string;

/**
 * The app: a separate process that signs one token per claim set with its private key, offline, exactly as the
 * docs' snippet does (jose's SignJWT with the PEM). Input on stdin: {pem, kid, tokens: claims[]}; output: tokens.
 */
function appSigns(pem: string, kid: string, claims: Record<string, unknown>[]): string[] {
  const script = `
    import { importPKCS8, SignJWT } from 'jose';
    const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const key = await importPKCS8(input.pem, 'ES256');
    const out = [];
    for (const c of input.claims) {
      const { sub, ...rules } = c;
      out.push(await new SignJWT(rules).setProtectedHeader({ alg: 'ES256', kid: input.kid }).setSubject(sub).setExpirationTime('1h').sign(key));
    }
    console.log(JSON.stringify(out));`.replace("require('node:fs')", "(await import('node:fs'))");
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, input: JSON.stringify({ pem, kid, claims }), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out) as string[];
}

/** One request on its own connection (wrangler dev's proxy closes idle keep-alive sockets under load). */
function http(method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: 60_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function pool<T>(items: T[], size: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

async function newKey(): Promise<{ id: string; pem: string }> {
  const res = await fetch(`${stack.origin}/v1/signing_keys`, { method: 'POST', headers: { Authorization: `Bearer ${stack.token}` } });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; pem: string };
}

describe('apps sign playback tokens offline (real wrangler dev, an app process with jose, Chromium)', () => {
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'signed-keys-e2e-'));
    stack = await startStack({ transcoder: true, vars: VARS });
    videoId = (await transcodedVideo(stack, 'played by an app', path.join(workDir, 'source.mp4'), { width: 640, height: 360, seconds: 8 })).id;
  }, 600_000);
  afterAll(async () => {
    await stack?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('a token the app signed plays master, media playlist and segment; a revoked key stops it', async () => {
    const id = videoId;
    const key = await newKey();
    const [token] = appSigns(key.pem, key.id, [{ sub: id }]);
    const base = `${stack.origin}/v/${id}/t/${token}/`;
    const master = await fetch(`${base}master.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('Playback-Session')).toBeTruthy();
    const media = await fetch(`${base}240p/playlist.m3u8`);
    expect(media.status).toBe(200);
    expect(await media.text()).toContain('segment_0000.ts');
    const segment = await fetch(`${base}240p/segment_0000.ts`);
    expect(segment.status).toBe(200);
    expect(new Uint8Array(await segment.arrayBuffer())[0]).toBe(0x47); // MPEG-TS sync byte
    expect((await fetch(`${stack.origin}/v1/signing_keys/${key.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${stack.token}` } })).status).toBe(204);
    const refused = await fetch(`${base}240p/segment_0001.ts`);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('signature_unknown_key');
  });

  it('in Chromium, the allowed origin plays while another origin is refused', async () => {
    const id = videoId;
    const key = await newKey();
    const allowed = await serveHlsPage('');
    const other = await serveHlsPage('');
    const browser = await launchChromium();
    try {
      const [token] = appSigns(key.pem, key.id, [{ sub: id, allowedOrigins: [allowed.origin] }]);
      const src = `${stack.origin}/v/${id}/t/${token}/master.m3u8`;
      const page = await browser.newPage();
      await page.goto(`${allowed.origin}/`);
      await page.addScriptTag({ url: '/hls.min.js' });
      await page.evaluate((url) => {
        const video = document.createElement('video');
        video.muted = true;
        document.body.append(video);
        const Hls = (window as unknown as { Hls: new () => { loadSource(u: string): void; attachMedia(v: HTMLVideoElement): void } }).Hls;
        const hls = new Hls();
        hls.loadSource(url);
        hls.attachMedia(video);
        void video.play();
      }, src);
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, { timeout: 60_000 });

      const stranger = await browser.newPage();
      await stranger.goto(`${other.origin}/`);
      const outcome = await stranger.evaluate(async (url) => {
        const res = await fetch(url);
        return { status: res.status, body: await res.text() };
      }, src);
      expect(outcome.status).toBe(403);
      expect(JSON.parse(outcome.body).error.code).toBe('origin_not_allowed');
    } finally {
      await browser.close();
      await allowed.close();
      await other.close();
    }
  });

  it(`${VIEWERS} viewers from ${VIEWERS} addresses with tokens the one app signed get sessions and count exactly one view each`, async () => {
    const id = videoId;
    const key = await newKey();
    const tokens = appSigns(key.pem, key.id, Array.from({ length: VIEWERS }, () => ({ sub: id })));
    const address = (i: number) => `198.18.${i >> 8}.${i & 255}`;
    const sessions: string[] = new Array(VIEWERS);
    await pool(tokens, 16, async (token, i) => {
      const res = await http('GET', `${stack.origin}/v/${id}/t/${token}/master.m3u8`, { 'CF-Connecting-IP': address(i) });
      expect(res.status).toBe(200);
      sessions[i] = res.headers['playback-session'] as string;
    });
    expect(sessions.filter((s) => typeof s === 'string' && s.length > 40)).toHaveLength(VIEWERS);
    expect(new Set(sessions).size).toBe(VIEWERS);
    // Real watching: every session is older than the watch it reports (VIEWS_MIN_WATCH_SECONDS is 1 here).
    await new Promise((r) => setTimeout(r, 1600));
    const outcomes: string[] = [];
    await pool(sessions, 16, async (session, i) => {
      const send = () => http('POST', `${stack.origin}/v1/videos/${id}/views`, { 'Content-Type': 'application/json', 'CF-Connecting-IP': address(i) }, JSON.stringify({ viewerId: `viewer-${i}`, watchDuration: 1.05, videoDuration: 8, session }));
      let res = await send();
      // wrangler dev's proxy answers "503 Your worker restarted mid-request" when its hop to the Worker fails under
      // load (docs/benchmarks.md), with or without the Worker's answer. A player sends the beacon again; if the first
      // one was counted, the repeat finds its session used. The stats below check that no view was counted twice.
      const retried = res.status === 503 && /restarted mid-request/.test(res.text);
      if (retried) res = await send();
      const body = JSON.parse(res.text) as { counted?: boolean; reason?: string };
      outcomes.push(body.counted || (retried && body.reason === 'session_used') ? 'counted' : (body.reason ?? `status ${res.status}`));
    });
    expect(outcomes.filter((o) => o !== 'counted')).toEqual([]);
    // Each session counts once: sending them all again counts nothing more.
    const again = await http('POST', `${stack.origin}/v1/videos/${id}/views`, { 'Content-Type': 'application/json', 'CF-Connecting-IP': address(0) }, JSON.stringify({ viewerId: 'viewer-0-again', watchDuration: 1.05, videoDuration: 8, session: sessions[0] }));
    expect(JSON.parse(again.text)).toMatchObject({ counted: false });
    const stats = await fetch(`${stack.origin}/v1/videos/${id}/stats`, { headers: { Authorization: `Bearer ${stack.token}` } });
    expect(((await stats.json()) as { views: number }).views).toBe(VIEWERS);
  }, 600_000);
});

/**
 * `npm run bench -- live`: a live input on a real local stack (wrangler dev), fed by ffmpeg pushing a 720p test
 * source in real time (`-re`, 2 s segments, `-method PUT`), watched by hls.js in headless Chromium through the
 * signed playback URL.
 *
 * - Glass-to-glass latency, OCR-free: ffmpeg reads the source in real time from when it is started, so the frame
 *   at source time t was "captured" at start + t. The player's position maps to source time (the live playlist lists
 *   the broadcast from its first segment), so latency = (now − start) − currentTime, sampled each second.
 * - Live edge delay: hls.js's own `latency` (distance from the playlist's live edge).
 * - Fan-out: 500 simulated viewers (fetch loops) poll the live media playlist once a second through the edge for
 *   15 s; origin fetches are the answers marked `X-Cache: MISS`. Target: bounded by rungs × locations (here 1 × 1)
 *   per playlist lifetime, not by viewers; 0 viewer errors.
 * Target (standard latency, 2 s segments): glass-to-glass ≤ 12 s.
 */
import os from 'node:os';
import type { BenchResult } from './run';
import { startStack } from '../test/helpers/local-stack';
import { launchChromium, serveHlsPage } from '../test/helpers/chromium';
import { pushLive } from '../test/helpers/live-push';

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
window.watch = (url) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false });
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
  hls.loadSource(url);
  hls.attachMedia(video);
  window.hls = hls;
};
window.sample = () => ({ time: document.getElementById('v').currentTime, edge: window.hls ? window.hls.latency : null });
</script></body></html>`;

const SECONDS = 50;
const VIEWERS = 500;
const FANOUT_SEC = 15;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100 : null;
};

export async function run(): Promise<BenchResult> {
  const stack = await startStack({});
  const browser = await launchChromium();
  const pageServer = await serveHlsPage(PAGE);
  try {
    const api = (path: string, init: RequestInit = {}) => fetch(`${stack.origin}${path}`, { ...init, headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' } });
    const live = (await (await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'bench' }) })).json()) as { id: string; ingest: { url: string } };
    const started = Date.now();
    const push = pushLive(live.ingest.url, { seconds: SECONDS, width: 1280, height: 720 });
    let signed: { url?: string } = {};
    let videoId: string | null = null;
    while (!signed.url) {
      if (Date.now() - started > 30_000) throw new Error(`the broadcast did not become playable: ${push.stderr.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
      videoId ??= ((await (await api(`/v1/live_inputs/${live.id}`)).json()) as { playback: { videoId: string | null } }).playback.videoId;
      if (videoId) signed = (await (await api(`/v1/videos/${videoId}/playback`)).json()) as { url?: string };
    }
    const firstPlayableSec = (Date.now() - started) / 1000;
    const page = await browser.newPage();
    await page.goto(`${pageServer.origin}/`);
    await page.evaluate((u) => (globalThis as unknown as { watch(u: string): void }).watch(u), signed.url);

    const latencies: number[] = [];
    const edges: number[] = [];
    const media = signed.url.replace('master.m3u8', '720p/playlist.m3u8');
    let fanout = { requests: 0, misses: 0, errors: 0 };
    const sampleUntil = started + (SECONDS - 4) * 1000;
    let fanoutStarted = false;
    let fanoutDone: Promise<void> = Promise.resolve();
    while (Date.now() < sampleUntil) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await page.evaluate(() => (globalThis as unknown as { sample(): { time: number; edge: number | null } }).sample());
      if (s.time > 0) latencies.push((Date.now() - started) / 1000 - s.time);
      if (s.edge !== null && Number.isFinite(s.edge) && s.time > 0) edges.push(s.edge);
      if (!fanoutStarted && s.time > 0) {
        fanoutStarted = true;
        fanoutDone = (async () => {
          const end = Date.now() + FANOUT_SEC * 1000;
          await Promise.all(
            Array.from({ length: VIEWERS }, async (_, i) => {
              await new Promise((r) => setTimeout(r, (i * 1000) / VIEWERS));
              while (Date.now() < end) {
                try {
                  const res = await fetch(media);
                  await res.arrayBuffer();
                  fanout.requests++;
                  if (!res.ok) fanout.errors++;
                  if (res.headers.get('X-Cache') === 'MISS') fanout.misses++;
                } catch {
                  fanout.errors++;
                }
                await new Promise((r) => setTimeout(r, 1000));
              }
            }),
          );
        })();
      }
    }
    await fanoutDone;
    await push.done;
    fanout = { ...fanout };
    const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const g2g = { p50: pct(latencies, 50), p90: pct(latencies, 90), max: pct(latencies, 100), samples: latencies.length };
    const edge = { p50: pct(edges, 50), p90: pct(edges, 90) };
    const originPerSec = Math.round((fanout.misses / FANOUT_SEC) * 100) / 100;
    return {
      summary: [
        `720p30 source, 2 s segments, standard latency, single source rung (no live ladder)`,
        `first playable ${firstPlayableSec.toFixed(1)} s after ffmpeg started`,
        `glass-to-glass p50 ${g2g.p50} s, p90 ${g2g.p90} s (target ≤ 12 s); hls.js live-edge delay p50 ${edge.p50} s`,
        `fan-out: ${VIEWERS} viewers × ${FANOUT_SEC} s: ${fanout.requests} playlist requests, ${fanout.misses} origin fetches (${originPerSec}/s), ${fanout.errors} errors`,
        `load average during/after: ${load.join(' ')} (2 cores shared)`,
      ],
      data: { segmentSec: 2, source: '1280x720@30', firstPlayableSec, glassToGlassSec: g2g, liveEdgeDelaySec: edge, fanout: { viewers: VIEWERS, seconds: FANOUT_SEC, ...fanout, originFetchesPerSec: originPerSec }, loadAverage: load },
      targetMet: g2g.p50 !== null && g2g.p90! <= 12 && fanout.errors === 0,
    };
  } finally {
    await browser.close();
    await pageServer.close();
    await stack.stop();
  }
}

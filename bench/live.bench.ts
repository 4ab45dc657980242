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
 * - Keeping up (the live ladder): each pushed segment is transcoded into the rungs below it by the local transcoder
 *   process; per segment, the job's wall time (download, one ffmpeg for every rung, uploads; the transcoder's own
 *   `/v1/live ok in … s` lines) against the 2 s it covers, the largest backlog seen (the live input's `ladder`,
 *   polled each second) and which rungs were still encoding at the end. Once with the 720p source (3 rungs, the
 *   viewer above watching) and once with a 1080p source (4 rungs, no viewer), each alone on the machine with the
 *   stack, the broadcaster's own ffmpeg and Chromium: all of it shares the 2 cores.
 * - Shorter segments: the 720p source again with 1 s segments (a keyframe each second), watched the same way, for
 *   the latency a broadcaster gets without LL-HLS partial segments (not built).
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
window.sample = () => ({ time: document.getElementById('v').currentTime, edge: window.hls ? window.hls.latency : null, height: window.hls && window.hls.levels[window.hls.currentLevel] ? window.hls.levels[window.hls.currentLevel].height : null });
</script></body></html>`;

const SECONDS = 50;
const SECONDS_1080 = 40;
const SECONDS_SHORT = 36;
const VIEWERS = 500;
const FANOUT_SEC = 15;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100 : null;
};

interface LadderView {
  status: string;
  playback: { videoId: string | null };
  ladder?: { rungs: { name: string; segments: number; droppedFromSegment: number | null }[]; backlog: number };
}

type Api = (path: string, init?: RequestInit) => Promise<Response>;

/** Polls a live input's ladder each second while `until` is in the future (bounded by it). */
function watchLadder(api: Api, id: string, until: () => number) {
  const seen = { maxBacklog: 0, last: null as LadderView['ladder'] | null };
  const done = (async () => {
    while (Date.now() < until()) {
      await new Promise((r) => setTimeout(r, 1000));
      const view = (await (await api(`/v1/live_inputs/${id}`)).json()) as LadderView;
      if (view.ladder) {
        seen.maxBacklog = Math.max(seen.maxBacklog, view.ladder.backlog);
        seen.last = view.ladder;
      }
    }
  })();
  return { seen, done };
}

/** The live encodes' wall times in the transcoder's log lines from `from` on. */
function encodeTimes(logs: string[], from: number): number[] {
  return [...logs.slice(from).join('').matchAll(/\/v1\/live ok in ([\d.]+) s/g)].map((m) => Number(m[1]));
}

function keepingUp(times: number[], seen: { maxBacklog: number; last: LadderView['ladder'] | null }) {
  return {
    segments: times.length,
    encodeWallSec: { p50: pct(times, 50), p90: pct(times, 90), max: pct(times, 100) },
    /** Wall time of a segment's encode over the 2 s it covers: below 1 keeps up. */
    realTimeFactorP90: times.length ? Math.round((pct(times, 90)! / 2) * 100) / 100 : null,
    maxBacklog: seen.maxBacklog,
    sustained: (seen.last?.rungs ?? []).filter((r) => r.droppedFromSegment === null).map((r) => r.name),
    dropped: (seen.last?.rungs ?? []).filter((r) => r.droppedFromSegment !== null).map((r) => ({ rung: r.name, fromSegment: r.droppedFromSegment })),
  };
}

/** The signed playback URL of input `liveId`'s broadcast, once it is playable (at most 30 s after `started`). */
async function playableUrl(api: Api, liveId: string, started: number, pushErrors: string[]): Promise<{ url: string }> {
  let videoId: string | null = null;
  for (;;) {
    if (Date.now() - started > 30_000) throw new Error(`the broadcast did not become playable: ${pushErrors.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
    videoId ??= ((await (await api(`/v1/live_inputs/${liveId}`)).json()) as { playback: { videoId: string | null } }).playback.videoId;
    if (!videoId) continue;
    const signed = (await (await api(`/v1/videos/${videoId}/playback`)).json()) as { url?: string };
    if (signed.url) return { url: signed.url };
  }
}

/**
 * A 720p broadcast with `segmentSec` segments watched by hls.js (default settings) until `seconds` − 4: glass-to-glass
 * samples, one a second, as in the main pass.
 */
async function watchBroadcast(api: Api, browser: Awaited<ReturnType<typeof launchChromium>>, pageOrigin: string, seconds: number, segmentSec: number) {
  const live = (await (await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: `bench ${segmentSec} s segments` }) })).json()) as { id: string; ingest: { url: string } };
  const started = Date.now();
  const push = pushLive(live.ingest.url, { seconds, width: 1280, height: 720, segmentSec });
  const ladder = watchLadder(api, live.id, () => started + (seconds - 2) * 1000);
  const signed = await playableUrl(api, live.id, started, push.stderr);
  const firstPlayableSec = (Date.now() - started) / 1000;
  const page = await browser.newPage();
  await page.goto(`${pageOrigin}/`);
  await page.evaluate((u) => (globalThis as unknown as { watch(u: string): void }).watch(u), signed.url);
  const latencies: number[] = [];
  const edges: number[] = [];
  while (Date.now() < started + (seconds - 4) * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = await page.evaluate(() => (globalThis as unknown as { sample(): { time: number; edge: number | null } }).sample());
    if (s.time > 0) latencies.push((Date.now() - started) / 1000 - s.time);
    if (s.edge !== null && Number.isFinite(s.edge) && s.time > 0) edges.push(s.edge);
  }
  await push.done;
  await ladder.done;
  await page.close();
  const rungs = ladder.seen.last?.rungs ?? [];
  return {
    segmentSec,
    ladder: {
      maxBacklog: ladder.seen.maxBacklog,
      sustained: rungs.filter((r) => r.droppedFromSegment === null).map((r) => r.name),
      dropped: rungs.filter((r) => r.droppedFromSegment !== null).map((r) => ({ rung: r.name, fromSegment: r.droppedFromSegment })),
    },
    firstPlayableSec,
    glassToGlassSec: { p50: pct(latencies, 50), p90: pct(latencies, 90), max: pct(latencies, 100), samples: latencies.length },
    liveEdgeDelaySec: { p50: pct(edges, 50), p90: pct(edges, 90) },
  };
}

export async function run(): Promise<BenchResult> {
  const stack = await startStack({ transcoder: true });
  const browser = await launchChromium();
  const pageServer = await serveHlsPage(PAGE);
  try {
    const api = (path: string, init: RequestInit = {}) => fetch(`${stack.origin}${path}`, { ...init, headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' } });
    const live = (await (await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'bench' }) })).json()) as { id: string; ingest: { url: string } };
    const started = Date.now();
    const logStart = stack.logs.length;
    const push = pushLive(live.ingest.url, { seconds: SECONDS, width: 1280, height: 720 });
    const ladder720 = watchLadder(api, live.id, () => started + (SECONDS - 2) * 1000);
    const signed = await playableUrl(api, live.id, started, push.stderr);
    const firstPlayableSec = (Date.now() - started) / 1000;
    const page = await browser.newPage();
    await page.goto(`${pageServer.origin}/`);
    await page.evaluate((u) => (globalThis as unknown as { watch(u: string): void }).watch(u), signed.url);

    const latencies: number[] = [];
    const edges: number[] = [];
    const media = signed.url.replace('master.m3u8', '720p/playlist.m3u8');
    const heights: number[] = [];
    let fanout = { requests: 0, misses: 0, errors: 0 };
    const sampleUntil = started + (SECONDS - 4) * 1000;
    let fanoutStarted = false;
    let fanoutDone: Promise<void> = Promise.resolve();
    while (Date.now() < sampleUntil) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await page.evaluate(() => (globalThis as unknown as { sample(): { time: number; edge: number | null; height: number | null } }).sample());
      if (s.height) heights.push(s.height);
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
    await ladder720.done;
    const times720 = encodeTimes(stack.logs, logStart);
    fanout = { ...fanout };
    await page.close();

    // The 1080p source: four rungs below it, no viewer.
    const live1080 = (await (await api('/v1/live_inputs', { method: 'POST', body: JSON.stringify({ title: 'bench 1080p' }) })).json()) as { id: string; ingest: { url: string } };
    const started1080 = Date.now();
    const logStart1080 = stack.logs.length;
    const push1080 = pushLive(live1080.ingest.url, { seconds: SECONDS_1080, width: 1920, height: 1080 });
    const ladder1080 = watchLadder(api, live1080.id, () => started1080 + (SECONDS_1080 - 2) * 1000);
    await ladder1080.done;
    await push1080.done;
    const times1080 = encodeTimes(stack.logs, logStart1080);
    const short = await watchBroadcast(api, browser, pageServer.origin, SECONDS_SHORT, 1);
    const up720 = keepingUp(times720, ladder720.seen);
    const up1080 = keepingUp(times1080, ladder1080.seen);
    const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
    const g2g = { p50: pct(latencies, 50), p90: pct(latencies, 90), max: pct(latencies, 100), samples: latencies.length };
    const edge = { p50: pct(edges, 50), p90: pct(edges, 90) };
    const originPerSec = Math.round((fanout.misses / FANOUT_SEC) * 100) / 100;
    return {
      summary: [
        `720p30 source, 2 s segments, standard latency, the live ladder on (720p pushed + 480p/360p/240p transcoded)`,
        `first playable ${firstPlayableSec.toFixed(1)} s after ffmpeg started`,
        `glass-to-glass p50 ${g2g.p50} s, p90 ${g2g.p90} s (target ≤ 12 s); hls.js live-edge delay p50 ${edge.p50} s`,
        `fan-out: ${VIEWERS} viewers × ${FANOUT_SEC} s: ${fanout.requests} playlist requests, ${fanout.misses} origin fetches (${originPerSec}/s), ${fanout.errors} errors`,
        `viewer's rung heights seen: ${[...new Set(heights)].join(', ')}`,
        `keeping up, 720p → 3 rungs: ${up720.segments} segments, encode wall p50 ${up720.encodeWallSec.p50} s / p90 ${up720.encodeWallSec.p90} s per 2 s segment, max backlog ${up720.maxBacklog}, sustained ${up720.sustained.join(' ') || 'none'}, dropped ${up720.dropped.map((d) => `${d.rung}@${d.fromSegment}`).join(' ') || 'none'}`,
        `keeping up, 1080p → 4 rungs: ${up1080.segments} segments, encode wall p50 ${up1080.encodeWallSec.p50} s / p90 ${up1080.encodeWallSec.p90} s, max backlog ${up1080.maxBacklog}, sustained ${up1080.sustained.join(' ') || 'none'}, dropped ${up1080.dropped.map((d) => `${d.rung}@${d.fromSegment}`).join(' ') || 'none'}`,
        `1 s segments (720p, ladder on, hls.js defaults): first playable ${short.firstPlayableSec.toFixed(1)} s, glass-to-glass p50 ${short.glassToGlassSec.p50} s, p90 ${short.glassToGlassSec.p90} s; live-edge delay p50 ${short.liveEdgeDelaySec.p50} s; ladder: max backlog ${short.ladder.maxBacklog}, sustained ${short.ladder.sustained.join(' ') || 'none'}, dropped ${short.ladder.dropped.map((d) => `${d.rung}@${d.fromSegment}`).join(' ') || 'none'}`,
        `load average during/after: ${load.join(' ')} (2 cores shared)`,
      ],
      data: {
        segmentSec: 2, source: '1280x720@30', firstPlayableSec, glassToGlassSec: g2g, liveEdgeDelaySec: edge, viewerRungHeights: [...new Set(heights)],
        fanout: { viewers: VIEWERS, seconds: FANOUT_SEC, ...fanout, originFetchesPerSec: originPerSec },
        keepingUp: { '720p': { source: '1280x720@30', ...up720 }, '1080p': { source: '1920x1080@30', ...up1080 } },
        shortSegments: { source: '1280x720@30', ...short },
        loadAverage: load,
      },
      targetMet: g2g.p50 !== null && g2g.p90! <= 12 && fanout.errors === 0,
    };
  } finally {
    await browser.close();
    await pageServer.close();
    await stack.stop();
  }
}

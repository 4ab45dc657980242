/**
 * A test page that plays windows of an HLS video in hls.js around given media times (chunk edges) and records what
 * a viewer would notice there: stalls (`waiting` after playback started), hls.js errors (fatal or not), the buffered
 * ranges, which rung each fragment came from, and every presented frame (`requestVideoFrameCallback`: media time and
 * the element's presented-frame counter), plus `getVideoPlaybackQuality()` before and after.
 *
 * Each window is buffered before it is played (the page waits until the buffer reaches past its end), so a stall
 * inside it can only come from the media (a hole or a timestamp jump at the edge), not from a slow network.
 */
import type { Page } from 'playwright-core';
import { launchChromium, serveHlsPage } from './chromium';

export interface EdgeWindow {
  edge: number;
  from: number;
  to: number;
  /** Where playback was when the window ended (it plays until `to` or times out). */
  currentTime: number;
  reachedEnd: boolean;
  /** Buffered ranges when the window started playing. */
  buffered: [number, number][];
  /** Durations (ms) of stalls: a `waiting` after the window's first `playing`, until the next `playing`. */
  stallsMs: number[];
  /** Every presented frame, in order. */
  frames: { mediaTime: number; presentedFrames: number }[];
  decodedFrames: number;
  droppedFrames: number;
}

export interface EdgePlayback {
  levels: { height: number; url: string }[];
  level: number;
  /** Video fragments loaded (`level`: the rung); the audio rendition's fragments are in `audioFrags`. */
  frags: { level: number; sn: number; start: number; duration: number }[];
  audioFrags: { sn: number; start: number; duration: number }[];
  errors: { type: string; details: string; fatal: boolean }[];
  windows: EdgeWindow[];
}

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline width="640" height="360"></video>
<script src="/hls.min.js"></script>
<script>
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(test, ms) {
  const end = performance.now() + ms;
  while (!test()) { if (performance.now() > end) return false; await sleep(20); }
  return true;
}
function ranges(b) { const out = []; for (let i = 0; i < b.length; i++) out.push([b.start(i), b.end(i)]); return out; }
window.playAcrossEdges = async (url, level, edges, pad) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false, capLevelToPlayerSize: false, startLevel: level, startPosition: edges[0] - pad, maxBufferLength: 60 });
  const frags = [];
  const audioFrags = [];
  const errors = [];
  const windows = [];
  hls.on(Hls.Events.ERROR, (_e, d) => errors.push({ type: d.type, details: d.details, fatal: d.fatal }));
  // An audio fragment's \`level\` is its audio track, not a rung: kept apart.
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    const f = { sn: d.frag.sn, start: d.frag.start, duration: d.frag.duration };
    if (d.frag.type === 'audio') audioFrags.push(f);
    else frags.push({ level: d.frag.level, ...f });
  });
  // Manual level selection: the rung is pinned for the whole run, no ABR switch can hide or cause a seam.
  hls.on(Hls.Events.MANIFEST_PARSED, () => { hls.currentLevel = level; });
  hls.loadSource(url);
  hls.attachMedia(video);
  await until(() => hls.levels.length > 0, 60000);
  for (const edge of edges) {
    const from = edge - pad;
    const to = edge + pad;
    const seeked = new Promise((r) => video.addEventListener('seeked', r, { once: true }));
    video.currentTime = from;
    await Promise.race([seeked, sleep(30000)]);
    await until(() => { const b = video.buffered; return b.length > 0 && b.end(b.length - 1) >= to + 1; }, 60000);
    const stallsMs = [];
    let started = false;
    let waitingAt = null;
    const onWaiting = () => { if (started && waitingAt === null) waitingAt = performance.now(); };
    const onPlaying = () => { started = true; if (waitingAt !== null) { stallsMs.push(performance.now() - waitingAt); waitingAt = null; } };
    video.addEventListener('waiting', onWaiting);
    video.addEventListener('playing', onPlaying);
    const frames = [];
    let watching = true;
    const onFrame = (_now, m) => { frames.push({ mediaTime: m.mediaTime, presentedFrames: m.presentedFrames }); if (watching) video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
    const q0 = video.getVideoPlaybackQuality();
    const buffered = ranges(video.buffered);
    await video.play();
    const reachedEnd = await until(() => video.currentTime >= to, 60000);
    video.pause();
    watching = false;
    if (waitingAt !== null) stallsMs.push(performance.now() - waitingAt);
    video.removeEventListener('waiting', onWaiting);
    video.removeEventListener('playing', onPlaying);
    const q1 = video.getVideoPlaybackQuality();
    windows.push({ edge, from, to, currentTime: video.currentTime, reachedEnd, buffered, stallsMs, frames,
      decodedFrames: q1.totalVideoFrames - q0.totalVideoFrames, droppedFrames: q1.droppedVideoFrames - q0.droppedVideoFrames });
  }
  const levels = hls.levels.map((l) => ({ height: l.height, url: l.uri }));
  hls.destroy();
  return { levels, level, frags, audioFrags, errors, windows };
};
</script></body></html>`;

/** Plays `pad` seconds before to `pad` seconds after each edge of the master at `url`, pinned to rung `level`. */
export async function playAcrossEdges(url: string, level: number, edges: number[], pad = 3): Promise<EdgePlayback> {
  const [browser, site] = await Promise.all([launchChromium(), serveHlsPage(PAGE)]);
  try {
    const page: Page = await browser.newPage();
    await page.goto(site.origin);
    type Player = { playAcrossEdges(u: string, l: number, e: number[], p: number): Promise<EdgePlayback> };
    return await page.evaluate(([u, l, e, p]) => (globalThis as unknown as Player).playAcrossEdges(u, l, e, p), [url, level, edges, pad] as const);
  } finally {
    await browser.close();
    await site.close();
  }
}

/**
 * hls.js and dash.js (both from node_modules) in one test page served from its own origin, so the players fetch the
 * stack's signed URLs cross-origin as a third-party site would. Each script plays a URL, starts on the lowest rung,
 * switches to the highest once playback runs (a forced switch, not a bandwidth guess), seeks, and reports what it
 * loaded and rendered.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { ROOT } from './local-stack';

export interface PlayReport {
  /** The rungs the player offered (those it can decode), lowest first. */
  rungs: { id: string; height: number; codecs: string }[];
  /** Every media fragment it loaded: its rung (HLS level height, DASH representation id) and URL path. */
  fragments: { rung: string; url: string }[];
  /** The rung shown after the forced switch. */
  switchedTo: string | null;
  seekedTo: number;
  /** Media time reached after the seek, and the frames decoded by then. */
  timeAfterSeek: number;
  decodedFrames: number;
  errors: string[];
}

const SHARED = `
const report = { rungs: [], fragments: [], switchedTo: null, seekedTo: 0, timeAfterSeek: 0, decodedFrames: 0, errors: [] };
const until = (video, test, ms, what) => new Promise((resolve, reject) => {
  const t0 = Date.now();
  const tick = () => { if (test()) resolve(); else if (Date.now() - t0 > ms) reject(new Error('timeout: ' + what + ' ' + JSON.stringify(report) + ' t=' + video.currentTime)); else setTimeout(tick, 50); };
  tick();
});
async function afterSwitch(video, seekTo) {
  report.seekedTo = seekTo;
  video.currentTime = seekTo;
  await until(video, () => video.currentTime > seekTo + 1.5, 60000, 'playing after the seek');
  report.timeAfterSeek = video.currentTime;
  report.decodedFrames = video.getVideoPlaybackQuality().totalVideoFrames;
  return report;
}`;

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script><script src="/dash.all.min.js"></script>
<script>${SHARED}
window.playHls = async (url, seekTo) => {
  const video = document.getElementById('v');
  const hls = new Hls({ enableWorker: false, capLevelToPlayerSize: false });
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) report.errors.push(d.type + ' ' + d.details); });
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => report.fragments.push({ rung: String(hls.levels[d.frag.level].height), url: new URL(d.frag.url).pathname }));
  const parsed = new Promise((r) => hls.on(Hls.Events.MANIFEST_PARSED, r));
  hls.loadSource(url);
  hls.attachMedia(video);
  await parsed;
  report.rungs = hls.levels.map((l, i) => ({ id: String(i), height: l.height, codecs: l.videoCodec || l.codecSet || '' }));
  hls.currentLevel = 0;
  await video.play();
  await until(video, () => video.currentTime > 1, 60000, 'playing');
  const top = hls.levels.length - 1;
  const switched = new Promise((r) => hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => { if (d.level === top) r(); }));
  hls.currentLevel = top;
  await switched;
  await until(video, () => report.fragments.some((f) => f.rung === String(hls.levels[top].height)), 60000, 'a fragment of the top rung');
  report.switchedTo = String(hls.levels[top].height);
  return afterSwitch(video, seekTo);
};
window.playDash = async (url, seekTo) => {
  const video = document.getElementById('v');
  const player = dashjs.MediaPlayer().create();
  player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } }, debug: { logLevel: 1 } });
  const E = dashjs.MediaPlayer.events;
  player.on(E.ERROR, (e) => report.errors.push(JSON.stringify(e.error || e)));
  player.on(E.FRAGMENT_LOADING_COMPLETED, (e) => { if (e.request && e.request.mediaType === 'video' && e.request.type === 'MediaSegment') report.fragments.push({ rung: (e.request.representation && e.request.representation.id) || e.request.representationId || '', url: new URL(e.request.url).pathname }); });
  let rendered = null;
  player.on(E.QUALITY_CHANGE_RENDERED, (e) => { if (e.mediaType === 'video') rendered = e.newRepresentation.id; });
  const ready = new Promise((r) => player.on(E.STREAM_INITIALIZED, r));
  player.initialize(video, url, false);
  await ready;
  const reps = player.getRepresentationsByType('video');
  report.rungs = reps.map((r) => ({ id: r.id, height: r.height, codecs: r.codecs }));
  player.setRepresentationForTypeByIndex('video', 0, true);
  player.play();
  await until(video, () => video.currentTime > 1, 60000, 'playing');
  const top = reps[reps.length - 1].id;
  player.setRepresentationForTypeById('video', top, true);
  await until(video, () => rendered === top, 60000, 'the top representation rendered');
  report.switchedTo = top;
  return afterSwitch(video, seekTo);
};
</script></body></html>`;

/** Serves the page at `/`, hls.js at `/hls.min.js` and dash.js at `/dash.all.min.js` on a free port of 127.0.0.1. */
export async function servePlayersPage(): Promise<{ origin: string; close(): Promise<void> }> {
  const hlsJs = readFileSync(path.join(ROOT, 'node_modules', 'hls.js', 'dist', 'hls.min.js'));
  const dashJs = readFileSync(path.join(ROOT, 'node_modules', 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js'));
  const server = createServer((req, res) => {
    if (req.url === '/hls.min.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(hlsJs);
    else if (req.url === '/dash.all.min.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(dashJs);
    else res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * The browser side of the ABR player benchmark: hls.js (its light build) playing a master URL with either its own
 * defaults or the platform player's configuration (player/src/hls-config.ts: its ABR controller, progressive
 * loading), recording the player's own events for QoE_lin:
 * FRAG_LOADED (what was fetched), FRAG_CHANGED (the fragment the playhead is in: the played segments and their
 * rung), the <video>'s `waiting`/`playing` (startup and stalls) and `ended`.
 */
export const PAGE_ENTRY = `
import Hls from 'hls.js';
import { PLAYER_HLS_CONFIG } from './player/src/hls-config';

window.play = (url, mode, timeoutMs) => new Promise((resolve) => {
  const video = document.getElementById('v');
  // Both players hold at most 30 s ahead, the simulator's maxBufferSec: hls.js requests the next fragment while the
  // buffer is under maxBufferLength, so 24 s + one 6 s segment, as the simulator requests while buffer + 6 ≤ 30 (hls.js
  // would otherwise stretch its buffer to maxBufferSize bytes: minutes at these bitrates).
  const config = { maxBufferLength: 24, maxMaxBufferLength: 24 };
  // The platform's player: its hls.js configuration (its ABR controller, segments streamed into the buffer).
  if (mode === 'platform') Object.assign(config, PLAYER_HLS_CONFIG);
  const hls = new Hls(config);
  const t0 = performance.now();
  const at = () => (performance.now() - t0) / 1000;
  const loaded = [];
  const played = [];
  const media = [];
  const errors = [];
  // Diagnostics: every main fragment request with the buffer and estimate at that moment, emergency aborts, and
  // every fragment of another type (an audio rendition shares the link).
  const loading = [];
  const aborts = [];
  const other = [];
  let finished = false;
  const done = (reason) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    const result = { reason, loaded, played, media, errors, loading, aborts, other, heights: hls.levels.map((l) => l.height),
      bitrates: hls.levels.map((l) => l.bitrate), averageBitrates: hls.levels.map((l) => l.averageBitrate), duration: video.duration, end: at() };
    hls.destroy();
    resolve(result);
  };
  const timer = setTimeout(() => done('timeout'), timeoutMs);
  hls.on(Hls.Events.ERROR, (_e, d) => { errors.push({ t: at(), details: d.details, fatal: d.fatal }); if (d.fatal) done('fatal ' + d.details); });
  hls.on(Hls.Events.FRAG_LOADING, (_e, d) => {
    if (d.frag.type !== 'main' || d.frag.sn === 'initSegment') return;
    loading.push({ sn: d.frag.sn, level: d.frag.level, t: at(), buffer: hls.mainForwardBufferInfo?.len ?? 0, estimate: hls.bandwidthEstimate });
  });
  hls.on(Hls.Events.FRAG_LOAD_EMERGENCY_ABORTED, (_e, d) => aborts.push({ sn: d.frag.sn, level: d.frag.level, t: at(), loaded: d.frag.stats.loaded }));
  hls.on(Hls.Events.FRAG_LOADED, (_e, d) => {
    if (d.frag.type !== 'main') other.push({ type: d.frag.type, sn: d.frag.sn, bytes: d.frag.stats.loaded, t: at() });
    if (d.frag.type !== 'main' || d.frag.sn === 'initSegment') return;
    const s = d.frag.stats;
    loaded.push({ sn: d.frag.sn, level: d.frag.level, bytes: s.loaded, start: (s.loading.start - t0) / 1000,
      first: (s.loading.first - t0) / 1000, end: (s.loading.end - t0) / 1000 });
  });
  hls.on(Hls.Events.FRAG_CHANGED, (_e, d) => played.push({ sn: d.frag.sn, level: d.frag.level, t: at() }));
  for (const type of ['waiting', 'playing', 'ended', 'stalled']) video.addEventListener(type, () => {
    media.push({ type, t: at(), pos: video.currentTime });
    if (type === 'ended') done('ended');
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => errors.push({ t: at(), details: String(e), fatal: false })));
  hls.loadSource(url);
  hls.attachMedia(video);
});
`;

export const PAGE_HTML = '<!doctype html><html><body><video id="v" muted playsinline></video><script src="/__abr_bench.js"></script></body></html>';

export interface PlayerRun {
  reason: string;
  loaded: Array<{ sn: number; level: number; bytes: number; start: number; first: number; end: number }>;
  played: Array<{ sn: number; level: number; t: number }>;
  media: Array<{ type: string; t: number; pos: number }>;
  errors: Array<{ t: number; details: string; fatal: boolean }>;
  loading: Array<{ sn: number; level: number; t: number; buffer: number; estimate: number }>;
  aborts: Array<{ sn: number; level: number; t: number; loaded: number }>;
  other: Array<{ type: string; sn: number | string; bytes: number; t: number }>;
  averageBitrates: number[];
  heights: number[];
  bitrates: number[];
  duration: number;
  end: number;
}

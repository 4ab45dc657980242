/**
 * Watch page: hls.js on the signed master URL, the poster, scrub previews from the WebVTT storyboard, a quality
 * menu (Auto plus each rung), a details panel (playing rendition, bandwidth estimate, buffer), and view reporting by
 * the platform's rule (lib/view-tracker.ts). Failures end in a clear message, never an endless spinner: a video
 * deleted while it is watched, an expired signed URL (refreshed transparently), a stalled network.
 */
import Hls, { ErrorTypes, Events, type ErrorData, type HlsConfig } from 'hls.js';
import { PlatformAbrController } from '../../../../abr/hls-abr-controller';
import { wireCaptionsMenu } from '../lib/captions-menu';
import { api, ApiFailure, viewerId, type Video } from '../lib/api';
import { initChrome } from '../lib/chrome';
import { byId, h, pageConfig } from '../lib/dom';
import { formatBitrate, formatClock, formatCount } from '../lib/format';
import { playbackFor, thumbnailUrl } from '../lib/playback';
import { parseStoryboard, tileAt, type StoryboardTile } from '../lib/storyboard';
import { ViewTracker, type ViewRule } from '../lib/view-tracker';

/**
 * The ABR controller plugged into hls.js: the platform's own (abr/, see README "Adaptive bitrate").
 * Set to `undefined` to fall back to hls.js's default controller.
 */
const ABR_CONTROLLER: HlsConfig['abrController'] | undefined = PlatformAbrController;

interface WatchConfig {
  videoId: string;
  viewRule: ViewRule;
}

const config = pageConfig<WatchConfig>();
const videoPath = `/v1/videos/${encodeURIComponent(config.videoId)}`;
const STALL_CHECK_MS = 8000;
/** The playback session from the page's first `GET /v1/videos/:id/playback` (see workers/views/playback-session.ts). */
let playbackSession: string | null = null;


const player = byId('player');
const media = byId<HTMLVideoElement>('video');
const spinner = byId('spinner');
const message = byId('player-message');
const bigPlay = byId<HTMLButtonElement>('big-play');
const playButton = byId<HTMLButtonElement>('play');
const seek = byId<HTMLInputElement>('seek');
const preview = byId('preview');
const previewImage = byId('preview-image');
const previewTime = byId('preview-time');
const timeText = byId('time');
const muteButton = byId<HTMLButtonElement>('mute');
const quality = byId<HTMLSelectElement>('quality');
const nerdToggle = byId<HTMLButtonElement>('nerd-toggle');
const nerdPanel = byId('nerd-panel');
const fullscreenButton = byId<HTMLButtonElement>('fullscreen');

let hls: Hls | null = null;
let storyboard: StoryboardTile[] = [];
let playingLevel = -1;
let switches = 0;
let stallTimer: ReturnType<typeof setTimeout> | null = null;
let ended = false;
let apiDuration = 0;
const tracker = new ViewTracker(config.viewRule);

initChrome();
void main();

async function main(): Promise<void> {
  let video: Video;
  try {
    video = await api<Video>(videoPath);
  } catch (err) {
    return fail(err instanceof ApiFailure && err.status === 404 ? 'This video does not exist or was deleted.' : `Could not load this video: ${describe(err)}`, 'missing');
  }
  document.title = `${video.title} · edge-video`;
  byId('video-title').textContent = video.title;
  byId('video-description').textContent = video.description;
  byId('video-meta').textContent = [video.duration !== null ? formatClock(video.duration) : '', `${formatCount(video.viewCount)} views`].filter(Boolean).join(' · ');
  apiDuration = video.duration ?? 0;
  const playable = video.status === 'READY' || (video.status === 'PROCESSING' && video.renditions.length > 0);
  if (!playable) {
    const reasons: Record<string, string> = {
      UPLOADING: 'This video is still being uploaded.',
      PROCESSING: 'This video is being processed. It can be watched as soon as its first quality level is ready; reload in a moment.',
      FAILED: `This video could not be processed${video.error ? `: ${video.error}` : ''}.`,
      DELETED: 'This video was deleted.',
    };
    return fail(reasons[video.status] ?? 'This video cannot be played.', video.status.toLowerCase());
  }
  let url: string;
  try {
    const playback = await playbackFor(config.videoId);
    url = playback.url;
    // The first playback session of this page is the one its view beacon carries: the server checks that the watch
    // it reports is no longer than the time since that session started (a refreshed URL's session would be younger).
    playbackSession = playback.session;
  } catch (err) {
    return fail(`Could not start playback: ${describe(err)}`, 'playback');
  }
  media.poster = thumbnailUrl(url, 'poster.jpg');
  void loadStoryboard(url);
  wireControls();
  startPlayer(url);
}

function startPlayer(url: string): void {
  if (Hls.isSupported()) {
    // startPosition 0: a video still PROCESSING has growing (EVENT) playlists, which hls.js would otherwise treat as
    // live and start near their end; from the start, everything already encoded is buffer ahead of the viewer.
    hls = new Hls({ startPosition: 0, ...(ABR_CONTROLLER ? { abrController: ABR_CONTROLLER } : {}) });
    hls.on(Events.MANIFEST_PARSED, () => fillQualityMenu());
    wireCaptionsMenu(hls, byId<HTMLSelectElement>('captions'));
    hls.on(Events.FRAG_CHANGED, (_event, data) => onPlayingLevel(data.frag.level));
    hls.on(Events.ERROR, (_event, data) => void onHlsError(data));
    hls.loadSource(url);
    hls.attachMedia(media);
  } else if (media.canPlayType('application/vnd.apple.mpegurl')) {
    // Safari plays HLS natively (its own ABR); the quality menu does not apply there.
    media.src = url;
    quality.closest('label')!.hidden = true;
  } else {
    fail('This browser cannot play HLS video (no Media Source Extensions).', 'unsupported');
    return;
  }
  setControlsEnabled(true);
  bigPlay.hidden = false;
}

function fillQualityMenu(): void {
  if (!hls) return;
  quality.replaceChildren(h('option', { value: '-1' }, 'Auto'));
  hls.levels
    .map((level, index) => ({ level, index }))
    .sort((a, b) => b.level.height - a.level.height)
    .forEach(({ level, index }) => quality.append(h('option', { value: index }, `${level.height}p · ${formatBitrate(level.bitrate)}`)));
  quality.value = '-1';
  quality.disabled = false;
  player.dataset.levels = String(hls.levels.length);
}

function onPlayingLevel(level: number): void {
  if (level !== playingLevel) {
    if (playingLevel !== -1) switches++;
    playingLevel = level;
    player.dataset.level = String(level);
    player.dataset.switches = String(switches);
  }
  updateNerdPanel();
}

/**
 * hls.js errors. A 403/404/410 on a playlist or segment is not worth retrying blindly: either the video was
 * deleted (say so and stop) or the signed URL expired (get a fresh one and continue from the same position).
 */
async function onHlsError(data: ErrorData): Promise<void> {
  const status = data.response?.code ?? 0;
  if (data.type === ErrorTypes.NETWORK_ERROR && (status === 403 || status === 404 || status === 410 || data.fatal)) {
    const verdict = await videoVerdict();
    if (verdict === 'gone') return fail('This video was deleted by its creator and can no longer be played.', 'deleted');
    if (verdict === 'unplayable') return fail('This video is no longer available for playback.', 'unavailable');
    if (status === 403) return refreshSignedUrl();
    if (data.fatal) return fail('Playback stopped: the video could not be loaded. Check your connection and reload the page.', 'network');
    return;
  }
  if (data.fatal && data.type === ErrorTypes.MEDIA_ERROR) {
    hls?.recoverMediaError();
    return;
  }
  if (data.fatal) fail(`Playback failed: ${data.details}.`, 'fatal');
}

/** Asks the API whether the video still exists and is playable. */
async function videoVerdict(): Promise<'ok' | 'gone' | 'unplayable' | 'unknown'> {
  try {
    const video = await api<Video>(videoPath);
    if (video.status === 'DELETED') return 'gone';
    return video.status === 'READY' || video.status === 'PROCESSING' ? 'ok' : 'unplayable';
  } catch (err) {
    if (err instanceof ApiFailure && (err.status === 404 || err.status === 410)) return 'gone';
    return 'unknown';
  }
}

let refreshing = false;
async function refreshSignedUrl(): Promise<void> {
  if (!hls || refreshing) return;
  refreshing = true;
  const position = media.currentTime;
  const wasPlaying = !media.paused;
  try {
    const { url } = await playbackFor(config.videoId);
    hls.once(Events.MANIFEST_PARSED, () => {
      media.currentTime = position;
      if (wasPlaying) void media.play();
    });
    hls.loadSource(url);
  } catch (err) {
    fail(`Playback stopped: ${describe(err)}`, 'playback');
  } finally {
    refreshing = false;
  }
}

/** Ends playback with a message in the player; the spinner never outlives a failure. */
function fail(text: string, reason: string): void {
  hls?.destroy();
  hls = null;
  if (stallTimer) clearTimeout(stallTimer);
  spinner.hidden = true;
  bigPlay.hidden = true;
  media.removeAttribute('src');
  media.load();
  setControlsEnabled(false);
  playButton.textContent = '▶';
  playButton.setAttribute('aria-label', 'Play');
  message.textContent = text;
  message.hidden = false;
  player.dataset.state = 'error';
  player.dataset.errorReason = reason;
}

async function loadStoryboard(masterUrl: string): Promise<void> {
  const vttUrl = thumbnailUrl(masterUrl, 'storyboard.vtt');
  try {
    const res = await fetch(vttUrl);
    if (!res.ok) return;
    storyboard = parseStoryboard(await res.text(), vttUrl);
    player.dataset.storyboard = String(storyboard.length);
  } catch {
    // No storyboard: scrubbing still works, just without pictures.
  }
}

function setControlsEnabled(enabled: boolean): void {
  for (const el of [playButton, seek, muteButton, fullscreenButton]) el.disabled = !enabled;
  if (!enabled) quality.disabled = true;
}

function duration(): number {
  return Number.isFinite(media.duration) && media.duration > 0 ? media.duration : apiDuration;
}

function togglePlay(): void {
  if (media.paused || media.ended) void media.play().catch(() => undefined);
  else media.pause();
}

function wireControls(): void {
  bigPlay.addEventListener('click', () => togglePlay());
  playButton.addEventListener('click', () => togglePlay());
  media.addEventListener('click', () => togglePlay());
  media.addEventListener('play', () => {
    bigPlay.hidden = true;
    playButton.textContent = '❚❚';
    playButton.setAttribute('aria-label', 'Pause');
    player.dataset.state = 'playing';
  });
  media.addEventListener('pause', () => {
    playButton.textContent = '▶';
    playButton.setAttribute('aria-label', 'Play');
    tracker.interrupt();
    if (!ended) player.dataset.state = 'paused';
  });
  media.addEventListener('ended', () => {
    ended = true;
    player.dataset.state = 'ended';
  });
  media.addEventListener('seeking', () => {
    ended = false;
    tracker.interrupt();
  });
  media.addEventListener('waiting', () => {
    tracker.interrupt();
    spinner.hidden = false;
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = setTimeout(() => void onStall(), STALL_CHECK_MS);
  });
  for (const type of ['playing', 'canplay', 'seeked']) {
    media.addEventListener(type, () => {
      spinner.hidden = true;
      if (stallTimer) clearTimeout(stallTimer);
    });
  }
  media.addEventListener('loadedmetadata', () => {
    seek.max = String(duration());
    updateTime();
  });
  media.addEventListener('timeupdate', () => {
    updateTime();
    if (!media.paused && !media.seeking && tracker.progress(media.currentTime, performance.now(), media.playbackRate, duration())) {
      void reportView();
    }
  });
  media.addEventListener('volumechange', () => {
    muteButton.setAttribute('aria-pressed', String(media.muted));
    muteButton.setAttribute('aria-label', media.muted ? 'Unmute' : 'Mute');
  });
  seek.addEventListener('input', () => {
    media.currentTime = Number(seek.value);
    showPreview(Number(seek.value), seek.matches(':focus-visible') ? null : undefined);
  });
  seek.addEventListener('pointermove', (event) => {
    const rect = seek.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    showPreview(fraction * duration(), event.clientX - rect.left);
  });
  seek.addEventListener('pointerleave', () => (preview.hidden = true));
  seek.addEventListener('blur', () => (preview.hidden = true));
  muteButton.addEventListener('click', () => (media.muted = !media.muted));
  quality.addEventListener('change', () => {
    if (!hls) return;
    // -1 hands control back to the ABR controller; a rung index pins it (and switches now, flushing the buffer).
    hls.currentLevel = Number(quality.value);
    updateNerdPanel();
  });
  nerdToggle.addEventListener('click', () => {
    const open = nerdPanel.hidden;
    nerdPanel.hidden = !open;
    nerdToggle.setAttribute('aria-expanded', String(open));
    updateNerdPanel();
  });
  fullscreenButton.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void player.requestFullscreen().catch(() => undefined);
  });
  player.addEventListener('keydown', onKey);
  setInterval(updateNerdPanel, 1000);
}

/** Keyboard shortcuts inside the player (as YouTube: k/space play, j/l ±10 s, m mute, f full screen). */
function onKey(event: KeyboardEvent): void {
  const target = event.target as HTMLElement;
  if (target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
  const onButton = target instanceof HTMLButtonElement;
  const onRange = target === seek;
  switch (event.key) {
    case ' ':
      if (onButton) return;
      event.preventDefault();
      togglePlay();
      break;
    case 'k':
      togglePlay();
      break;
    case 'j':
      media.currentTime = Math.max(0, media.currentTime - 10);
      break;
    case 'l':
      media.currentTime = Math.min(duration(), media.currentTime + 10);
      break;
    case 'ArrowLeft':
    case 'ArrowRight':
      if (onRange) return; // the range input moves itself
      media.currentTime = Math.min(duration(), Math.max(0, media.currentTime + (event.key === 'ArrowLeft' ? -5 : 5)));
      break;
    case 'm':
      media.muted = !media.muted;
      break;
    case 'f':
      fullscreenButton.click();
      break;
    default:
      return;
  }
}

/** The storyboard tile for `time` above the seek bar; `x` is the pointer offset (null: keyboard, centre it). */
function showPreview(time: number, x: number | null | undefined): void {
  if (x === undefined) return;
  const tile = tileAt(storyboard, time);
  previewTime.textContent = formatClock(time);
  if (tile) {
    previewImage.hidden = false;
    previewImage.style.width = `${tile.w}px`;
    previewImage.style.height = `${tile.h}px`;
    previewImage.style.backgroundImage = `url("${tile.image.replace(/"/g, '%22')}")`;
    previewImage.style.backgroundPosition = `-${tile.x}px -${tile.y}px`;
  } else {
    previewImage.hidden = true;
  }
  const width = seek.getBoundingClientRect().width;
  const left = x === null ? (time / Math.max(duration(), 1)) * width : x;
  preview.style.left = `${Math.min(Math.max(left, 0), width)}px`;
  preview.hidden = false;
}

function updateTime(): void {
  seek.value = String(media.currentTime);
  seek.setAttribute('aria-valuetext', `${formatClock(media.currentTime)} of ${formatClock(duration())}`);
  timeText.textContent = `${formatClock(media.currentTime)} / ${formatClock(duration())}`;
}

function updateNerdPanel(): void {
  if (nerdPanel.hidden) return;
  const level = hls && playingLevel >= 0 ? hls.levels[playingLevel] : undefined;
  byId('nerd-level').textContent = level
    ? `${level.height}p (${level.width}×${level.height}, ${formatBitrate(level.bitrate)})${hls?.autoLevelEnabled ? ' · auto' : ' · fixed'}`
    : '–';
  byId('nerd-bandwidth').textContent = hls ? formatBitrate(hls.bandwidthEstimate) : '–';
  const buffered = media.buffered;
  let ahead = 0;
  for (let i = 0; i < buffered.length; i++) {
    if (buffered.start(i) <= media.currentTime && media.currentTime <= buffered.end(i)) ahead = buffered.end(i) - media.currentTime;
  }
  byId('nerd-buffer').textContent = `${ahead.toFixed(1)} s`;
  byId('nerd-switches').textContent = String(switches);
  byId('nerd-watched').textContent = `${tracker.watchedSeconds.toFixed(1)} s`;
}

/** A stall that outlasts STALL_CHECK_MS: find out whether the video is still there before spinning on. */
async function onStall(): Promise<void> {
  const verdict = await videoVerdict();
  if (verdict === 'gone') fail('This video was deleted by its creator and can no longer be played.', 'deleted');
  else if (verdict === 'unplayable') fail('This video is no longer available for playback.', 'unavailable');
}

async function reportView(): Promise<void> {
  try {
    const result = await api<{ counted?: boolean; reason?: string }>(`${videoPath}/views`, {
      method: 'POST',
      json: {
        viewerId: viewerId(),
        watchDuration: Math.round(tracker.watchedSeconds * 1000) / 1000,
        videoDuration: duration(),
        session: playbackSession,
      },
    });
    player.dataset.view = result.counted === false ? `not-counted:${result.reason ?? ''}` : 'counted';
  } catch (err) {
    // Views are best-effort for the viewer: never interrupt playback over them.
    player.dataset.view = `error:${describe(err)}`;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

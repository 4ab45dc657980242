/**
 * Watch page: the platform's player (player/src: hls.js with the ABR controller, the controls, quality and captions
 * menus, scrub previews, QoE and view reporting) on the master URL the server rendered into the page, and what only
 * the platform's own site adds: the title and description, a details panel (playing rendition, bandwidth estimate,
 * buffer), and telling a deleted video from a network failure (it asks the API) and replacing an expired signed URL.
 *
 * The player starts before any API call: the page config carries the signed (or unsigned) master URL and the
 * video's facts, and the playback session comes from the master playlist's own response. A private video (its URL
 * needs the creator's token, which only the browser holds) asks the API first (`GET /v1/videos/:id`, then
 * `GET /v1/videos/:id/playback`).
 */
import { bindControls, partsIn } from '../../../../player/src/controls';
import { PlayerCore, type NetworkTrouble } from '../../../../player/src/core';
import { showPoster } from '../../../../player/src/poster';
import { api, ApiFailure, authHeaders, type Video } from '../lib/api';
import { initChrome } from '../lib/chrome';
import { byId, pageConfig } from '../lib/dom';
import { formatBitrate, formatClock, formatCount } from '../lib/format';
import { playbackFor, thumbnailUrl } from '../lib/playback';
import type { ViewRule } from '../../../../player/src/view-tracker';

interface VideoFacts {
  title: string;
  description: string;
  duration: number | null;
  viewCount: number;
}

interface WatchConfig {
  videoId: string;
  viewRule: ViewRule;
  /** The master playlist URL and the video's facts, when the server could give them (public and unlisted videos). */
  src: string | null;
  video: VideoFacts | null;
}

const config = pageConfig<WatchConfig>();
const videoPath = `/v1/videos/${encodeURIComponent(config.videoId)}`;
const STALL_CHECK_MS = 8000;

const root = byId('player');
const parts = partsIn(root);
const nerdToggle = byId<HTMLButtonElement>('nerd-toggle');
const nerdPanel = byId('nerd-panel');
let src: string | null = config.src;
let stallTimer: ReturnType<typeof setTimeout> | null = null;

const core = new PlayerCore(parts.media, { videoId: config.videoId, apiOrigin: location.origin, viewRule: config.viewRule, onNetworkTrouble, viewHeaders: authHeaders });
bindControls(core, parts, {
  controls: true,
  autoplay: false,
  poster: src ? thumbnailUrl(src, 'poster.jpg') : null,
  storyboardUrl: () => (src ? thumbnailUrl(src, 'storyboard.vtt') : null),
});
wirePage();
initChrome();
if (src && config.video) {
  // Everything is in the page: no request but the player's own.
  describe(config.video);
  core.load(src);
} else void askApi();

function describe(video: VideoFacts): void {
  document.title = `${video.title} · edge-video`;
  byId('video-title').textContent = video.title;
  byId('video-description').textContent = video.description;
  byId('video-meta').textContent = [video.duration !== null ? formatClock(video.duration) : '', `${formatCount(video.viewCount)} views`].filter(Boolean).join(' · ');
  core.knownDuration = video.duration ?? 0;
}

/** A private or not yet playable video: the API says what it is (with the creator's token) and gives its URL. */
async function askApi(): Promise<void> {
  let video: Video;
  try {
    video = await api<Video>(videoPath);
  } catch (err) {
    return core.fail('missing', err instanceof ApiFailure && err.status === 404 ? 'This video does not exist or was deleted.' : `Could not load this video: ${message(err)}`);
  }
  describe(video);
  const playable = video.status === 'READY' || (video.status === 'PROCESSING' && video.renditions.length > 0);
  if (!playable) {
    const reasons: Record<string, string> = {
      UPLOADING: 'This video is still being uploaded.',
      PROCESSING: 'This video is being processed. It can be watched as soon as its first quality level is ready; reload in a moment.',
      FAILED: `This video could not be processed${video.error ? `: ${video.error}` : ''}.`,
      DELETED: 'This video was deleted.',
    };
    return core.fail(video.status.toLowerCase(), reasons[video.status] ?? 'This video cannot be played.');
  }
  try {
    src = (await playbackFor(config.videoId)).url;
  } catch (err) {
    return core.fail('playback', `Could not start playback: ${message(err)}`);
  }
  showPoster(parts.media, thumbnailUrl(src, 'poster.jpg'));
  core.load(src);
}

/**
 * A 403/404/410 or a failed load is not worth retrying blindly: either the video was deleted (say so and stop) or
 * the signed URL expired (get a fresh one and continue from the same position).
 */
async function onNetworkTrouble(trouble: NetworkTrouble): Promise<boolean> {
  const verdict = await videoVerdict();
  if (verdict === 'gone') core.fail('deleted', 'This video was deleted by its creator and can no longer be played.');
  else if (verdict === 'unplayable') core.fail('unavailable', 'This video is no longer available for playback.');
  else if (trouble.status === 403) await refreshSignedUrl();
  else return false;
  return true;
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
  if (refreshing) return;
  refreshing = true;
  try {
    src = (await playbackFor(config.videoId)).url;
    core.replaceSource(src);
  } catch (err) {
    core.fail('playback', `Playback stopped: ${message(err)}`);
  } finally {
    refreshing = false;
  }
}

function wirePage(): void {
  const media = parts.media;
  // A stall that outlasts STALL_CHECK_MS: find out whether the video is still there before spinning on.
  media.addEventListener('waiting', () => {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = setTimeout(() => void onStall(), STALL_CHECK_MS);
  });
  for (const type of ['playing', 'canplay', 'seeked']) media.addEventListener(type, () => stallTimer && clearTimeout(stallTimer));
  core.addEventListener('error', () => stallTimer && clearTimeout(stallTimer));
  nerdToggle.addEventListener('click', () => {
    const open = nerdPanel.hidden;
    nerdPanel.hidden = !open;
    nerdToggle.setAttribute('aria-expanded', String(open));
    updateNerdPanel();
  });
  core.addEventListener('qualitychange', updateNerdPanel);
  parts.quality.addEventListener('change', updateNerdPanel);
  setInterval(updateNerdPanel, 1000);
}

async function onStall(): Promise<void> {
  const verdict = await videoVerdict();
  if (verdict === 'gone') core.fail('deleted', 'This video was deleted by its creator and can no longer be played.');
  else if (verdict === 'unplayable') core.fail('unavailable', 'This video is no longer available for playback.');
}

function updateNerdPanel(): void {
  if (nerdPanel.hidden) return;
  const hls = core.hls;
  const index = Number(root.dataset.level ?? -1);
  const level = hls && index >= 0 ? hls.levels[index] : undefined;
  byId('nerd-level').textContent = level
    ? `${level.height}p (${level.width}×${level.height}, ${formatBitrate(level.bitrate)})${hls?.autoLevelEnabled ? ' · auto' : ' · fixed'}`
    : '–';
  byId('nerd-bandwidth').textContent = hls ? formatBitrate(hls.bandwidthEstimate) : '–';
  const media = parts.media;
  let ahead = 0;
  for (let i = 0; i < media.buffered.length; i++) {
    if (media.buffered.start(i) <= media.currentTime && media.currentTime <= media.buffered.end(i)) ahead = media.buffered.end(i) - media.currentTime;
  }
  byId('nerd-buffer').textContent = `${ahead.toFixed(1)} s`;
  byId('nerd-switches').textContent = root.dataset.switches ?? '0';
  byId('nerd-watched').textContent = `${core.watchedSeconds.toFixed(1)} s`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

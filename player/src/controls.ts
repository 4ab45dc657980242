/**
 * The player's controls over a PlayerCore: play and pause (button, big button, click on the picture, keyboard), seek
 * bar with time and scrub previews, mute, quality, audio language and captions menus, full screen, the spinner and the error message.
 * The same markup serves the watch page (rendered by the server, workers/web/pages.tsx) and the element's shadow root
 * (markup.ts); parts are found by `data-part`. The root mirrors the player's state in data attributes (`state`,
 * `levels`, `level`, `switches`, `storyboard`, `view`, `errorReason`) for styles and tests.
 *
 * Keyboard (as YouTube): space or k play/pause, j/l ±10 s, arrows ±5 s, m mute, f full screen.
 */
import type { PlayerCore } from './core';
import { formatClock } from './format';
import { wireAudioMenu, wireCaptionsMenu, wireQualityMenu } from './menus';
import { showPoster } from './poster';
import { wirePreview } from './preview';

export interface PlayerParts {
  root: HTMLElement;
  media: HTMLVideoElement;
  spinner: HTMLElement;
  message: HTMLElement;
  bigPlay: HTMLButtonElement;
  play: HTMLButtonElement;
  seek: HTMLInputElement;
  preview: HTMLElement;
  previewImage: HTMLElement;
  previewTime: HTMLElement;
  time: HTMLElement;
  mute: HTMLButtonElement;
  quality: HTMLSelectElement;
  captions: HTMLSelectElement;
  audio: HTMLSelectElement;
  fullscreen: HTMLButtonElement;
  controls: HTMLElement;
}

const PART_NAMES = ['media', 'spinner', 'message', 'bigPlay', 'play', 'seek', 'preview', 'previewImage', 'previewTime', 'time', 'mute', 'quality', 'captions', 'audio', 'fullscreen', 'controls'] as const;

/** The parts inside a player root, by their `data-part` names. */
export function partsIn(root: HTMLElement): PlayerParts {
  const parts: Partial<Record<string, HTMLElement>> = { root };
  for (const name of PART_NAMES) {
    const el = root.querySelector<HTMLElement>(`[data-part="${name}"]`);
    if (!el) throw new Error(`player markup is missing the ${name} part`);
    parts[name] = el;
  }
  return parts as unknown as PlayerParts;
}

export interface ControlsOptions {
  /** Show our controls (false: the picture only; the page drives playback, e.g. through postMessage). */
  controls: boolean;
  autoplay: boolean;
  /** The poster to show before playing (none with autoplay: it would share the link with the first segments). */
  poster: string | null;
  storyboardUrl: () => string | null;
}

export function bindControls(core: PlayerCore, parts: PlayerParts, options: ControlsOptions): void {
  const { root, media } = parts;
  const buttons = [parts.play, parts.seek, parts.mute, parts.fullscreen];
  const enable = (on: boolean) => {
    for (const el of buttons) el.disabled = !on;
    if (!on) parts.quality.disabled = true;
  };
  parts.controls.hidden = !options.controls;
  if (options.poster) showPoster(media, options.poster);
  let ended = false;
  let switches = -1;

  const toggle = () => {
    if (media.paused || media.ended) void core.play();
    else media.pause();
  };
  const setPlayLabel = (playing: boolean) => {
    parts.play.textContent = playing ? '❚❚' : '▶';
    parts.play.setAttribute('aria-label', playing ? 'Pause' : 'Play');
  };
  const updateTime = () => {
    const d = core.duration;
    parts.seek.max = String(d);
    parts.seek.value = String(media.currentTime);
    parts.seek.setAttribute('aria-valuetext', `${formatClock(media.currentTime)} of ${formatClock(d)}`);
    parts.time.textContent = `${formatClock(media.currentTime)} / ${formatClock(d)}`;
  };

  parts.bigPlay.addEventListener('click', toggle);
  parts.play.addEventListener('click', toggle);
  media.addEventListener('click', toggle);
  media.addEventListener('play', () => {
    parts.bigPlay.hidden = true;
    setPlayLabel(true);
    root.dataset.state = 'playing';
  });
  media.addEventListener('pause', () => {
    setPlayLabel(false);
    if (!ended) root.dataset.state = 'paused';
  });
  media.addEventListener('ended', () => {
    ended = true;
    root.dataset.state = 'ended';
  });
  media.addEventListener('seeking', () => (ended = false));
  media.addEventListener('waiting', () => (parts.spinner.hidden = false));
  for (const type of ['playing', 'canplay', 'seeked']) media.addEventListener(type, () => (parts.spinner.hidden = true));
  media.addEventListener('loadedmetadata', updateTime);
  media.addEventListener('timeupdate', updateTime);
  media.addEventListener('volumechange', () => {
    parts.mute.setAttribute('aria-pressed', String(media.muted));
    parts.mute.setAttribute('aria-label', media.muted ? 'Unmute' : 'Mute');
  });
  parts.seek.addEventListener('input', () => core.seek(Number(parts.seek.value)));
  parts.mute.addEventListener('click', () => (media.muted = !media.muted));
  parts.fullscreen.addEventListener('click', () => {
    const doc = root.ownerDocument;
    if (doc.fullscreenElement) void doc.exitFullscreen();
    else void root.requestFullscreen().catch(() => undefined);
  });
  root.addEventListener('keydown', (event) => onKey(event, core, parts, toggle));

  wireQualityMenu(core, parts.quality, root);
  wireCaptionsMenu(core, parts.captions);
  wireAudioMenu(core, parts.audio);
  wirePreview(core, parts, options.storyboardUrl);
  enable(true);
  // Without controls the page drives playback (postMessage, the element's methods): no big play button either.
  parts.bigPlay.hidden = options.autoplay || !options.controls;
  // An autoplay the browser refused leaves the video paused before it ever played: offer the big play button.
  media.addEventListener('canplay', () => {
    if (options.controls && media.paused && root.dataset.state === undefined) parts.bigPlay.hidden = false;
  });
  core.addEventListener('qualitychange', (event) => {
    switches++;
    root.dataset.level = String((event as CustomEvent<{ level: number }>).detail.level);
    root.dataset.switches = String(Math.max(0, switches));
  });
  core.addEventListener('view', (event) => (root.dataset.view = (event as CustomEvent<{ result: string }>).detail.result));
  core.addEventListener('error', (event) => {
    const { code, message } = (event as CustomEvent<{ code: string; message: string }>).detail;
    parts.spinner.hidden = true;
    parts.bigPlay.hidden = true;
    enable(false);
    setPlayLabel(false);
    parts.message.textContent = message;
    parts.message.hidden = false;
    root.dataset.state = 'error';
    root.dataset.errorReason = code;
  });
}

function onKey(event: KeyboardEvent, core: PlayerCore, parts: PlayerParts, toggle: () => void): void {
  const target = event.composedPath()[0] as HTMLElement;
  if (target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
  const media = parts.media;
  switch (event.key) {
    case ' ':
      if (target instanceof HTMLButtonElement) return;
      event.preventDefault();
      toggle();
      break;
    case 'k':
      toggle();
      break;
    case 'j':
    case 'l':
      core.seek(media.currentTime + (event.key === 'j' ? -10 : 10));
      break;
    case 'ArrowLeft':
    case 'ArrowRight':
      if (target === parts.seek) return; // the range input moves itself
      core.seek(media.currentTime + (event.key === 'ArrowLeft' ? -5 : 5));
      break;
    case 'm':
      media.muted = !media.muted;
      break;
    case 'f':
      parts.fullscreen.click();
      break;
  }
}

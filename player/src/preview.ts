/**
 * Scrub previews on the seek bar: the storyboard's tile for the time under the pointer (or the keyboard's time,
 * centred on the thumb). The storyboard is fetched after the first frame, or when the viewer first reaches for the
 * seek bar, whichever comes first: before that it would share the link with the first segments.
 */
import type { PlayerCore } from './core';
import { formatClock } from './format';
import { parseStoryboard, tileAt, type StoryboardTile } from './storyboard';

export interface PreviewParts {
  root: HTMLElement;
  seek: HTMLInputElement;
  preview: HTMLElement;
  previewImage: HTMLElement;
  previewTime: HTMLElement;
}

export function wirePreview(core: PlayerCore, parts: PreviewParts, storyboardUrl: () => string | null): void {
  const { root, seek, preview, previewImage, previewTime } = parts;
  let tiles: StoryboardTile[] = [];
  let requested = false;
  const load = async () => {
    const url = storyboardUrl();
    if (requested || !url) return;
    requested = true;
    try {
      const res = await fetch(url);
      if (!res.ok) return;
      tiles = parseStoryboard(await res.text(), url);
      root.dataset.storyboard = String(tiles.length);
    } catch {
      // No storyboard: scrubbing still works, just without pictures.
    }
  };
  core.media.addEventListener('playing', () => void load(), { once: true });
  for (const type of ['pointerenter', 'focus']) seek.addEventListener(type, () => void load());

  /** The tile for `time` above the seek bar; `x` is the pointer offset (null: keyboard, centre it on the thumb). */
  const show = (time: number, x: number | null) => {
    const tile = tileAt(tiles, time);
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
    const left = x === null ? (time / Math.max(core.duration, 1)) * width : x;
    preview.style.left = `${Math.min(Math.max(left, 0), width)}px`;
    preview.hidden = false;
  };
  seek.addEventListener('input', () => {
    if (seek.matches(':focus-visible')) show(Number(seek.value), null);
  });
  seek.addEventListener('pointermove', (event) => {
    const rect = seek.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    show(fraction * core.duration, event.clientX - rect.left);
  });
  seek.addEventListener('pointerleave', () => (preview.hidden = true));
  seek.addEventListener('blur', () => (preview.hidden = true));
}

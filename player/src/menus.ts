/**
 * The player's three menus. Audio: the audio renditions of the master's audio group (the original audio and any
 * extra language tracks, workers/audio-tracks), as hls.js lists them; the menu shows only when there is a choice.
 * Quality: Auto plus each rung (highest first); a rung pins the quality, Auto hands it back to
 * the ABR controller. Captions: the subtitles renditions (workers/captions) of the playing rung's group, as hls.js
 * lists them; "Off" hides them; the menu stays hidden for videos without tracks, and under native HLS (Safari), whose own controls
 * list the same renditions.
 */
import type Hls from 'hls.js';
import type { PlayerCore } from './core';
import { h } from './dom';
import { formatBitrate } from './format';

export function wireQualityMenu(core: PlayerCore, select: HTMLSelectElement, root: HTMLElement): void {
  core.addEventListener('renditions', () => {
    const renditions = core.renditions();
    select.replaceChildren(h('option', { value: '-1' }, 'Auto'));
    [...renditions]
      .sort((a, b) => b.height - a.height)
      .forEach((r) => select.append(h('option', { value: r.index }, `${r.height}p · ${formatBitrate(r.bitrate)}`)));
    select.value = '-1';
    select.disabled = false;
    root.dataset.levels = String(renditions.length);
  });
  select.addEventListener('change', () => core.setRendition(Number(select.value)));
}

export function wireCaptionsMenu(core: PlayerCore, select: HTMLSelectElement): void {
  const label = select.closest('label');
  const wired = new WeakSet<Hls>();
  const fill = (hls: Hls) => {
    const tracks = hls.subtitleTracks;
    if (label) label.hidden = tracks.length === 0;
    select.replaceChildren(h('option', { value: '-1' }, 'Off'));
    tracks.forEach((t, i) => select.append(h('option', { value: i }, t.name || t.lang || `Track ${i + 1}`)));
    select.value = String(hls.subtitleDisplay ? hls.subtitleTrack : -1);
    select.disabled = tracks.length === 0;
  };
  // hls.js lists the tracks of the playing rung's SUBTITLES group once that rung loads (SUBTITLE_TRACKS_UPDATED).
  core.addEventListener('renditions', () => {
    const hls = core.hls;
    if (!hls || wired.has(hls)) return;
    wired.add(hls);
    const E = (hls.constructor as typeof Hls).Events;
    hls.on(E.SUBTITLE_TRACKS_UPDATED, () => fill(hls));
    hls.on(E.SUBTITLE_TRACK_SWITCH, () => (select.value = String(hls.subtitleDisplay ? hls.subtitleTrack : -1)));
    fill(hls);
  });
  select.addEventListener('change', () => {
    const hls = core.hls;
    if (!hls) return;
    const index = Number(select.value);
    hls.subtitleDisplay = index >= 0;
    hls.subtitleTrack = index;
  });
}

export function wireAudioMenu(core: PlayerCore, select: HTMLSelectElement): void {
  const label = select.closest('label');
  const wired = new WeakSet<Hls>();
  const fill = (hls: Hls) => {
    const tracks = hls.audioTracks;
    if (label) label.hidden = tracks.length < 2;
    select.replaceChildren(...tracks.map((t, i) => h('option', { value: i }, t.name || t.lang || `Track ${i + 1}`)));
    select.value = String(hls.audioTrack);
    select.disabled = tracks.length < 2;
  };
  core.addEventListener('renditions', () => {
    const hls = core.hls;
    if (!hls || wired.has(hls)) return;
    wired.add(hls);
    const E = (hls.constructor as typeof Hls).Events;
    hls.on(E.AUDIO_TRACKS_UPDATED, () => fill(hls));
    hls.on(E.AUDIO_TRACK_SWITCHED, () => (select.value = String(hls.audioTrack)));
    fill(hls);
  });
  select.addEventListener('change', () => {
    const hls = core.hls;
    if (hls) hls.audioTrack = Number(select.value);
  });
}

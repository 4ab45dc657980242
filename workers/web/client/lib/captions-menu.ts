/**
 * The watch page's captions menu: the master's subtitles renditions (workers/captions), as hls.js lists them.
 * "Off" hides captions; a track shows it. The menu stays hidden for videos without tracks, and under native HLS
 * (Safari), whose own controls list the same renditions.
 */
import Hls, { Events } from 'hls.js';
import { h } from './dom';

export function wireCaptionsMenu(hls: Hls, select: HTMLSelectElement): void {
  const label = select.closest('label')!;
  const fill = () => {
    const tracks = hls.subtitleTracks;
    label.hidden = tracks.length === 0;
    select.replaceChildren(h('option', { value: '-1' }, 'Off'));
    tracks.forEach((t, i) => select.append(h('option', { value: i }, t.name || t.lang || `Track ${i + 1}`)));
    select.value = String(hls.subtitleDisplay ? hls.subtitleTrack : -1);
    select.disabled = tracks.length === 0;
  };
  hls.on(Events.MANIFEST_PARSED, fill);
  hls.on(Events.SUBTITLE_TRACK_SWITCH, () => (select.value = String(hls.subtitleDisplay ? hls.subtitleTrack : -1)));
  select.addEventListener('change', () => {
    const index = Number(select.value);
    hls.subtitleDisplay = index >= 0;
    hls.subtitleTrack = index;
  });
}

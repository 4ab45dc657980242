/**
 * The player's markup for the element's shadow root: the same structure, classes and `data-part` names as the watch
 * page's server-rendered player (workers/web/pages.tsx), so controls.ts and player.css serve both.
 */
import { h } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

function icon(paths: { d: string; stroke?: boolean }[], cls: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const p of paths) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', p.d);
    if (p.stroke) {
      path.setAttribute('stroke', 'currentColor');
      path.setAttribute('stroke-width', '2');
      path.setAttribute('fill', 'none');
    }
    svg.append(path);
  }
  return svg;
}

export function buildPlayerMarkup(title: string): HTMLElement {
  const part = (name: string) => ({ 'data-part': name });
  const select = (name: string, first: string, label: string, cls: string) =>
    h('label', { class: cls }, h('span', {}, label), h('select', { ...part(name), disabled: true }, h('option', { value: '-1' }, first)));
  const captions = select('captions', 'Off', 'Captions', 'quality captions');
  captions.hidden = true;
  const audio = select('audio', 'Original', 'Audio', 'quality audio');
  audio.hidden = true;
  return h(
    'section',
    { class: 'player', 'aria-label': title ? `Video player: ${title}` : 'Video player', tabindex: -1 },
    h(
      'div',
      { class: 'stage' },
      h('video', { ...part('media'), playsinline: true, preload: 'metadata' }),
      h('div', { ...part('spinner'), class: 'spinner', hidden: true, 'aria-hidden': 'true' }),
      h('div', { ...part('message'), class: 'player-message', role: 'alert', hidden: true }),
      h('button', { ...part('bigPlay'), type: 'button', class: 'big-play', 'aria-label': 'Play', hidden: true }, '▶'),
    ),
    h(
      'div',
      { ...part('controls'), class: 'controls' },
      h('button', { ...part('play'), type: 'button', 'aria-label': 'Play', disabled: true }, '▶'),
      h(
        'div',
        { class: 'seek' },
        h('input', { ...part('seek'), type: 'range', min: 0, max: 0, step: 0.1, value: 0, 'aria-label': 'Seek', disabled: true }),
        h('div', { ...part('preview'), class: 'preview', 'aria-hidden': 'true', hidden: true }, h('div', { ...part('previewImage'), class: 'preview-image' }), h('span', part('previewTime'))),
      ),
      h('span', { ...part('time'), class: 'time' }, '0:00 / 0:00'),
      h(
        'button',
        { ...part('mute'), type: 'button', 'aria-label': 'Mute', 'aria-pressed': 'false' },
        icon([{ d: 'M3 9v6h4l5 5V4L7 9H3zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4z' }], 'icon icon-sound'),
        icon([{ d: 'M3 9v6h4l5 5V4L7 9H3z' }, { d: 'M15 9l6 6m0-6l-6 6', stroke: true }], 'icon icon-muted'),
      ),
      select('quality', 'Auto', 'Quality', 'quality'),
      audio,
      captions,
      h('button', { ...part('fullscreen'), type: 'button', 'aria-label': 'Full screen' }, icon([{ d: 'M4 4h6v2H6v4H4V4zm10 0h6v6h-2V6h-4V4zM4 14h2v4h4v2H4v-6zm14 0h2v6h-6v-2h4v-4z' }], 'icon')),
    ),
  );
}

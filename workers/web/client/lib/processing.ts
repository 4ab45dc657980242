/** Renders a video's processing state (per unit of work: analysis, each rendition, thumbnails) as a list of bars. */
import type { Video } from './api';
import { h } from './dom';

const UNIT_LABELS: Record<string, string> = { analyze: 'Analysis', thumbnails: 'Thumbnails', thumbs: 'Thumbnails' };

export function unitLabel(unit: string): string {
  return UNIT_LABELS[unit] ?? unit.replace(/^rendition[:_-]?/, '');
}

export function processingList(video: Pick<Video, 'processing' | 'error'>): HTMLUListElement {
  const list = h('ul', { class: 'units' });
  for (const unit of video.processing) {
    const pct = Math.round(Math.max(0, Math.min(1, unit.status === 'COMPLETED' ? 1 : unit.progress)) * 100);
    const label = unitLabel(unit.unit);
    const state = unit.status === 'COMPLETED' ? 'done' : unit.status === 'FAILED' ? 'failed' : unit.status === 'PENDING' ? 'waiting' : `${pct}%`;
    // A unit's reason is shown under it, unless it is the video's own reason (already said above the list).
    const reason = unit.status === 'FAILED' && unit.error && unit.error !== video.error ? h('p', { class: 'unit-error' }, unit.error) : null;
    list.append(
      h(
        'li',
        { 'data-unit': unit.unit, 'data-status': unit.status },
        h('span', { class: 'unit-name' }, label),
        h('progress', { max: 100, value: pct, 'aria-label': `${label} progress` }),
        h('span', { class: 'unit-state' }, state),
        reason,
      ),
    );
  }
  return list;
}

/** One sentence for the video's state, as a creator needs it. */
export function statusSentence(video: Pick<Video, 'status' | 'renditions' | 'error'>): string {
  switch (video.status) {
    case 'UPLOADING':
      return 'Waiting for the upload to finish.';
    case 'PROCESSING':
      return video.renditions.length > 0
        ? `Processing. ${video.renditions.length} quality level${video.renditions.length === 1 ? ' is' : 's are'} ready, so it can already be watched.`
        : 'Processing. It can be watched as soon as the first quality level is ready.';
    case 'READY':
      return 'Ready to watch.';
    case 'FAILED':
      return `This file could not be processed: ${(video.error ?? 'unknown reason').replace(/\.+$/, '')}.`;
    case 'DELETED':
      return 'This video was deleted.';
  }
}

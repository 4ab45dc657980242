/**
 * Library: the creator's videos with status, per-rendition progress while processing, poster, duration, views and
 * unique viewers; inline edit of title and description; delete with an inline confirmation. Videos still uploading
 * or processing are polled every few seconds until they settle.
 */
import { api, errorMessage, handleAuthFailure, requireToken, type Video, type VideoStats } from '../lib/api';
import { initChrome } from '../lib/chrome';
import { announce, byId, h } from '../lib/dom';
import { formatClock, formatCount } from '../lib/format';
import { playbackFor, thumbnailUrl } from '../lib/playback';
import { processingList, statusSentence } from '../lib/processing';
import { VIDEO_TEXT } from '../../../shared/video-text';

const list = byId<HTMLUListElement>('videos');
const status = byId('library-status');
const moreButton = byId<HTMLButtonElement>('more');
const POLL_MS = 3000;
let nextCursor: string | null = null;
const cards = new Map<string, HTMLLIElement>();
const unsettled = new Set<string>();

initChrome();
if (requireToken()) {
  moreButton.addEventListener('click', () => void loadPage());
  void loadPage().then(() => setInterval(() => void refreshUnsettled(), POLL_MS));
}

async function loadPage(): Promise<void> {
  try {
    const query = new URLSearchParams({ limit: '20' });
    if (nextCursor) query.set('cursor', nextCursor);
    const page = await api<{ videos: Video[]; nextCursor: string | null }>(`/v1/videos?${query}`);
    nextCursor = page.nextCursor;
    moreButton.hidden = !nextCursor;
    if (cards.size === 0 && page.videos.length === 0) {
      announce(status, '');
      list.append(h('li', { class: 'empty' }, 'No videos yet. ', h('a', { href: '/upload' }, 'Upload your first one'), '.'));
      return;
    }
    announce(status, '');
    // The list omits renditions and job progress; each card reads its full video object.
    await Promise.all(page.videos.map((v) => renderVideo(v.id)));
  } catch (err) {
    if (!handleAuthFailure(err)) announce(status, `Could not load your videos: ${errorMessage(err)}`, 'error');
  }
}

async function refreshUnsettled(): Promise<void> {
  await Promise.all([...unsettled].map((id) => renderVideo(id)));
}

async function renderVideo(id: string): Promise<void> {
  let video: Video;
  try {
    video = await api<Video>(`/v1/videos/${encodeURIComponent(id)}`);
  } catch (err) {
    if (handleAuthFailure(err)) return;
    cards.get(id)?.remove();
    cards.delete(id);
    unsettled.delete(id);
    return;
  }
  const existing = cards.get(id);
  // Don't yank an open edit form or delete confirmation out from under the creator.
  if (existing?.querySelector('form, .confirm')) return;
  const [stats, poster] = await Promise.all([statsFor(video), posterFor(video)]);
  const card = videoCard(video, stats, poster);
  if (existing) existing.replaceWith(card);
  else list.append(card);
  cards.set(id, card);
  if (video.status === 'UPLOADING' || video.status === 'PROCESSING') unsettled.add(id);
  else unsettled.delete(id);
}

async function statsFor(video: Video): Promise<VideoStats | null> {
  if (video.status !== 'READY' && video.status !== 'PROCESSING') return null;
  try {
    return await api<VideoStats>(`/v1/videos/${encodeURIComponent(video.id)}/stats`);
  } catch {
    return null;
  }
}

async function posterFor(video: Video): Promise<string | null> {
  if (video.status !== 'READY') return null;
  try {
    return thumbnailUrl((await playbackFor(video.id)).url, 'poster.jpg');
  } catch {
    return null;
  }
}

function videoCard(video: Video, stats: VideoStats | null, poster: string | null): HTMLLIElement {
  const watchHref = `/watch/${encodeURIComponent(video.id)}`;
  const playable = video.status === 'READY' || (video.status === 'PROCESSING' && video.renditions.length > 0);
  const titleId = `title-${video.id}`;
  const card = h('li', { class: 'video card', 'data-video-id': video.id, 'data-status': video.status, 'aria-labelledby': titleId });
  const thumb = poster
    ? h('img', { class: 'thumb', src: poster, alt: '', loading: 'lazy', width: 160, height: 90 })
    : h('div', { class: 'thumb placeholder', 'aria-hidden': 'true' }, video.status === 'FAILED' ? '!' : '…');
  const heading = h('h2', { id: titleId, class: 'video-title' }, playable ? h('a', { href: watchHref }, video.title) : video.title);
  const facts = h(
    'p',
    { class: 'meta' },
    h('span', { class: `badge status-${video.status.toLowerCase()}` }, video.status),
    video.duration !== null ? ` · ${formatClock(video.duration)}` : '',
    video.renditions.length ? ` · ${video.renditions.map((r) => r.name).join(', ')}` : '',
    stats ? ` · ${formatCount(stats.views)} view${stats.views === 1 ? '' : 's'} · ${formatCount(stats.uniqueViewers)} unique` : '',
  );
  const body = h('div', { class: 'video-body' }, heading, facts);
  if (video.description) body.append(h('p', { class: 'description' }, video.description));
  if (video.status !== 'READY') body.append(h('p', { class: 'status', 'data-kind': video.status === 'FAILED' ? 'error' : 'info' }, statusSentence(video)));
  if (video.status === 'PROCESSING' && video.processing.length) body.append(processingList(video));
  const actions = h('div', { class: 'actions' });
  if (playable) actions.append(h('a', { class: 'button', href: watchHref }, 'Watch'));
  if (video.status === 'READY' || video.status === 'PROCESSING') {
    actions.append(h('a', { class: 'button', href: `/stats/${encodeURIComponent(video.id)}` }, 'Stats'));
  }
  actions.append(
    h('button', { type: 'button', onclick: () => editForm(card, video), 'aria-label': `Edit ${video.title}` }, 'Edit'),
    h('button', { type: 'button', class: 'danger', onclick: () => confirmDelete(card, video), 'aria-label': `Delete ${video.title}` }, 'Delete'),
  );
  body.append(actions);
  card.append(thumb, body);
  return card;
}

function editForm(card: HTMLLIElement, video: Video): void {
  const titleId = `edit-title-${video.id}`;
  const descId = `edit-desc-${video.id}`;
  const message = h('p', { class: 'status', role: 'status', hidden: true });
  const titleInput = h('input', { id: titleId, type: 'text', value: video.title, maxlength: VIDEO_TEXT.maxTitle, required: true });
  const descInput = h('textarea', { id: descId, rows: 3, maxlength: VIDEO_TEXT.maxDescription });
  descInput.value = video.description;
  const close = () => {
    form.remove();
    card.querySelector<HTMLButtonElement>('button')?.focus();
    void renderVideo(video.id);
  };
  const form = h(
    'form',
    { class: 'form edit' },
    h('label', { for: titleId }, 'Title'),
    titleInput,
    h('label', { for: descId }, 'Description'),
    descInput,
    message,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), h('button', { type: 'button', onclick: close }, 'Cancel')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'PATCH', json: { title: titleInput.value, description: descInput.value } });
      close();
    } catch (err) {
      if (!handleAuthFailure(err)) announce(message, `Could not save: ${errorMessage(err)}`, 'error');
    }
  });
  card.querySelector('.video-body')?.append(form);
  titleInput.focus();
}

function confirmDelete(card: HTMLLIElement, video: Video): void {
  const message = h('p', { class: 'status', role: 'status', hidden: true });
  const keep = h('button', { type: 'button' }, 'Keep it');
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete for good');
  const box = h(
    'div',
    { class: 'confirm', role: 'group', 'aria-label': 'Confirm delete' },
    h('p', {}, `Delete “${video.title}”? This removes the video, its renditions and its thumbnails. It cannot be undone.`),
    h('div', { class: 'actions' }, remove, keep),
    message,
  );
  keep.addEventListener('click', () => {
    box.remove();
    card.querySelector<HTMLButtonElement>('button.danger')?.focus();
  });
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await api(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'DELETE' });
      card.remove();
      cards.delete(video.id);
      unsettled.delete(video.id);
      announce(status, `Deleted “${video.title}”.`, 'success');
    } catch (err) {
      remove.disabled = false;
      if (!handleAuthFailure(err)) announce(message, `Could not delete: ${errorMessage(err)}`, 'error');
    }
  });
  card.querySelector('.video-body')?.append(box);
  keep.focus();
}

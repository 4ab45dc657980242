/**
 * Upload page: tus 1.0.0 through tus-js-client. The video is created first (`POST /v1/videos`, title and
 * description), then its file goes to `/v1/uploads` with `videoId` in Upload-Metadata. tus-js-client remembers the
 * upload URL under the file's fingerprint (name, type, size, modification time) in localStorage, so picking the
 * same file after closing the tab resumes it: a HEAD asks the server for the offset and only the rest is sent.
 * Network drops are retried with backoff; after the retries run out the upload waits for the browser to come back
 * online (or a click on Resume). A dropped connection does not always fail the request in flight (it can hang
 * with no error), so the page also reacts to the browser going offline and to a stall: no bytes acknowledged for
 * STALL_MS aborts the request and resumes from the server's offset.
 */
import * as tus from 'tus-js-client';
import { api, authHeaders, errorMessage, handleAuthFailure, requireToken, signInUrl, type Video } from '../lib/api';
import { initChrome } from '../lib/chrome';
import { announce, byId, h, pageConfig } from '../lib/dom';
import { formatBytes, formatEta, formatRate } from '../lib/format';
import { processingList, statusSentence } from '../lib/processing';
import { ProgressMeter } from '../lib/progress-meter';

interface UploadConfig {
  tusEndpoint: string;
  /** The server's part size; tus PATCHes are this size (every one but the last), see README "Uploads". */
  chunkSize: number;
  maxFileSize: number;
}

const config = pageConfig<UploadConfig>();
const endpoint = new URL(config.tusEndpoint, location.href).toString();
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000];
const STALL_MS = 15_000;

const form = byId<HTMLFormElement>('upload-form');
const fileInput = byId<HTMLInputElement>('file');
const dropzone = byId('dropzone');
const fileInfo = byId('file-info');
const titleInput = byId<HTMLInputElement>('title');
const descriptionInput = byId<HTMLTextAreaElement>('description');
const resumeNote = byId('resume-note');
const startButton = byId<HTMLButtonElement>('start');
const progressSection = byId('upload-progress');
const progressBar = byId<HTMLProgressElement>('progress');
const percentText = byId('progress-percent');
const bytesText = byId('progress-bytes');
const speedText = byId('progress-speed');
const etaText = byId('progress-eta');
const uploadStatus = byId('upload-status');
const pauseButton = byId<HTMLButtonElement>('pause');
const cancelButton = byId<HTMLButtonElement>('cancel');
const processingSection = byId('processing');
const processingStatus = byId('processing-status');
const watchLink = byId<HTMLAnchorElement>('watch-link');

let file: File | null = null;
let previous: tus.PreviousUpload | null = null;
let upload: tus.Upload | null = null;
let videoId: string | null = null;
let meter: ProgressMeter | null = null;
let state: 'idle' | 'uploading' | 'paused' | 'waiting-network' | 'done' | 'canceled' = 'idle';
let lastProgressAt = 0;

initChrome();
if (requireToken()) {
  fileInput.addEventListener('change', () => {
    const picked = fileInput.files?.[0];
    if (picked) void selectFile(picked);
  });
  for (const type of ['dragenter', 'dragover']) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add('dragging');
    });
  }
  for (const type of ['dragleave', 'drop']) dropzone.addEventListener(type, () => dropzone.classList.remove('dragging'));
  dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    const dropped = event.dataTransfer?.files[0];
    if (!dropped) return;
    const list = new DataTransfer();
    list.items.add(dropped);
    fileInput.files = list.files;
    void selectFile(dropped);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void begin();
  });
  pauseButton.addEventListener('click', () => (state === 'uploading' ? pause() : resume()));
  cancelButton.addEventListener('click', () => void cancel());
  window.addEventListener('online', () => {
    if (state === 'waiting-network') resume();
  });
  window.addEventListener('offline', () => {
    if (state !== 'uploading' || !upload) return;
    state = 'waiting-network';
    void upload.abort();
    pauseButton.textContent = 'Resume';
    announce(uploadStatus, 'The connection was lost. The upload will resume automatically when you are back online.', 'error');
  });
  setInterval(() => {
    if (state !== 'uploading' || !upload || performance.now() - lastProgressAt < STALL_MS) return;
    // No byte acknowledged for STALL_MS: the request is hanging on a dead connection. Start over from the offset.
    void upload.abort().then(() => {
      if (state !== 'uploading') return;
      announce(uploadStatus, 'The connection stalled. Retrying…', 'error');
      meter?.reset();
      lastProgressAt = performance.now();
      upload?.start();
    });
  }, 1000);
}

function tusOptions(): tus.UploadOptions {
  return {
    endpoint,
    chunkSize: config.chunkSize,
    retryDelays: RETRY_DELAYS_MS,
    headers: authHeaders(),
    removeFingerprintOnSuccess: true,
    metadata: file ? { filename: file.name, filetype: file.type || 'application/octet-stream', ...(videoId ? { videoId } : {}) } : {},
  };
}

async function selectFile(picked: File): Promise<void> {
  file = picked;
  previous = null;
  resumeNote.hidden = true;
  startButton.textContent = 'Upload';
  if (picked.size === 0) {
    announce(fileInfo, 'This file is empty. Choose another one.', 'error');
    return;
  }
  if (picked.size > config.maxFileSize) {
    announce(fileInfo, `This file is ${formatBytes(picked.size)}; the largest upload allowed is ${formatBytes(config.maxFileSize)}.`, 'error');
    return;
  }
  const looksLikeVideo = picked.type.startsWith('video/') || /\.(mkv|mov|mp4|m4v|webm|avi|ts|mts|flv|wmv|3gp)$/i.test(picked.name);
  announce(
    fileInfo,
    looksLikeVideo
      ? `${picked.name} · ${formatBytes(picked.size)}`
      : `${picked.name} · ${formatBytes(picked.size)} · This does not look like a video file. You can still upload it; if it cannot be processed, you will see why.`,
    looksLikeVideo ? 'info' : 'error',
  );
  if (!titleInput.value.trim()) titleInput.value = picked.name.replace(/\.[^.]+$/, '');
  await findPrevious(picked);
}

/** An unfinished upload of the same file whose video is still waiting for it, if any. */
async function findPrevious(picked: File): Promise<void> {
  const candidates = await new tus.Upload(picked, tusOptions()).findPreviousUploads();
  candidates.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
  for (const candidate of candidates) {
    const id = candidate.metadata.videoId;
    if (!id) continue;
    try {
      const video = await api<Video>(`/v1/videos/${encodeURIComponent(id)}`);
      if (video.status !== 'UPLOADING') continue;
      if (file !== picked) return;
      previous = candidate;
      titleInput.value = video.title;
      descriptionInput.value = video.description;
      resumeNote.textContent = `You started uploading this file on ${new Date(candidate.creationTime).toLocaleString()}. It will continue where it stopped.`;
      resumeNote.hidden = false;
      startButton.textContent = 'Resume upload';
      return;
    } catch (err) {
      if (handleAuthFailure(err)) return;
      // Deleted or inaccessible video: that stored upload is useless, start fresh.
    }
  }
}

async function begin(): Promise<void> {
  if (!file) {
    announce(fileInfo, 'Choose a video file first.', 'error');
    fileInput.focus();
    return;
  }
  const title = titleInput.value.trim();
  if (!title) {
    titleInput.focus();
    titleInput.setAttribute('aria-invalid', 'true');
    announce(fileInfo, 'Give the video a title.', 'error');
    return;
  }
  titleInput.removeAttribute('aria-invalid');
  startButton.disabled = true;
  try {
    if (previous?.metadata.videoId) {
      videoId = previous.metadata.videoId;
    } else {
      const created = await api<Video>('/v1/videos', { method: 'POST', json: { title, description: descriptionInput.value } });
      videoId = created.id;
    }
  } catch (err) {
    startButton.disabled = false;
    if (!handleAuthFailure(err)) announce(fileInfo, `Could not create the video: ${errorMessage(err)}`, 'error');
    return;
  }
  form.hidden = true;
  progressSection.hidden = false;
  progressSection.dataset.videoId = videoId;
  meter = new ProgressMeter(file.size);
  const current = file;
  upload = new tus.Upload(current, {
    ...tusOptions(),
    onProgress: (sent, total) => showProgress(sent, total),
    onShouldRetry: (err, attempt) => {
      const status = err.originalResponse?.getStatus() ?? 0;
      // A client error will not fix itself by retrying (409/423 are tus's "try again" conflicts).
      if (status >= 400 && status < 500 && status !== 409 && status !== 423) return false;
      meter?.reset();
      announce(uploadStatus, `Connection problem. Retrying (attempt ${attempt + 1} of ${RETRY_DELAYS_MS.length})…`, 'error');
      return true;
    },
    onError: (err) => onUploadError(err),
    onSuccess: () => void onUploaded(),
  });
  if (previous) {
    upload.resumeFromPreviousUpload(previous);
    announce(uploadStatus, 'Resuming…');
  } else {
    announce(uploadStatus, 'Uploading…');
  }
  state = 'uploading';
  lastProgressAt = performance.now();
  upload.start();
  cancelButton.focus();
}

function showProgress(sent: number, total: number): void {
  lastProgressAt = performance.now();
  if (!meter) return;
  const snap = meter.update(sent, performance.now());
  const pct = Math.floor(snap.fraction * 1000) / 10;
  progressBar.value = pct;
  progressBar.setAttribute('aria-valuetext', `${pct}%`);
  percentText.textContent = `${pct}%`;
  bytesText.textContent = `${formatBytes(sent)} of ${formatBytes(total)}`;
  speedText.textContent = formatRate(snap.bytesPerSecond ?? Number.NaN);
  etaText.textContent = sent >= total ? 'done' : `${formatEta(snap.secondsLeft)} left`;
  if (state === 'uploading' && uploadStatus.textContent !== 'Uploading…') announce(uploadStatus, 'Uploading…');
}

function onUploadError(err: Error): void {
  const status = err instanceof tus.DetailedError ? (err.originalResponse?.getStatus() ?? 0) : 0;
  if (status === 401) {
    state = 'paused';
    announce(uploadStatus, '', 'error');
    uploadStatus.append(
      'Your sign-in has expired or the token is no longer valid. ',
      h('a', { href: signInUrl('expired') }, 'Sign in again'),
      ', then pick the same file to continue where it stopped.',
    );
    pauseButton.textContent = 'Resume';
    return;
  }
  if (status >= 400 && status < 500) {
    state = 'paused';
    announce(uploadStatus, `The server refused the upload (${status}): ${serverMessage(err)}`, 'error');
    pauseButton.textContent = 'Retry';
    return;
  }
  state = 'waiting-network';
  pauseButton.textContent = 'Resume';
  announce(uploadStatus, 'The connection was lost. The upload will resume automatically when you are back online, or press Resume.', 'error');
}

function serverMessage(err: Error): string {
  if (!(err instanceof tus.DetailedError)) return err.message;
  const body = err.originalResponse?.getBody() ?? '';
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    return parsed.error?.message ?? body;
  } catch {
    return body || err.message;
  }
}

function pause(): void {
  if (!upload) return;
  state = 'paused';
  void upload.abort();
  meter?.reset();
  pauseButton.textContent = 'Resume';
  announce(uploadStatus, 'Paused. Press Resume to continue (or close the tab and pick the same file later).');
}

function resume(): void {
  if (!upload) return;
  state = 'uploading';
  lastProgressAt = performance.now();
  meter?.reset();
  pauseButton.textContent = 'Pause';
  announce(uploadStatus, 'Resuming…');
  upload.start();
}

async function cancel(): Promise<void> {
  if (!upload || !videoId) return;
  state = 'canceled';
  cancelButton.disabled = true;
  pauseButton.disabled = true;
  try {
    // Terminate the tus upload (frees the stored parts), then remove the empty video it was for.
    await upload.abort(true).catch(() => undefined);
    await api(`/v1/videos/${encodeURIComponent(videoId)}`, { method: 'DELETE' });
    announce(uploadStatus, 'Upload canceled. Nothing was kept.', 'info');
  } catch (err) {
    if (handleAuthFailure(err)) return;
    announce(uploadStatus, `Upload canceled, but the draft video could not be removed: ${errorMessage(err)}`, 'error');
  }
  progressSection.dataset.state = 'canceled';
  const again = h('a', { class: 'button', href: '/upload' }, 'Start over');
  uploadStatus.after(again);
  again.focus();
}

async function onUploaded(): Promise<void> {
  state = 'done';
  progressBar.value = 100;
  percentText.textContent = '100%';
  etaText.textContent = 'done';
  pauseButton.hidden = true;
  cancelButton.hidden = true;
  byId('progress-heading').textContent = 'Uploaded';
  announce(uploadStatus, 'Upload complete.', 'success');
  progressSection.dataset.state = 'complete';
  processingSection.hidden = false;
  await pollProcessing();
}

/** Polls the video until it is READY or FAILED, showing each unit's progress. */
async function pollProcessing(): Promise<void> {
  if (!videoId) return;
  const id = videoId;
  for (;;) {
    let video: Video;
    try {
      video = await api<Video>(`/v1/videos/${encodeURIComponent(id)}`);
    } catch (err) {
      if (handleAuthFailure(err)) return;
      announce(processingStatus, `Could not read the video's status: ${errorMessage(err)}. Retrying…`, 'error');
      await sleep(5000);
      continue;
    }
    processingSection.dataset.status = video.status;
    announce(processingStatus, statusSentence(video), video.status === 'FAILED' ? 'error' : video.status === 'READY' ? 'success' : 'info');
    byId('processing-units').replaceWith(Object.assign(processingList(video), { id: 'processing-units' }));
    if (video.renditions.length > 0 || video.status === 'READY') {
      watchLink.href = `/watch/${encodeURIComponent(id)}`;
      watchLink.hidden = false;
    }
    if (video.status === 'READY' || video.status === 'FAILED' || video.status === 'DELETED') return;
    await sleep(2000);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

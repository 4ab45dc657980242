/**
 * Consumer of `media-jobs`: makes one rung's MP4 per message through the transcoder (`POST /v1/download`).
 *
 * - The request lists the rung's segments (a clip's: its window of the source's) and the audio rendition's over
 *   the same window, to be remuxed into one `+faststart` MP4 with both tracks; the transcoder checks the result (H.264/AAC, duration within tolerance of the playlist) and
 *   otherwise encodes from the original (the clip's range of it) when there is one (a live recording has none, nor a
 *   video whose original was deleted under retention).
 * - Acks: done, already done, video gone (the row is failed). Transient failures go back to PENDING and retry
 *   with backoff; after `downloads.maxAttempts` deliveries, or on a permanent failure, the row is FAILED with the
 *   reason (shown in the video object; a new POST tries again).
 */
import { loadConfig, type Config } from '../shared/config';
import { openDb, type Db } from '../shared/db';
import { headOriginal } from '../shared/original';
import { runtime } from '../shared/runtime';
import { AUDIO_RENDITION, keys, publicPaths } from '../shared/storage-keys';
import { codecOfCodecs } from '../shared/rendition-names';
import type { DownloadRequest, DownloadResult } from '../../containers/transcoder/src/media-protocol';
import { cacheUrl, purge } from '../playback/edge-cache';
import { loadPlaybackState, type PlaybackState } from '../playback/state';
import { defaultAudioRendition } from '../playback/audio-group';
import { runTranscoderJob, transcoderFor, type Transcoder } from '../transcoding/transcoder-client';
import { parseMediaJobMessage, type MediaJobMessage } from './messages';
import { backoffSeconds } from '../shared/leased-work';
import { consumeWorkBatch, type WorkOutcome } from '../shared/work-batch';
import { recountStoredBytes } from '../usage/stored';
import { claimDownload, completeDownload, failDownload, releaseDownload, reportDownloadProgress, type DownloadRow } from './repo';

type Outcome = WorkOutcome;

/** The audio-only download: the default audio track's segments (over a clip's window), copied into an M4A. */
function audioRequest(state: PlaybackState, config: Config, message: MediaJobMessage): DownloadRequest | string {
  const name = defaultAudioRendition(state);
  const audio = name ? state.renditions.get(name) : undefined;
  if (!audio) return 'the video has no audio rendition';
  return {
    segmentKeys: audio.segmentDurations.map((_, i) => keys.segment(state.segmentsOf, audio.name, (audio.firstSegment ?? 0) + i, audio.packaging)),
    ...(audio.packaging === 'cmaf' ? { initKey: keys.init(state.segmentsOf, audio.name) } : {}),
    audioOnly: true,
    outputKey: keys.download(message.videoId, AUDIO_RENDITION),
    expectedDuration: audio.segmentDurations.reduce((a, b) => a + b, 0),
    durationToleranceSec: config.downloads.durationToleranceSec,
    encodeFallback: null,
  };
}

async function buildRequest(env: Pick<Env, 'MEDIA'>, db: Db, config: Config, message: MediaJobMessage): Promise<DownloadRequest | string> {
  const state = await loadPlaybackState(db, message.videoId);
  if (!state || state.video.status === 'DELETED') return 'the video was deleted';
  if (message.rendition === AUDIO_RENDITION) return audioRequest(state, config, message);
  const rung = state.renditions.get(message.rendition);
  if (!rung) return `the video has no ${message.rendition} rendition`;
  const first = rung.firstSegment ?? 0;
  const spec = config.transcoding.ladder.find((r) => r.name === rung.name);
  const clipStart = state.video.clipOf ? (state.video.clipStart ?? 0) : 0;
  const expectedDuration = rung.segmentDurations.reduce((a, b) => a + b, 0);
  const bitrate = spec?.bitrate ?? Math.round(rung.averageBandwidth * 0.9);
  const codec = codecOfCodecs(rung.codecs) ?? 'h264';
  // The ladder's audio is its own rendition, cut at the same boundaries: the same window of it.
  const audio = state.renditions.get(AUDIO_RENDITION);
  return {
    segmentKeys: rung.segmentDurations.map((_, i) => keys.segment(state.segmentsOf, rung.name, first + i, rung.packaging)),
    ...(rung.packaging === 'cmaf' ? { initKey: keys.init(state.segmentsOf, rung.name) } : {}),
    videoCodec: codec,
    audioSegmentKeys: audio?.segmentDurations.map((_, i) => keys.segment(state.segmentsOf, AUDIO_RENDITION, (audio.firstSegment ?? 0) + i, audio.packaging)),
    ...(audio?.packaging === 'cmaf' ? { audioInitKey: keys.init(state.segmentsOf, AUDIO_RENDITION) } : {}),
    outputKey: keys.download(message.videoId, rung.name),
    expectedDuration,
    durationToleranceSec: config.downloads.durationToleranceSec,
    // The fallback encodes H.264 from the original: an HEVC or AV1 rung's download, and that of a video without an
    // original (a live recording, or one whose original retention deleted), is its own segments or nothing.
    encodeFallback: codec !== 'h264' || !(await headOriginal(env.MEDIA, state.segmentsOf)) ? null : {
      sourceKey: keys.original(state.segmentsOf),
      start: clipStart,
      duration: expectedDuration,
      width: rung.width,
      height: rung.height,
      bitrate,
      maxrate: Math.round(bitrate * config.transcoding.maxrateFactor),
      bufsize: Math.round(bitrate * config.transcoding.bufsizeFactor),
      audioBitrate: config.transcoding.audioBitrate,
      x264Preset: config.transcoding.x264Preset,
    },
  };
}

const backoff = (attempts: number, config: Config) => backoffSeconds(attempts, config.downloads.retryBaseDelaySec, config.downloads.retryMaxDelaySec);

async function processDownload(env: Pick<Env, 'MEDIA'>, db: Db, config: Config, transcoder: Transcoder, message: MediaJobMessage): Promise<Outcome> {
  const claim = await claimDownload(db, message.videoId, message.rendition, config.downloads.jobLeaseMs);
  if (claim.status === 'done') return { status: 'ack' };
  if (claim.status === 'busy') return { status: 'retry', reason: 'held by another worker', delaySeconds: Math.ceil(claim.leaseRemainingMs / 1000) + 1 };
  const row: DownloadRow = claim.row;
  const request = await buildRequest(env, db, config, message);
  if (typeof request === 'string') {
    await failDownload(db, message.videoId, message.rendition, request);
    return { status: 'ack' };
  }
  let last = 0;
  const outcome = await runTranscoderJob<DownloadResult>(transcoder, '/v1/download', request, `download:${message.videoId}:${message.rendition}`, async (fraction) => {
    const now = runtime().now();
    if (now - last < 2000) return;
    last = now;
    await reportDownloadProgress(db, row, fraction, config.downloads.jobLeaseMs);
  });
  if (outcome.status === 'ok') {
    await completeDownload(db, row, outcome.result);
    await recountStoredBytes(env, db, message.videoId);
    // A re-made file replaces the old one under the same URL: drop this location's cached copy.
    await purge([cacheUrl(publicPaths.download(message.videoId, message.rendition))]);
    return { status: 'ack' };
  }
  if (outcome.permanent || row.attempts >= config.downloads.maxAttempts) {
    await failDownload(db, message.videoId, message.rendition, outcome.message);
    return { status: 'ack' };
  }
  await releaseDownload(db, row, outcome.message);
  return { status: 'retry', reason: outcome.message, delaySeconds: backoff(row.attempts, config) };
}

export async function handleMediaJobBatch(batch: MessageBatch<unknown>, env: Env, transcoder: Transcoder = transcoderFor(env, loadConfig(env))): Promise<void> {
  const config = loadConfig(env);
  const db = openDb(env.DB);
  // A message that keeps bouncing stops (consumeWorkBatch); the row stays PENDING for a new POST.
  await consumeWorkBatch(batch, {
    parse: parseMediaJobMessage,
    process: (message) => processDownload(env, db, config, transcoder, message),
    maxAttempts: config.downloads.maxAttempts,
    backoff: (attempts) => backoff(attempts, config),
    name: (message) => `download ${message.videoId}/${message.rendition}`,
  });
}

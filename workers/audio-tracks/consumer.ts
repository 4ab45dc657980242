/**
 * Consumer of `audio-tracks`: encodes one extra audio track per message through the transcoder's audio unit
 * (`POST /v1/audio` with `addedTrack`), the same encode as the video's main audio: AAC at the platform's bitrate, cut
 * at the same segment boundaries, on the video's timeline, padded with silence or cut to the video's duration, in
 * the video's packaging (`ts`, or `cmaf` with an init segment). The output is the rendition `audio_{lang}`.
 *
 * - A track given as a URL is fetched first, the way imports fetch (imports/source.ts: checked redirects, the SSRF
 *   rule), into `originals/{id}/audio_{lang}`, bounded by `audioTracks.maxBytes`.
 * - The file's own length decides the track's `warning`: longer than the video by more than `lengthToleranceSec` is
 *   cut, shorter is padded with silence.
 * - A file that is not audio fails the track (permanently, with the transcoder's reason); nothing else of the video
 *   changes. Transient failures go back to PENDING and retry with backoff, up to `audioTracks.maxAttempts`.
 */
import { eq } from 'drizzle-orm';
import { loadConfig, type Config } from '../shared/config';
import { openDb, schema, type Db } from '../shared/db';
import { backoffSeconds } from '../shared/leased-work';
import { consumeWorkBatch, type WorkOutcome } from '../shared/work-batch';
import { runtime } from '../shared/runtime';
import { audioTrackRendition, keys } from '../shared/storage-keys';
import type { AudioRequest, AudioResult } from '../../containers/transcoder/src/protocol';
import { runTranscoderJob, transcoderFor, type Transcoder } from '../transcoding/transcoder-client';
import { isAudioResult } from '../transcoding/units';
import { recountStoredBytes } from '../usage/stored';
import { openSource } from '../imports/source';
import { parseAudioTrackMessage, type AudioTrackMessage } from './messages';
import { purgeAudioTrackObjects } from './purge';
import { claimAudioTrack, completeAudioTrack, failAudioTrack, releaseAudioTrack, reportAudioTrackProgress, type AudioTrackRow } from './repo';

type Outcome = WorkOutcome;
type Step = { status: 'ok' } | { status: 'fail' | 'retry'; reason: string };

const backoff = (attempts: number, config: Config) => backoffSeconds(attempts, config.audioTracks.retryBaseDelaySec, config.audioTracks.retryMaxDelaySec);

/** What fitting the file to the video did, in words; null when it fit (within the tolerance). */
export function lengthWarning(inputDuration: number | undefined, videoDuration: number, toleranceSec: number): string | null {
  if (inputDuration === undefined) return null;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  if (inputDuration > videoDuration + toleranceSec) return `the file lasts ${r(inputDuration)} s, longer than the video (${r(videoDuration)} s): its end was cut`;
  if (inputDuration < videoDuration - toleranceSec) return `the file lasts ${r(inputDuration)} s, shorter than the video (${r(videoDuration)} s): ${r(videoDuration - inputDuration)} s of silence were added at its end`;
  return null;
}

/** A track given as a URL: fetched into its R2 key (once; a retry finds it there). */
async function fetchSource(env: Pick<Env, 'MEDIA'>, config: Config, row: AudioTrackRow): Promise<Step> {
  const key = keys.audioTrackSource(row.videoId, row.lang);
  if (!row.sourceUrl || (await env.MEDIA.head(key))) return { status: 'ok' };
  const opened = await openSource(config, { url: row.sourceUrl, bytesFetched: 0, validator: null }, AbortSignal.timeout(config.imports.timeLimitMs));
  if (opened.status !== 'ok') return opened;
  const max = config.audioTracks.maxBytes;
  if (opened.total !== null && opened.total > max) {
    await opened.response.body?.cancel();
    return { status: 'fail', reason: `the file is ${opened.total} bytes; audio tracks are limited to ${max} bytes` };
  }
  const bytes = new Uint8Array(await opened.response.arrayBuffer());
  if (bytes.byteLength > max) return { status: 'fail', reason: `the file is larger than ${max} bytes (the limit of audio tracks)` };
  if (bytes.byteLength === 0) return { status: 'fail', reason: 'the source sent an empty file' };
  await env.MEDIA.put(key, bytes);
  return { status: 'ok' };
}

async function processTrack(env: Pick<Env, 'MEDIA'>, db: Db, config: Config, transcoder: Transcoder, message: AudioTrackMessage): Promise<Outcome> {
  const claim = await claimAudioTrack(db, message.videoId, message.lang, config.audioTracks.jobLeaseMs);
  if (claim.status === 'completed' || claim.status === 'failed') return { status: 'ack' };
  if (claim.status === 'busy') return { status: 'retry', reason: 'held by another worker', delaySeconds: Math.ceil(claim.leaseRemainingMs / 1000) + 1 };
  const row = claim.row;
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, message.videoId)).get();
  // A deleted video's tracks are ended by its `video.deleted` hook (CANCELLED), whichever of the two runs first.
  if (!video || video.status === 'DELETED') return { status: 'ack' };
  if (video.status !== 'READY' || !video.duration) {
    await failAudioTrack(db, message.videoId, message.lang, `the video is ${video.status}`);
    return { status: 'ack' };
  }
  const fetched = await fetchSource(env, config, row);
  const settle = async (reason: string, permanent: boolean): Promise<Outcome> => {
    if (permanent || row.attempts >= config.audioTracks.maxAttempts) {
      await failAudioTrack(db, message.videoId, message.lang, reason);
      return { status: 'ack' };
    }
    await releaseAudioTrack(db, row, reason);
    return { status: 'retry', reason, delaySeconds: backoff(row.attempts, config) };
  };
  if (fetched.status !== 'ok') return settle(fetched.reason, fetched.status === 'fail');

  const rendition = audioTrackRendition(message.lang);
  const body: AudioRequest = {
    sourceKey: keys.audioTrackSource(message.videoId, message.lang),
    outputPrefix: keys.renditionPrefix(message.videoId, rendition),
    segmentDurationSec: config.transcoding.segmentDurationSec,
    audioBitrate: config.transcoding.audioBitrate,
    sourceDuration: video.duration,
    sourceHasAudio: true,
    addedTrack: true,
    ...(video.packaging === 'cmaf' ? { packaging: 'cmaf' as const } : {}),
  };
  let last = 0;
  const outcome = await runTranscoderJob<AudioResult>(transcoder, '/v1/audio', body, `audio-track:${message.videoId}:${message.lang}`, async (fraction) => {
    const now = runtime().now();
    if (now - last < 2000) return;
    last = now;
    await reportAudioTrackProgress(db, row, fraction, config.audioTracks.jobLeaseMs);
  });
  if (outcome.status !== 'ok') return settle(outcome.message, outcome.permanent);
  if (!isAudioResult(outcome.result)) return settle('the transcoder sent an audio result of the wrong shape', false);
  const warning = lengthWarning(outcome.result.inputDuration, video.duration, config.audioTracks.lengthToleranceSec);
  if (await completeAudioTrack(db, row, { result: outcome.result, packaging: video.packaging, warning })) {
    // A new file for the language replaced the segments under the same names: drop this location's old copies.
    await purgeAudioTrackObjects(message.videoId, message.lang, { count: outcome.result.segmentDurations.length, packaging: video.packaging });
    await recountStoredBytes(env, db, message.videoId);
  }
  return { status: 'ack' };
}

export async function handleAudioTrackBatch(batch: MessageBatch<unknown>, env: Env, transcoder: Transcoder = transcoderFor(env, loadConfig(env))): Promise<void> {
  const config = loadConfig(env);
  const db = openDb(env.DB);
  await consumeWorkBatch(batch, {
    parse: parseAudioTrackMessage,
    process: (message) => processTrack(env, db, config, transcoder, message),
    maxAttempts: config.audioTracks.maxAttempts,
    backoff: (attempts) => backoff(attempts, config),
    name: (message) => `audio track ${message.videoId}/${message.lang}`,
  });
}

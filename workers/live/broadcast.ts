/**
 * What a broadcast does outside its LiveInput object: the recording video (metadata/video-state.ts moves its
 * status), its rung (transcoding/outputs.ts writes renditions), the input's status (live/inputs.ts) and the
 * live_input.* lifecycle events that become webhooks.
 *
 * The recording is a video from the first segment on: the input owns one video row per broadcast, PROCESSING
 * while live (its rung grows and plays through the ordinary signed playback URLs, views and metering included) and
 * READY when the broadcast ends, over the same R2 segments (no copy, no re-encode), its storyboard made afterwards
 * from its lowest rung. With recording off the video is deleted at the end instead.
 */
import { emitLifecycleEvent } from '../lifecycle';
import { insertLiveVideo, markDeleted, markReady } from '../metadata/video-state';
import { openDb } from '../shared/db';
import { newId, runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { recordLiveRung, removeLiveRung, type LiveRung } from '../transcoding/outputs';
import { sendPlanned } from '../transcoding/plan';
import { setLiveStatus } from './inputs';

/** The input's settings, as the ingest read them from D1 with the key check. */
export interface InputSettings {
  id: string;
  creatorId: string;
  title: string;
  recordingMode: 'automatic' | 'off';
  dvrWindowSeconds: number;
  reconnectWindowSeconds: number;
}

export async function startBroadcast(env: Env, input: InputSettings, facts: { width: number; height: number }): Promise<string> {
  const db = openDb(env.DB);
  const videoId = newId('vid');
  const now = runtime().now();
  await insertLiveVideo(db, { id: videoId, creatorId: input.creatorId, title: input.title, createdAt: now, liveInputId: input.id, width: facts.width, height: facts.height });
  await setLiveStatus(db, input.id, 'live', videoId);
  await emitLifecycleEvent(env, 'live_input.connected', videoId);
  return videoId;
}

export async function publishRung(env: Env, rung: LiveRung): Promise<void> {
  await recordLiveRung(env, openDb(env.DB), rung, false);
}

/** A transcoded rung the broadcast dropped, at its end: out of the master playlist and the recording, its segments deleted. */
async function dropRung(env: Env, videoId: string, name: string, seqs: readonly number[]): Promise<void> {
  await removeLiveRung(openDb(env.DB), videoId, name);
  if (seqs.length) await env.MEDIA.delete(seqs.map((seq) => keys.segment(videoId, name, seq)));
}

/**
 * The broadcast is over: its rungs are finalised (ENDLIST) and the video READY, or deleted when nothing is recorded.
 * `rung` is the pushed rung; `lower` the transcoded ones, each covering every segment of it (live-input.ts); `dropped`
 * the transcoded rungs the broadcast dropped, with the segments they have: they go.
 */
export async function endBroadcast(
  env: Env, input: InputSettings, rung: LiveRung | null, lower: readonly LiveRung[] = [], dropped: readonly { name: string; seqs: readonly number[] }[] = [],
): Promise<void> {
  const db = openDb(env.DB);
  await setLiveStatus(db, input.id, 'idle', rung?.videoId ?? null);
  if (!rung) return;
  for (const d of dropped) await dropRung(env, rung.videoId, d.name, d.seqs);
  await emitLifecycleEvent(env, 'live_input.disconnected', rung.videoId);
  if (input.recordingMode === 'off' || rung.segmentDurations.length === 0) {
    await markDeleted(env, db, rung.videoId);
    return;
  }
  for (const r of lower) await recordLiveRung(env, db, r, true);
  await recordLiveRung(env, db, rung, true);
  const duration = Math.round(rung.segmentDurations.reduce((a, b) => a + b, 0) * 1000) / 1000;
  if (await markReady(env, db, rung.videoId, { duration, sourceSize: rung.totalBytes })) {
    await emitLifecycleEvent(env, 'live_input.recording.ready', rung.videoId);
    // The storyboard follows (the recording plays meanwhile): made from its lowest rung by the transcoder.
    await sendPlanned(env, db, rung.videoId, [{ message: { type: 'thumbnails', videoId: rung.videoId } }]);
  }
}

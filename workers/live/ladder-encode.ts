/**
 * One pushed segment through the transcoder's live encode (`POST /v1/live`, containers/transcoder/src/live.ts):
 * the request for the rungs still encoding, and one quick retry for a transient failure (a pooled connection the
 * other side had closed). In production the job goes to the container instance named after the live input, so a
 * broadcast keeps one instance busy, and so warm, from its first segment to its last (`sleepAfter` stops it after).
 */
import type { Config } from '../shared/config';
import { keys } from '../shared/storage-keys';
import { runTranscoderJob, transcoderFor, type JobOutcome } from '../transcoding/transcoder-client';
import type { LiveSegmentRequest, LiveSegmentResult } from '../../containers/transcoder/src/live-protocol';
import type { LadderRung } from './ladder-state';

export interface SegmentToEncode {
  inputId: string;
  videoId: string;
  /** The pushed rung's name, whose segment is the source. */
  sourceRung: string;
  seq: number;
}

export function liveSegmentRequest(config: Config, s: SegmentToEncode, rungs: readonly LadderRung[]): LiveSegmentRequest {
  return {
    sourceKey: keys.segment(s.videoId, s.sourceRung, s.seq),
    seq: s.seq,
    x264Preset: config.transcoding.x264Preset,
    rungs: rungs.map((r) => ({ name: r.name, width: r.width, height: r.height, bitrate: r.bitrate, maxrate: r.maxrate, bufsize: r.bufsize, outputKey: keys.segment(s.videoId, r.name, s.seq) })),
  };
}

export async function encodeLiveSegment(env: Env, config: Config, s: SegmentToEncode, rungs: readonly LadderRung[]): Promise<JobOutcome<LiveSegmentResult>> {
  const transcoder = transcoderFor(env, config);
  const request = liveSegmentRequest(config, s, rungs);
  let outcome: JobOutcome<LiveSegmentResult> = { status: 'failed', permanent: false, message: 'not run' };
  for (let attempt = 0; attempt < 2; attempt++) {
    outcome = await runTranscoderJob<LiveSegmentResult>(transcoder, '/v1/live', request, `live:${s.inputId}`, async () => {});
    if (outcome.status === 'ok' || outcome.permanent) return outcome;
  }
  return outcome;
}

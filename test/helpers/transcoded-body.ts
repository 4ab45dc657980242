/**
 * The body of `POST /internal/bench/videos/:id/transcoded` (workers/transcoding/bench-results.ts): transcode results
 * for the ladder the platform plans for `width` × `height`, as the units would report them — every rung and the
 * audio track cut into `segmentSec` segments over `duration`, sizes from the rung's bitrate. Only the rows and
 * playlists follow from it; segments are the caller's to store (or not, when nothing plays them).
 * No Node imports: the workerd tests use it too.
 */
import { defaults } from '../../workers/shared/config';
import { planLadder } from '../../workers/transcoding/ladder';

export interface TranscodedSpec {
  width: number;
  height: number;
  duration: number;
  /** Default: the platform's segment duration. */
  segmentSec?: number;
  /** Segment durations per rung name, overriding the even cut (e.g. a playlist of a given length). */
  segmentsOf?: Record<string, number[]>;
  frameRate?: number;
  /** Video codec of every rung (RFC 6381). */
  videoCodec?: string;
}

function cut(duration: number, segmentSec: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < duration - 1e-6; t += segmentSec) out.push(Math.round(Math.min(segmentSec, duration - t) * 1e6) / 1e6);
  return out;
}

function track(durations: number[], bitrate: number, codecs: string) {
  const segmentSizes = durations.map((d) => Math.ceil((d * bitrate) / 8));
  const totalBytes = segmentSizes.reduce((a, b) => a + b, 0);
  const total = durations.reduce((a, b) => a + b, 0);
  return { codecs, segmentDurations: durations, segmentSizes, bandwidth: bitrate, averageBandwidth: Math.ceil((totalBytes * 8) / total), totalBytes };
}

export function transcodedBody(spec: TranscodedSpec) {
  const segmentSec = spec.segmentSec ?? defaults.transcoding.segmentDurationSec;
  const frameRate = spec.frameRate ?? 30;
  const even = cut(spec.duration, segmentSec);
  const renditions = planLadder(defaults.transcoding.ladder, spec.width, spec.height).map((r) => ({
    name: r.name,
    width: r.width,
    height: r.height,
    frameRate,
    ...track(spec.segmentsOf?.[r.name] ?? even, r.bitrate, spec.videoCodec ?? 'avc1.64001f'),
  }));
  return {
    facts: { duration: spec.duration, width: spec.width, height: spec.height, frameRate, hasAudio: true },
    renditions,
    audio: track(even, defaults.transcoding.audioBitrate, 'mp4a.40.2'),
    thumbnails: { poster: 'poster.jpg', sprites: [], storyboard: 'storyboard.vtt', count: 0 },
  };
}

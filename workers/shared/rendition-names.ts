/**
 * Names of a video's renditions: a ladder rung in H.264 is named as the rung (`720p`); the same rung in another codec
 * gets the codec as a suffix (`720p-hevc`, `720p-av1`); the audio rendition is `audio` (storage-keys.ts). Playback
 * accepts exactly these names in paths, so a path can never name a directory the pipeline does not write.
 */
import { VIDEO_CODECS, type VideoCodec } from '../../schema/schema';
import type { Rung } from './config-defaults';

export const rungName = (base: string, codec: VideoCodec): string => (codec === 'h264' ? base : `${base}-${codec}`);

/** Every video rendition name a ladder can produce, in every codec. */
export const allRungNames = (ladder: readonly Rung[], codecs: readonly VideoCodec[] = VIDEO_CODECS): string[] =>
  codecs.flatMap((c) => ladder.map((r) => rungName(r.name, c)));

/** The codec family of an RFC 6381 codecs string's video part (`avc1.…`, `hvc1.…`, `av01.…`). */
export function codecOfCodecs(codecs: string): VideoCodec | null {
  const video = codecs.split(',')[0]!.trim();
  if (/^(avc1|avc3)\./.test(video)) return 'h264';
  if (/^(hvc1|hev1)\./.test(video)) return 'hevc';
  if (/^av01\./.test(video)) return 'av1';
  return null;
}

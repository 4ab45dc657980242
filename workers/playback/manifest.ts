/**
 * The one place HLS playlists are written, from the `renditions` rows the transcoder records (never from files):
 * a rung appears only once its row exists, i.e. once it is completely encoded and uploaded, so a player never
 * sees a half-written rung while the video is still processing. Playback serves these bytes; transcoding writes the
 * same bytes to R2 as a convenience copy (workers/transcoding/outputs.ts), so the two can never disagree.
 *
 * URIs are relative (`360p/playlist.m3u8`, `segment_0000.ts`): resolved against the signed path they carry the
 * token, and the playlist bytes are identical for every viewer, so one cached copy serves all of them.
 */
import { AUDIO_RENDITION, INIT_FILE_NAME, segmentFileName } from '../shared/storage-keys';
import { lineSafe } from '../shared/text';
import type { Packaging } from '../../schema/schema';
import { parseSegmentDurations, renditionFacts, type RenditionFacts, type RenditionRow } from '../metadata/serialize';

export interface PlayableRendition extends RenditionFacts {
  segmentDurations: number[];
  /**
   * Number of the first listed segment (0 for a video's own rungs). A clip lists a window of its source's segments
   * under their own numbers (workers/clips), so `segment_0007.ts` is the same object for both.
   */
  firstSegment?: number;
  /** Seconds of the rung before its first listed segment (a clip's window start on its source's timeline). */
  firstSegmentStart?: number;
  kind: 'video' | 'audio';
  packaging: Packaging;
  /** False while chunks are still encoding: the media playlist grows and has no ENDLIST yet. */
  complete: boolean;
  /** Segment numbers preceded by `EXT-X-DISCONTINUITY` (a live broadcaster reconnected). */
  discontinuities?: readonly number[];
  /** While growing: the first listed segment (a live DVR window); the playlist slides and names no type. */
  windowStart?: number;
  /** While growing: the first segment the rung does not have (a live rung the broadcast dropped); it and later ones are gaps. */
  gapFrom?: number;
}

/** One `EXT-X-MEDIA:TYPE=SUBTITLES` rendition (workers/captions/hls.ts builds them from caption tracks). */
export interface SubtitlesRendition {
  name: string;
  language: string;
  isDefault: boolean;
  uri: string;
}

export const SUBTITLES_GROUP = 'subs';

/**
 * One `EXT-X-MEDIA:TYPE=AUDIO` rendition of the audio group: the main audio (the original upload's, language
 * `originalLanguage`) or an extra audio track (workers/audio-tracks). `language` `und` is left out of the tag.
 */
export interface AudioRendition {
  name: string;
  language: string;
  isDefault: boolean;
  uri: string;
}

/** An HLS quoted-string: nothing in it can end the value or the line (shared/text.ts `lineSafe`). */
const quoted = (value: string) => `"${lineSafe(value)}"`;

export const HLS_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
const AUDIO_GROUP = 'audio';

/** A row is playable when its segment list is a non-empty array of positive finite durations. */
export function toPlayable(row: RenditionRow): PlayableRendition | null {
  const segmentDurations = parseSegmentDurations(row.segmentDurations);
  if (!segmentDurations) return null;
  const discontinuities = parseDiscontinuities(row.discontinuities);
  const gapFrom = !row.complete && row.gapFrom !== null ? { gapFrom: row.gapFrom } : {};
  return { ...renditionFacts(row), segmentDurations, kind: row.kind, complete: row.complete, packaging: row.packaging, discontinuities, windowStart: row.complete ? 0 : row.windowStart, ...gapFrom };
}

function parseDiscontinuities(json: string | null): number[] {
  if (!json) return [];
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((n): n is number => Number.isInteger(n) && n > 0) : [];
  } catch {
    return [];
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Playlists of fragmented MP4 segments: `EXT-X-MAP` outside I-frame playlists needs version 6; 7 as ffmpeg writes. */
const CMAF_VERSION = 7;

/**
 * Lowest bandwidth first: the order hls.js and Safari expect, and the first entry is the cheapest start.
 * With an audio rendition (chunked encoding: audio is encoded once for the whole source), it is one
 * `EXT-X-MEDIA` audio group that every variant references; its BANDWIDTH and CODECS already include the audio.
 * Caption tracks are one `EXT-X-MEDIA` subtitles group, also referenced by every variant.
 */
export function buildMasterPlaylist(
  renditions: readonly (RenditionFacts & { kind?: 'video' | 'audio'; packaging?: Packaging })[],
  subtitles: readonly SubtitlesRendition[] = [],
  audioRenditions?: readonly AudioRendition[],
): string {
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${renditions.some((r) => r.packaging === 'cmaf') ? CMAF_VERSION : 3}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  const audio = renditions.find((r) => r.kind === 'audio' && r.name === AUDIO_RENDITION) ?? renditions.find((r) => r.kind === 'audio');
  const group = audio ? (audioRenditions ?? [{ name: 'Original', language: 'und', isDefault: true, uri: `${audio.name}/playlist.m3u8` }]) : [];
  for (const a of group) {
    const language = a.language === 'und' ? '' : `LANGUAGE=${quoted(a.language)},`;
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${AUDIO_GROUP}",NAME=${quoted(a.name)},${language}DEFAULT=${a.isDefault ? 'YES' : 'NO'},AUTOSELECT=YES,CHANNELS="2",URI=${quoted(a.uri)}`,
    );
  }
  for (const s of subtitles) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${SUBTITLES_GROUP}",NAME=${quoted(s.name)},LANGUAGE=${quoted(s.language)},` +
        `DEFAULT=${s.isDefault ? 'YES' : 'NO'},AUTOSELECT=YES,FORCED=NO,URI=${quoted(s.uri)}`,
    );
  }
  const videos = renditions.filter((r) => r.kind !== 'audio');
  for (const r of [...videos].sort((a, b) => a.bandwidth - b.bandwidth || a.height - b.height)) {
    const attrs = [
      `BANDWIDTH=${Math.round(r.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(r.averageBandwidth)}`,
      `RESOLUTION=${r.width}x${r.height}`,
    ];
    if (r.frameRate && r.frameRate > 0) attrs.push(`FRAME-RATE=${r.frameRate.toFixed(3)}`);
    attrs.push(`CODECS="${r.codecs}"`);
    if (audio) attrs.push(`AUDIO="${AUDIO_GROUP}"`);
    if (subtitles.length) attrs.push(`SUBTITLES="${SUBTITLES_GROUP}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${r.name}/playlist.m3u8`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Media playlist with the real segment durations. Business rule (RFC 8216 §4.3.3.1): TARGETDURATION is the
 * largest EXTINF as written (3 decimals) rounded to the nearest integer — the smallest value the RFC allows, and what
 * ffmpeg's HLS muxer writes — so 6.006 s segments (29.97 fps) keep the authored target of 6, not 7.
 * A rendition still encoding is an EVENT playlist (segments are only appended; players poll it) without
 * `EXT-X-ENDLIST`; once complete it is VOD with `EXT-X-ENDLIST`. CMAF: `EXT-X-MAP` names the rendition's init segment
 * and the segments are `segment_{n}.m4s`. A live rung the broadcast dropped keeps growing with `EXT-X-GAP` segments
 * from `gapFrom` on (RFC 8216bis §4.4.4.7): a player on it switches to another rung at the next segment, where a
 * playlist that vanished would cost it its playlist retries first.
 */
export function buildMediaPlaylist(
  rendition: Pick<PlayableRendition, 'segmentDurations' | 'firstSegment' | 'discontinuities' | 'windowStart' | 'gapFrom'> & { complete?: boolean; packaging?: Packaging },
): string {
  const complete = rendition.complete !== false;
  const first = rendition.firstSegment ?? 0;
  const packaging = rendition.packaging ?? 'ts';
  const all = rendition.segmentDurations.map(round3);
  // A live rung's DVR window: segments before `windowStart` are no longer listed (a sliding playlist, RFC 8216 §6.2.2).
  const skip = complete ? 0 : Math.min(Math.max(0, (rendition.windowStart ?? 0) - first), Math.max(0, all.length - 1));
  const durations = all.slice(skip);
  const breaks = new Set(rendition.discontinuities ?? []);
  const gapFrom = complete ? null : (rendition.gapFrom ?? null);
  const target = Math.max(1, ...durations.map((d) => Math.round(d)));
  const type = complete ? ['#EXT-X-PLAYLIST-TYPE:VOD'] : skip > 0 ? [] : ['#EXT-X-PLAYLIST-TYPE:EVENT'];
  const version = packaging === 'cmaf' ? CMAF_VERSION : 3;
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${version}`, `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${skip}`, ...type, '#EXT-X-INDEPENDENT-SEGMENTS'];
  const breaksBefore = [...breaks].filter((n) => n <= first + skip).length;
  if (breaksBefore > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${breaksBefore}`);
  if (packaging === 'cmaf') lines.push(`#EXT-X-MAP:URI="${INIT_FILE_NAME}"`);
  durations.forEach((d, i) => {
    const n = first + skip + i;
    if (breaks.has(n) && i > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (gapFrom !== null && n >= gapFrom) lines.push('#EXT-X-GAP');
    lines.push(`#EXTINF:${d.toFixed(3)},`, segmentFileName(n, packaging));
  });
  if (complete) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** How many leading segments cover the first `seconds` of a rung (at least one). */
export function segmentsCovering(durations: readonly number[], seconds: number): number {
  let total = 0;
  let n = 0;
  while (n < durations.length && total < seconds) total += durations[n++]!;
  return Math.max(1, n);
}

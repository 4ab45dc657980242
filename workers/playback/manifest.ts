/**
 * The one place HLS playlists are written, from the `renditions` rows the transcoder records (never from files):
 * a rung appears only once its row exists, i.e. once it is completely encoded and uploaded, so a player never
 * sees a half-written rung while the video is still processing.
 *
 * URIs are relative (`360p/playlist.m3u8`, `segment_0000.ts`): resolved against the signed path they carry the
 * token, and the playlist bytes are identical for every viewer, so one cached copy serves all of them.
 */
import { segmentFileName } from '../shared/storage-keys';
import type { RenditionRow } from '../metadata/serialize';

export interface PlayableRendition {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  frameRate: number | null;
  segmentDurations: number[];
}

export const HLS_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

/** A row is playable when its segment list is a non-empty array of positive finite durations. */
export function toPlayable(row: RenditionRow): PlayableRendition | null {
  let durations: unknown;
  try {
    durations = JSON.parse(row.segmentDurations);
  } catch {
    return null;
  }
  if (!Array.isArray(durations) || durations.length === 0) return null;
  if (!durations.every((d): d is number => typeof d === 'number' && Number.isFinite(d) && d > 0)) return null;
  return {
    name: row.name,
    width: row.width,
    height: row.height,
    bandwidth: row.bandwidth,
    averageBandwidth: row.averageBandwidth,
    codecs: row.codecs,
    frameRate: row.frameRate,
    segmentDurations: durations,
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Lowest bandwidth first: the order hls.js and Safari expect, and the first entry is the cheapest start. */
export function buildMasterPlaylist(renditions: readonly PlayableRendition[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const r of [...renditions].sort((a, b) => a.bandwidth - b.bandwidth || a.height - b.height)) {
    const attrs = [
      `BANDWIDTH=${Math.round(r.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(r.averageBandwidth)}`,
      `RESOLUTION=${r.width}x${r.height}`,
    ];
    if (r.frameRate && r.frameRate > 0) attrs.push(`FRAME-RATE=${r.frameRate.toFixed(3)}`);
    attrs.push(`CODECS="${r.codecs}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${r.name}/playlist.m3u8`);
  }
  return lines.join('\n') + '\n';
}

/**
 * VOD media playlist. TARGETDURATION is the ceiling of the longest segment as written (3 decimals), which is what
 * RFC 8216 §4.3.3.1 requires (every EXTINF rounded to an integer must not exceed it).
 */
export function buildMediaPlaylist(rendition: PlayableRendition): string {
  const durations = rendition.segmentDurations.map(round3);
  const target = Math.max(1, Math.ceil(Math.max(...durations)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS'];
  durations.forEach((d, i) => lines.push(`#EXTINF:${d.toFixed(3)},`, segmentFileName(i)));
  lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

/** How many leading segments cover the first `seconds` of a rung (at least one). */
export function segmentsCovering(durations: readonly number[], seconds: number): number {
  let total = 0;
  let n = 0;
  while (n < durations.length && total < seconds) total += durations[n++]!;
  return Math.max(1, n);
}

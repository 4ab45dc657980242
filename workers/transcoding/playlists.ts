/**
 * HLS playlists from measured facts (RFC 8216). The media playlist uses the real segment durations; the target
 * duration is the largest rounded one (§4.3.3.1: every EXTINF rounded to the nearest integer must be ≤ it).
 * The master lists each rendition with its measured peak BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE and
 * the CODECS read from the encoded streams. The playback area builds the served playlists from `renditions` rows
 * with these same functions; the copies in R2 are for completeness and for tools that read storage directly.
 */
import { segmentFileName } from '../shared/storage-keys';

export interface MasterEntry {
  name: string;
  width: number;
  height: number;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  frameRate: number | null;
}

export function targetDuration(durations: number[]): number {
  return Math.max(1, ...durations.map((d) => Math.round(d)));
}

export function buildMediaPlaylist(durations: number[], uri: (n: number) => string = segmentFileName): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${targetDuration(durations)}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS'];
  durations.forEach((d, n) => lines.push(`#EXTINF:${d.toFixed(6)},`, uri(n)));
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

export function buildMasterPlaylist(entries: MasterEntry[], uri: (name: string) => string = (name) => `${name}/playlist.m3u8`): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const e of [...entries].sort((a, b) => a.bandwidth - b.bandwidth)) {
    const attrs = [`BANDWIDTH=${e.bandwidth}`, `AVERAGE-BANDWIDTH=${e.averageBandwidth}`, `RESOLUTION=${e.width}x${e.height}`];
    if (e.frameRate) attrs.push(`FRAME-RATE=${e.frameRate.toFixed(3)}`);
    attrs.push(`CODECS="${e.codecs}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, uri(e.name));
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Caption tracks as HLS subtitles renditions (RFC 8216 §4.3.4.1, §3.5):
 *
 *   master:   #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",…,URI="captions/en.m3u8"
 *             and SUBTITLES="subs" on every variant
 *   playlist: captions/{lang}.m3u8 — one segment, `{lang}_hls.vtt`, whose EXTINF is the video's duration, so the
 *             subtitles playlist covers exactly what the video rungs cover (hls.js and Safari both require that)
 *   segment:  the stored WebVTT plus `X-TIMESTAMP-MAP=MPEGTS:{first PTS},LOCAL:00:00:00.000`: HLS maps cue time 0 to
 *             MPEG-TS time 0 without it, but our segments start at the transcoder's first PTS (about 1.4 s for
 *             ffmpeg); the map says that cue time 0 is the first frame of the first listed segment. For a clip, that
 *             is the source segment the clip starts at, so the clip's own captions start at the clip's start.
 *   download: captions/{lang}.vtt — the stored WebVTT as is.
 */
import { keys } from '../shared/storage-keys';
import { fragmentStart90k } from './fmp4-time';
import type { PlaybackState } from '../playback/state';
import type { PlayableRendition, SubtitlesRendition } from '../playback/manifest';

export function subtitlesRenditions(state: PlaybackState): SubtitlesRendition[] {
  const names = new Set<string>();
  return state.captions.map((t) => {
    // NAME must be unique within the group: two tracks with one label get their language appended.
    const name = names.has(t.label) ? `${t.label} (${t.lang})` : t.label;
    names.add(name);
    return { name, language: t.lang, isDefault: t.isDefault, uri: `captions/${t.lang}.m3u8` };
  });
}

/** The video rung players start on (lowest bandwidth, as the master lists it first): the timeline the map refers to. */
export function firstListedRung(state: PlaybackState): PlayableRendition | null {
  return [...state.renditions.values()].filter((r) => r.kind === 'video').sort((a, b) => a.bandwidth - b.bandwidth || a.height - b.height)[0] ?? null;
}

/** What the rungs cover, in seconds (the longest rung: they differ by milliseconds at most). */
export function playableDuration(state: PlaybackState): number {
  let longest = 0;
  for (const r of state.renditions.values()) longest = Math.max(longest, r.segmentDurations.reduce((a, b) => a + b, 0));
  return longest;
}

export function subtitlesPlaylist(lang: string, duration: number): string {
  const d = Math.max(0.001, Math.round(duration * 1000) / 1000);
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(d))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXTINF:${d.toFixed(3)},`,
    `${lang}_hls.vtt`,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n');
}

const TS_PACKET = 188;

/**
 * The first PES presentation timestamp (90 kHz) in an MPEG-TS prefix: the first packet that starts a PES with a
 * PTS. Null when the prefix has none (not TS, or a truncated read).
 */
export function firstPts(bytes: Uint8Array): number | null {
  for (let at = 0; at + TS_PACKET <= bytes.length; at += TS_PACKET) {
    if (bytes[at] !== 0x47) return null;
    const payloadStart = (bytes[at + 1]! & 0x40) !== 0;
    const adaptation = (bytes[at + 3]! >> 4) & 0x3;
    if (!payloadStart || adaptation === 0 || adaptation === 2) continue;
    let p = at + 4;
    if (adaptation === 3) p += 1 + bytes[p]!;
    if (p + 14 > at + TS_PACKET) continue;
    if (bytes[p] !== 0 || bytes[p + 1] !== 0 || bytes[p + 2] !== 1) continue;
    const streamId = bytes[p + 3]!;
    // Audio (0xC0–0xDF) and video (0xE0–0xEF) PES only; PAT/PMT sections never start with 00 00 01.
    if (streamId < 0xc0 || streamId > 0xef) continue;
    if ((bytes[p + 7]! & 0x80) === 0) continue;
    const b = bytes.subarray(p + 9, p + 14);
    return (b[0]! & 0x0e) * 536870912 + b[1]! * 4194304 + (b[2]! & 0xfe) * 16384 + b[3]! * 128 + (b[4]! >> 1);
  }
  return null;
}

/**
 * The start of the first listed segment of `rung` on the 90 kHz clock, read from the first 64 KiB of that segment in
 * R2: the first PES PTS of an MPEG-TS segment, or a CMAF segment's decode time (with its init segment's timescale).
 */
export async function firstSegmentPts(bucket: R2Bucket, state: PlaybackState, rung: PlayableRendition): Promise<number | null> {
  const head = { range: { offset: 0, length: 64 * 1024 } };
  const object = await bucket.get(keys.segment(state.segmentsOf, rung.name, rung.firstSegment ?? 0, rung.packaging), head);
  if (!object) return null;
  const bytes = new Uint8Array(await object.arrayBuffer());
  if (rung.packaging !== 'cmaf') return firstPts(bytes);
  const init = await bucket.get(keys.init(state.segmentsOf, rung.name), head);
  return init ? fragmentStart90k(new Uint8Array(await init.arrayBuffer()), bytes) : null;
}

/** The stored track with the HLS timestamp map inserted after the signature line. */
export function withTimestampMap(vtt: string, mpegTs: number): string {
  const nl = vtt.indexOf('\n');
  return `${vtt.slice(0, nl)}\nX-TIMESTAMP-MAP=MPEGTS:${Math.round(mpegTs)},LOCAL:00:00:00.000${vtt.slice(nl)}`;
}

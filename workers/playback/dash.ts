/**
 * The DASH manifest (MPD, ISO/IEC 23009-1) of a CMAF video, over the same segment files as its HLS playlists: one
 * `init.mp4` and `segment_{n}.m4s` per rendition, one copy in R2 and one cache key each. Built from the same
 * `renditions` rows as the HLS playlists, so both describe the same segments.
 *
 * - Static (VOD) presentation, isoff-live profile: per Representation a `SegmentTemplate` with `$Number%04d$` from
 *   the first listed segment and a `SegmentTimeline` of the measured durations (milliseconds; each `S@t` rounded
 *   from the running sum, so no rounding error accumulates).
 * - Media time: the transcoder starts the video's timeline at `TIMELINE_OFFSET_SEC`, which is the
 *   `presentationTimeOffset` (plus, for a clip, where its window starts on the source).
 * - One video AdaptationSet per codec family (players switch within a set and skip a set they cannot decode), one
 *   audio AdaptationSet per language (the main audio in the video's original language, then each extra audio
 *   track; the default one has Role `main`, the others `alternate`), one text AdaptationSet per caption track (the
 *   WebVTT file `captions/{lang}.vtt`).
 * - While the video is processing, only complete renditions are listed: a static MPD cannot grow (HLS plays the
 *   growing playlists meanwhile).
 * - URLs are relative, resolved against the signed manifest path (`/v/{id}/t/{token}/manifest.mpd`), so the bytes
 *   are the same for every viewer.
 */
import { TIMELINE_OFFSET_SEC } from '../../containers/transcoder/src/protocol';
import { codecOfCodecs } from '../shared/rendition-names';
import { AUDIO_RENDITION, INIT_FILE_NAME } from '../shared/storage-keys';
import type { AudioGroupEntry } from './audio-group';
import type { PlayableRendition } from './manifest';

export const DASH_CONTENT_TYPE = 'application/dash+xml';

export interface DashTextTrack {
  lang: string;
  label: string;
  uri: string;
}

const TIMESCALE = 1000;

const xml = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `PT12.345S` (xs:duration), milliseconds. */
export const isoDuration = (seconds: number): string => `PT${(Math.round(seconds * 1000) / 1000).toFixed(3)}S`;

/** `<S t d r>` runs of a rung's durations, starting at `start` ticks. */
export function segmentTimeline(durations: readonly number[], start: number): string[] {
  const ends: number[] = [];
  let sum = 0;
  for (const d of durations) {
    sum += d;
    ends.push(start + Math.round(sum * TIMESCALE));
  }
  const runs: { d: number; r: number }[] = [];
  let t = start;
  for (const end of ends) {
    const d = end - t;
    const last = runs.at(-1);
    if (last && last.d === d) last.r++;
    else runs.push({ d, r: 0 });
    t = end;
  }
  return runs.map((run, i) => `<S${i === 0 ? ` t="${start}"` : ''} d="${run.d}"${run.r > 0 ? ` r="${run.r}"` : ''}/>`);
}

function segmentTemplate(r: PlayableRendition, indent: string): string[] {
  const offset = Math.round((TIMELINE_OFFSET_SEC + (r.firstSegmentStart ?? 0)) * TIMESCALE);
  return [
    `${indent}<SegmentTemplate timescale="${TIMESCALE}" presentationTimeOffset="${offset}" startNumber="${r.firstSegment ?? 0}" initialization="${xml(r.name)}/${INIT_FILE_NAME}" media="${xml(r.name)}/segment_$Number%04d$.m4s">`,
    `${indent}  <SegmentTimeline>`,
    ...segmentTimeline(r.segmentDurations, offset).map((s) => `${indent}    ${s}`),
    `${indent}  </SegmentTimeline>`,
    `${indent}</SegmentTemplate>`,
  ];
}

const total = (r: PlayableRendition) => r.segmentDurations.reduce((a, b) => a + b, 0);

/** The MPD of `renditions` (only complete ones are listed); null when no video rung and audio are complete. */
export function buildDashManifest(renditions: readonly PlayableRendition[], text: readonly DashTextTrack[] = [], audioEntries?: readonly AudioGroupEntry[]): string | null {
  const listed = renditions.filter((r) => r.complete && r.packaging === 'cmaf');
  const audio = listed.find((r) => r.kind === 'audio' && r.name === AUDIO_RENDITION) ?? listed.find((r) => r.kind === 'audio');
  const videos = listed.filter((r) => r.kind === 'video').sort((a, b) => a.bandwidth - b.bandwidth || a.height - b.height);
  if (videos.length === 0 || !audio) return null;
  const duration = Math.max(...videos.map(total));
  const maxSegment = Math.max(...listed.flatMap((r) => r.segmentDurations));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="${isoDuration(duration)}" minBufferTime="${isoDuration(Math.ceil(maxSegment))}">`,
    '  <Period id="0" start="PT0S">',
  ];
  let id = 0;
  for (const codec of ['h264', 'hevc', 'av1'] as const) {
    const set = videos.filter((r) => codecOfCodecs(r.codecs) === codec);
    if (set.length === 0) continue;
    lines.push(`    <AdaptationSet id="${id++}" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="${Math.max(...set.map((r) => r.width))}" maxHeight="${Math.max(...set.map((r) => r.height))}">`);
    for (const r of set) {
      // The rows' BANDWIDTH includes the audio every HLS variant carries; a DASH Representation is the video alone.
      const bandwidth = Math.max(1, Math.round(r.bandwidth - audio.bandwidth));
      const frameRate = r.frameRate && r.frameRate > 0 ? ` frameRate="${Math.round(r.frameRate * 1000)}/1000"` : '';
      lines.push(`      <Representation id="${xml(r.name)}" bandwidth="${bandwidth}" codecs="${xml(r.codecs.split(',')[0]!)}" width="${r.width}" height="${r.height}" sar="1:1"${frameRate}>`);
      lines.push(...segmentTemplate(r, '        '), '      </Representation>');
    }
    lines.push('    </AdaptationSet>');
  }
  const sets = (audioEntries ?? [{ name: 'Original', language: 'und', isDefault: true, uri: '', rendition: audio.name }])
    .map((e) => ({ entry: e, r: listed.find((r) => r.name === e.rendition) }))
    .filter((x): x is { entry: AudioGroupEntry; r: PlayableRendition } => x.r !== undefined);
  for (const { entry, r } of sets) {
    lines.push(
      `    <AdaptationSet id="${id++}" contentType="audio" mimeType="audio/mp4" lang="${xml(entry.language)}" segmentAlignment="true" startWithSAP="1">`,
      ...(sets.length > 1 ? [`      <Label>${xml(entry.name)}</Label>`, `      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="${entry.isDefault ? 'main' : 'alternate'}"/>`] : []),
      `      <Representation id="${xml(r.name)}" bandwidth="${Math.round(r.bandwidth)}" codecs="${xml(r.codecs)}" audioSamplingRate="48000">`,
      '        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>',
      ...segmentTemplate(r, '        '),
      '      </Representation>',
      '    </AdaptationSet>',
    );
  }
  for (const t of text) {
    lines.push(
      `    <AdaptationSet id="${id++}" contentType="text" mimeType="text/vtt" lang="${xml(t.lang)}">`,
      `      <Label>${xml(t.label)}</Label>`,
      '      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"/>',
      `      <Representation id="captions-${xml(t.lang)}" bandwidth="256">`,
      `        <BaseURL>${xml(t.uri)}</BaseURL>`,
      '      </Representation>',
      '    </AdaptationSet>',
    );
  }
  lines.push('  </Period>', '</MPD>', '');
  return lines.join('\n');
}

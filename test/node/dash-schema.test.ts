/**
 * The DASH manifests the platform builds (workers/playback/dash.ts) validate against the MPD schema of
 * ISO/IEC 23009-1: every shape it makes (several codec families, audio tracks in several languages, captions, a clip's
 * window), and the validator itself refuses a manifest that breaks the schema. The MPD of a real transcoded video is
 * validated too, in test/transcode/transcoding-cmaf-e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildDashManifest } from '../../workers/playback/dash';
import type { PlayableRendition } from '../../workers/playback/manifest';
import type { AudioGroupEntry } from '../../workers/playback/audio-group';
import { mpdSchemaErrors } from '../helpers/dash-schema';

const rung = (name: string, height: number, codecs: string, extra: Partial<PlayableRendition> = {}): PlayableRendition => ({
  name,
  width: Math.round((height * 16) / 9 / 2) * 2,
  height,
  bandwidth: 200_000 + height * 2_000,
  averageBandwidth: 150_000 + height * 1_500,
  codecs,
  frameRate: 29.97,
  segmentDurations: [6.006, 6.006, 6.006, 1.468],
  kind: 'video',
  packaging: 'cmaf',
  complete: true,
  ...extra,
});
const audio = (name: string): PlayableRendition => ({ ...rung(name, 0, 'mp4a.40.2'), width: 0, frameRate: null, bandwidth: 130_000, kind: 'audio' });

const ladder = [
  audio('audio'),
  rung('240p', 240, 'avc1.64000d,mp4a.40.2'),
  rung('720p', 720, 'avc1.64001f,mp4a.40.2'),
  rung('720p-hevc', 720, 'hvc1.1.6.L93.90,mp4a.40.2'),
  rung('240p-av1', 240, 'av01.0.00M.08,mp4a.40.2'),
  rung('720p-av1', 720, 'av01.0.05M.08,mp4a.40.2'),
];

describe('DASH manifests against the MPD schema (ISO/IEC 23009-1)', () => {
  it('a video with H.264, HEVC and AV1 rungs and one audio rendition', async () => {
    const mpd = buildDashManifest(ladder)!;
    expect(mpd.match(/<AdaptationSet [^>]*contentType="video"/g)).toHaveLength(3);
    expect(await mpdSchemaErrors(mpd)).toEqual([]);
  });

  it('audio tracks in several languages (labels and roles) and caption tracks, with names that need escaping', async () => {
    const entries: AudioGroupEntry[] = [
      { name: 'English', language: 'en', isDefault: true, uri: 'audio/playlist.m3u8', rendition: 'audio' },
      { name: 'Français & "commentaire" <VO>', language: 'fr', isDefault: false, uri: 'audio_fr/playlist.m3u8', rendition: 'audio_fr' },
    ];
    const mpd = buildDashManifest([...ladder, audio('audio_fr')], [
      { lang: 'en', label: 'English', uri: 'captions/en.vtt' },
      { lang: 'pt-BR', label: 'Português <auto> & co', uri: 'captions/pt-BR.vtt' },
    ], entries)!;
    expect(mpd).toContain('<Label>Français &amp; &quot;commentaire&quot; &lt;VO&gt;</Label>');
    expect(mpd.match(/contentType="text"/g)).toHaveLength(2);
    expect(await mpdSchemaErrors(mpd)).toEqual([]);
  });

  it("a clip: its window of the source's segments, numbered and timed as on the source", async () => {
    const window = { firstSegment: 7, firstSegmentStart: 42.042, segmentDurations: [6.006, 6.006, 2.5] };
    const mpd = buildDashManifest([{ ...audio('audio'), ...window }, rung('360p', 360, 'avc1.64001e,mp4a.40.2', window)])!;
    expect(mpd).toContain('startNumber="7"');
    expect(await mpdSchemaErrors(mpd)).toEqual([]);
  });

  it('the validator refuses what breaks the schema: a Representation without bandwidth, an unknown element', async () => {
    const mpd = buildDashManifest(ladder)!;
    const noBandwidth = mpd.replace(/ bandwidth="\d+"/, '');
    expect(await mpdSchemaErrors(noBandwidth)).toEqual([expect.stringMatching(/Representation.*attribute 'bandwidth' is required/)]);
    const unknown = mpd.replace('<Period id="0" start="PT0S">', '<Period id="0" start="PT0S">\n    <Segments/>');
    expect(await mpdSchemaErrors(unknown)).toEqual([expect.stringMatching(/Segments.*not expected/)]);
  });
});

/**
 * Playback of CMAF videos inside workerd: HLS playlists with EXT-X-MAP over `init.mp4` + `segment_{n}.m4s`, the DASH
 * manifest over the same objects (its timeline, offsets and sets), clips of CMAF videos, and the refusals: DASH for an
 * MPEG-TS video (404 with the reason), a segment name of the other packaging, DASH before any rendition is complete.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { api } from './helpers';
import { openDb, schema } from '../../workers/shared/db';
import { playableVideo, segmentBytes, signedBase, signedMasterPath, type RungFixture } from './playback-fixtures';
import { buildDashManifest, segmentTimeline } from '../../workers/playback/dash';
import type { PlayableRendition } from '../../workers/playback/manifest';

const CMAF_RUNGS: RungFixture[] = [
  { name: 'audio', height: 0, durations: [6, 6, 1.5], packaging: 'cmaf', kind: 'audio' },
  { name: '240p', height: 240, durations: [6, 6, 1.5], packaging: 'cmaf', codecs: 'avc1.64000d,mp4a.40.2' },
  { name: '360p', height: 360, durations: [6, 6, 1.5], packaging: 'cmaf', codecs: 'avc1.64001e,mp4a.40.2' },
  { name: '360p-av1', height: 360, durations: [6, 6, 1.5], packaging: 'cmaf', codecs: 'av01.0.01M.08,mp4a.40.2' },
];

const get = (path: string) => api(path);

describe('CMAF playback: HLS with EXT-X-MAP and DASH over the same segments', () => {
  it('serves the master (version 7), media playlists with EXT-X-MAP, the init segment and .m4s segments', async () => {
    const { id } = await playableVideo({ rungs: CMAF_RUNGS });
    const base = signedBase(await signedMasterPath(id));
    const master = await (await get(`${base}master.m3u8`)).text();
    expect(master).toContain('#EXT-X-VERSION:7');
    expect(master).toContain('CODECS="av01.0.01M.08,mp4a.40.2"');
    const media = await (await get(`${base}360p/playlist.m3u8`)).text();
    expect(media).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(media).toContain('#EXTINF:6.000,\nsegment_0000.m4s');
    const init = await get(`${base}360p/init.mp4`);
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toBe('video/mp4');
    expect(new Uint8Array(await init.arrayBuffer())).toEqual(segmentBytes(id, '360p-init', 0, 512));
    const seg = await get(`${base}360p-av1/segment_0002.m4s`);
    expect(seg.status).toBe(200);
    expect(new Uint8Array(await seg.arrayBuffer())).toEqual(segmentBytes(id, '360p-av1', 2));
  });

  it('refuses a segment of the other packaging, and an init segment of an MPEG-TS rung', async () => {
    const cmaf = await playableVideo({ rungs: CMAF_RUNGS });
    const cmafBase = signedBase(await signedMasterPath(cmaf.id));
    const ts = await get(`${cmafBase}360p/segment_0000.ts`);
    expect(ts.status).toBe(404);
    expect(((await ts.json()) as { error: { message: string } }).error.message).toMatch(/360p is packaged as cmaf/);
    const plain = await playableVideo();
    const plainBase = signedBase(await signedMasterPath(plain.id));
    expect((await get(`${plainBase}360p/init.mp4`)).status).toBe(404);
    expect((await get(`${plainBase}360p/segment_0000.m4s`)).status).toBe(404);
    expect((await get(`${plainBase}360p/segment_0000.ts`)).status).toBe(200);
  });

  it('manifest.mpd of an MPEG-TS video is a 404 that says why; of a CMAF video, the MPD over the same files', async () => {
    const plain = await playableVideo();
    const res = await get(`${signedBase(await signedMasterPath(plain.id))}manifest.mpd`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: expect.stringMatching(/packaged as MPEG-TS \(packaging "ts"\): DASH needs CMAF segments/) } });

    const { id } = await playableVideo({ rungs: CMAF_RUNGS });
    const playback = (await (await api(`/v1/videos/${id}/playback`)).json()) as { url: string; dashUrl: string };
    expect(playback.dashUrl).toBe(playback.url.replace(/master\.m3u8$/, 'manifest.mpd'));
    const mpd = await get(new URL(playback.dashUrl).pathname);
    expect(mpd.status).toBe(200);
    expect(mpd.headers.get('content-type')).toBe('application/dash+xml');
    const xml = await mpd.text();
    expect(xml).toContain('mediaPresentationDuration="PT13.500S"');
    // One video AdaptationSet per codec family, then audio.
    expect(xml.match(/<AdaptationSet id="\d" contentType="video"/g)).toHaveLength(2);
    expect(xml).toContain('<Representation id="360p-av1" bandwidth="580000" codecs="av01.0.01M.08" width="640" height="360" sar="1:1" frameRate="30000/1000">');
    expect(xml).toContain('<SegmentTemplate timescale="1000" presentationTimeOffset="10000" startNumber="0" initialization="360p/init.mp4" media="360p/segment_$Number%04d$.m4s">');
    expect(xml).toMatch(/<S t="10000" d="6000" r="1"\/>\s+<S d="1500"\/>/);
    expect(xml).toContain('<Representation id="audio" bandwidth="140000" codecs="mp4a.40.2" audioSamplingRate="48000">');
    // Cached under its canonical key, like the playlists.
    const again = await get(new URL(playback.dashUrl).pathname);
    expect(again.headers.get('x-cache')).toBe('HIT');
  });

  it('a clip of a CMAF video lists its window of the source segments, with the source init segment and offsets', async () => {
    const source = await playableVideo({ rungs: CMAF_RUNGS });
    await openDb(env.DB).update(schema.videos).set({ duration: 13.5 }).where(eq(schema.videos.id, source.id));
    const made = await api(`/v1/videos/${source.id}/clips`, { method: 'POST', token: source.token, json: { start: 7, end: 11 } });
    expect(made.status).toBe(201);
    const clip = (await made.json()) as { id: string; packaging: string; codecs: string[] };
    expect(clip.packaging).toBe('cmaf');
    const base = signedBase(await signedMasterPath(clip.id));
    const media = await (await get(`${base}240p/playlist.m3u8`)).text();
    expect(media).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(media).toContain('segment_0001.m4s');
    expect(media).not.toContain('segment_0000.m4s');
    expect(new Uint8Array(await (await get(`${base}240p/init.mp4`)).arrayBuffer())).toEqual(segmentBytes(source.id, '240p-init', 0, 512));
    expect((await get(`${base}240p/segment_0000.m4s`)).status).toBe(404);
    const xml = await (await get(`${base}manifest.mpd`)).text();
    // The clip starts 6 s into its source: its period starts at that media time, numbering at segment 1.
    expect(xml).toContain('presentationTimeOffset="16000" startNumber="1"');
    expect(xml).toContain('<S t="16000" d="6000"/>');
  });

  it('while processing, DASH lists complete renditions only (409 until one video rung and the audio are complete)', async () => {
    const growing = CMAF_RUNGS.map((r) => ({ ...r, complete: r.kind === 'audio' }));
    const { id } = await playableVideo({ rungs: growing, status: 'PROCESSING' });
    const res = await get(`${signedBase(await signedMasterPath(id))}manifest.mpd`);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/complete renditions only/);
  });
});

describe('buildDashManifest', () => {
  const rung = (over: Partial<PlayableRendition>): PlayableRendition => ({
    name: '240p', width: 426, height: 240, bandwidth: 540_000, averageBandwidth: 400_000, codecs: 'avc1.64000d,mp4a.40.2', frameRate: 29.97,
    segmentDurations: [6.006, 6.006, 6.006, 2], kind: 'video', complete: true, packaging: 'cmaf', ...over,
  });
  const audio = rung({ name: 'audio', kind: 'audio', width: 0, height: 0, bandwidth: 140_000, codecs: 'mp4a.40.2' });

  it('writes S@d from the rounded running sum, so no rounding error accumulates', () => {
    expect(segmentTimeline([6.0004, 6.0004, 6.0004], 10_000)).toEqual(['<S t="10000" d="6000"/>', '<S d="6001"/>', '<S d="6000"/>']);
    // 100 segments of 6.0004 s end at 600.04 s exactly, not 100 × round(6.0004) = 600 s.
    const runs = segmentTimeline(Array.from({ length: 100 }, () => 6.0004), 0);
    const total = runs.reduce((a, s) => a + Number(/d="(\d+)"/.exec(s)![1]) * (1 + Number(/r="(\d+)"/.exec(s)?.[1] ?? 0)), 0);
    expect(total).toBe(600_040);
  });

  it('lists no MPEG-TS or incomplete rendition, and nothing without complete audio', () => {
    expect(buildDashManifest([rung({})])).toBeNull();
    expect(buildDashManifest([rung({ packaging: 'ts' }), audio])).toBeNull();
    expect(buildDashManifest([rung({ complete: false }), audio])).toBeNull();
    const xml = buildDashManifest([rung({}), rung({ name: '360p', height: 360, complete: false }), audio], [{ lang: 'en', label: 'English <CC>', uri: 'captions/en.vtt' }])!;
    expect(xml).toContain('id="240p"');
    expect(xml).not.toContain('id="360p"');
    expect(xml).toContain('frameRate="29970/1000"');
    expect(xml).toContain('<Label>English &lt;CC&gt;</Label>');
    expect(xml).toContain('<BaseURL>captions/en.vtt</BaseURL>');
  });
});

/**
 * Captions, clips, downloads and frames inside workerd: every bad input gets a clear error and
 * leaves nothing behind; the good paths produce the playlists the players need. (The media itself — frames cut by
 * ffmpeg, MP4s, Chromium playback — is covered end to end in test/node/media-e2e.test.ts.)
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { api, newCreator } from './helpers';
import { playableVideo, segmentBytes, signedBase, signedMasterPath } from './playback-fixtures';
import { openDb, schema } from '../../workers/shared/db';
import { keys } from '../../workers/shared/storage-keys';
import { VIDEO_TEXT } from '../../workers/shared/config';
import { canonicalLanguageTag, parseCaptions } from '../../workers/captions/webvtt';
import { firstPts } from '../../workers/captions/hls';

async function readyVideo(durations = [2, 2, 1.5]) {
  const video = await playableVideo({ rungs: [{ name: '240p', height: 240, durations }, { name: '360p', height: 360, durations }] });
  const total = durations.reduce((a, b) => a + b, 0);
  await openDb(env.DB).update(schema.videos).set({ duration: total, width: 640, height: 360, frameRate: 30 }).where(eq(schema.videos.id, video.id));
  return video;
}

const putCaption = (id: string, lang: string, body: BodyInit, token: string, query = '') =>
  api(`/v1/videos/${id}/captions/${lang}${query}`, { method: 'PUT', token, body });

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = await res.json<{ error: { code: string; message: string } }>();
  return { status: res.status, ...body.error };
}

const VTT = 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhello\n';

describe('PUT /v1/videos/:id/captions/:lang: bad inputs', () => {
  it('refuses a bad language tag, a non-text body, malformed timing, reversed cues, 2 MB, and cues all past the end; nothing is stored', async () => {
    const { id, token } = await readyVideo();
    expect(await errorOf(await putCaption(id, 'english!', VTT, token))).toMatchObject({ status: 400, message: expect.stringContaining('BCP 47') });
    expect((await putCaption(id, 'x-klingon', VTT, token)).status).toBe(400);
    expect(await errorOf(await putCaption(id, 'en', new Uint8Array([0x57, 0x45, 0x00, 0xff, 0xfe]), token))).toMatchObject({
      status: 400,
      message: expect.stringContaining('not UTF-8 text'),
    });
    expect(await errorOf(await putCaption(id, 'en', 'WEBVTT\n\n00:00:01.000 --> 0:0:2\nhello\n', token))).toMatchObject({
      status: 400,
      message: expect.stringContaining('line 3: malformed cue timing'),
    });
    expect(await errorOf(await putCaption(id, 'en', '1\n00:00:05,000 --> 00:00:02,000\nbackwards\n', token))).toMatchObject({
      status: 400,
      message: expect.stringContaining('ends'),
    });
    expect(await errorOf(await putCaption(id, 'en', 'just some words\nno cues here\n', token))).toMatchObject({ status: 400 });
    expect(await errorOf(await putCaption(id, 'en', 'WEBVTT\n\n00:01:00.000 --> 00:01:02.000\nafter the end\n', token))).toMatchObject({
      status: 400,
      message: expect.stringContaining('after the end'),
    });
    const big = 'WEBVTT\n\n' + '00:00:01.000 --> 00:00:02.000\n' + 'x'.repeat(2 * 1024 * 1024) + '\n';
    expect(await errorOf(await putCaption(id, 'en', big, token))).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect((await putCaption(id, 'en', VTT, token, '?default=maybe')).status).toBe(400);

    const list = await (await api(`/v1/videos/${id}/captions`)).json<{ captions: unknown[] }>();
    expect(list.captions).toEqual([]);
    expect(await env.MEDIA.get(keys.caption(id, 'en'))).toBeNull();
    // The master is still a valid playlist with no subtitles group.
    const master = await (await api(await signedMasterPath(id))).text();
    expect(master).not.toContain('SUBTITLES');
  });

  it('needs the owner: 401 without a token, 403 for another creator', async () => {
    const { id } = await readyVideo();
    const other = await newCreator('other');
    expect((await api(`/v1/videos/${id}/captions/en`, { method: 'PUT', body: VTT })).status).toBe(401);
    expect((await putCaption(id, 'en', VTT, other.token)).status).toBe(403);
  });
});

describe('caption tracks in playback', () => {
  it('lists tracks in the master (one default), serves the subtitles playlist covering the video, and drops a deleted track', async () => {
    const { id, token } = await readyVideo();
    const srt = '1\n00:00:01,000 --> 00:00:02,000\nHallo\n\n2\n00:00:05,000 --> 00:00:09,000\nzu lang\n';
    const de = await putCaption(id, 'de', srt, token, '?label=Deutsch&default=true');
    expect(de.status).toBe(201);
    expect(await de.json()).toMatchObject({ lang: 'de', label: 'Deutsch', default: true, cues: 2, clippedCues: 1 });
    const en = await putCaption(id, 'EN-gb', VTT, token, '?default=true');
    expect(en.status).toBe(201);
    expect(await en.json()).toMatchObject({ lang: 'en-GB', label: 'British English', default: true });

    const base = signedBase(await signedMasterPath(id));
    const master = await (await api(`${base}master.m3u8`)).text();
    expect(master).toContain('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="captions/de.m3u8"');
    expect(master).toContain('NAME="British English",LANGUAGE="en-GB",DEFAULT=YES');
    expect(master.match(/SUBTITLES="subs"/g)).toHaveLength(2);

    const playlist = await (await api(`${base}captions/de.m3u8`)).text();
    expect(playlist).toContain('#EXTINF:5.500,\nde_hls.vtt\n#EXT-X-ENDLIST');
    const download = await (await api(`${base}captions/de.vtt`)).text();
    expect(download).toBe('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHallo\n\n00:00:05.000 --> 00:00:05.500\nzu lang\n');

    expect((await api(`/v1/videos/${id}/captions/de`, { method: 'DELETE', token })).status).toBe(204);
    expect((await api(`/v1/videos/${id}/captions/de`, { method: 'DELETE', token })).status).toBe(404);
    expect(await (await api(`${base}master.m3u8`)).text()).not.toContain('LANGUAGE="de"');
    expect((await api(`${base}captions/de.m3u8`)).status).toBe(404);
  });

  it('parses SRT and WebVTT with ids, settings and headers; language tags canonicalise', () => {
    const vtt = parseCaptions('WEBVTT - title\nKind: captions\n\nNOTE a note\n\nc1\n00:01.000 --> 00:02.500 align:start\nline one\nline two\n');
    expect(vtt).toEqual({ ok: true, cues: [{ id: 'c1', start: 1, end: 2.5, settings: 'align:start', text: 'line one\nline two' }], clipped: 0, dropped: 0 });
    expect(canonicalLanguageTag('zh-hant-tw')).toBe('zh-Hant-TW');
    expect(canonicalLanguageTag('pt-br')).toBe('pt-BR');
    expect(canonicalLanguageTag('toolongtag')).toBeNull();
  });

  it('reads the first PTS of an MPEG-TS packet', () => {
    const packet = new Uint8Array(188);
    packet.set([0x47, 0x41, 0x00, 0x10, 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5]);
    // PTS 126000 (1.4 s): '0010' marker, bits 32..30, 29..15, 14..0 with marker bits.
    const pts = 126000;
    packet.set([0x21 | ((pts >> 29) & 0x0e), (pts >> 22) & 0xff, ((pts >> 14) & 0xfe) | 1, (pts >> 7) & 0xff, ((pts << 1) & 0xfe) | 1], 13);
    expect(firstPts(packet)).toBe(126000);
    expect(firstPts(new Uint8Array(188))).toBeNull();
  });
});

describe('POST /v1/videos/:id/clips', () => {
  it('refuses bad ranges, unknown fields and unready sources, creating nothing', async () => {
    const { id, token } = await readyVideo();
    for (const body of [{ start: -1, end: 2 }, { start: 3, end: 3 }, { start: 1, end: 99 }, { start: '1', end: 2 }, { start: 1, end: 2, color: 'red' }, { start: 1, end: 2, title: '' }, { start: 1, end: 2, title: 't'.repeat(VIDEO_TEXT.maxTitle + 1) }]) {
      expect((await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: body })).status).toBe(400);
    }
    const processing = await playableVideo({ status: 'PROCESSING' });
    expect(await errorOf(await api(`/v1/videos/${processing.id}/clips`, { method: 'POST', token: processing.token, json: { start: 0, end: 1 } }))).toMatchObject({ status: 409 });
    const clips = await openDb(env.DB).select().from(schema.videos).where(eq(schema.videos.clipOf, id));
    expect(clips).toEqual([]);
  });

  it('makes a READY clip rounded outward to segments, playing the source segments under their numbers; a clip of a clip re-bases', async () => {
    const { id, token } = await readyVideo();
    const res = await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: { start: 2.5, end: 3, title: 'bit' } });
    expect(res.status).toBe(201);
    const clip = await res.json<{ id: string; status: string; duration: number; clip: { start: number; end: number } }>();
    expect(clip).toMatchObject({ status: 'READY', duration: 2, clip: { start: 2, end: 4 } });
    const base = signedBase(await signedMasterPath(clip.id));
    const media = await (await api(`${base}360p/playlist.m3u8`)).text();
    expect(media).toContain('#EXTINF:2.000,\nsegment_0001.ts\n#EXT-X-ENDLIST');
    const segment = await api(`${base}360p/segment_0001.ts`);
    expect(new Uint8Array(await segment.arrayBuffer())).toEqual(segmentBytes(id, '360p', 1));
    // Outside the window is refused even when the source's copy of that segment is in the edge cache.
    const sourceBase = signedBase(await signedMasterPath(id));
    expect((await api(`${sourceBase}360p/segment_0002.ts`)).status).toBe(200);
    expect((await api(`${base}360p/segment_0002.ts`)).status).toBe(404);
    expect((await api(`${base}360p/segment_0000.ts`)).status).toBe(404);

    const nested = await api(`/v1/videos/${clip.id}/clips`, { method: 'POST', token, json: { start: 0.5, end: 1 } });
    expect(nested.status).toBe(201);
    expect(await nested.json()).toMatchObject({ clip: { sourceId: id, start: 0, end: 2 } });
  });

  it('keeps playing when the source is re-transcoded: the window is re-derived from the new segments', async () => {
    const { id, token } = await readyVideo([2, 2, 2, 2]);
    const clip = await (await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: { start: 4.5, end: 5.5 } })).json<{ id: string; clip: { start: number; end: number } }>();
    expect(clip.clip).toMatchObject({ start: 4, end: 6 });
    // A re-transcode with 3 s segments: [0,3) [3,6) [6,8).
    await openDb(env.DB).update(schema.renditions).set({ segmentDurations: JSON.stringify([3, 3, 2]), segmentCount: 3 }).where(eq(schema.renditions.videoId, id));
    await new Promise((r) => setTimeout(r, 2100)); // the playback state memo (stateTtlMs)
    const base = signedBase(await signedMasterPath(clip.id));
    const media = await api(`${base}240p/playlist.m3u8`);
    expect(media.headers.get('Cache-Control')).toBe('public, max-age=60');
    expect(await media.text()).toContain('#EXTINF:3.000,\nsegment_0001.ts\n#EXT-X-ENDLIST');
    expect((await api(`${base}240p/segment_0001.ts`)).status).toBe(200);
  });

  it('deleting the source deletes its clips', async () => {
    const { id, token } = await readyVideo();
    const clip = await (await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: { start: 0, end: 1 } })).json<{ id: string }>();
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await api(`/v1/videos/${clip.id}`, { token })).status).toBe(404);
    const row = await openDb(env.DB).select().from(schema.videos).where(eq(schema.videos.id, clip.id)).get();
    expect(row?.status).toBe('DELETED');
  });
});

describe('downloads and frames: bad inputs', () => {
  it('POST /downloads: unknown rung 400, unready 409; a good request is queued and shows in the video object', async () => {
    const { id, token } = await readyVideo();
    expect(await errorOf(await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: { rendition: '4k' } }))).toMatchObject({
      status: 400,
      message: expect.stringContaining('available: 360p, 240p'),
    });
    expect((await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: { quality: 'hd' } })).status).toBe(400);
    const processing = await playableVideo({ status: 'PROCESSING' });
    expect((await api(`/v1/videos/${processing.id}/downloads`, { method: 'POST', token: processing.token, json: {} })).status).toBe(409);

    const res = await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: { rendition: '240p' } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ rendition: '240p', status: 'PENDING', url: null });
    const video = await (await api(`/v1/videos/${id}`, { token })).json<{ downloads: { rendition: string; status: string }[] }>();
    expect(video.downloads).toEqual([expect.objectContaining({ rendition: '240p' })]);
    // Not made yet: the signed path answers 409, and an unknown rung 404.
    const base = signedBase(await signedMasterPath(id));
    expect((await api(`${base}downloads/360p.mp4`)).status).toBe(404);
  });

  it('at.jpg: missing, repeated or malformed time/width are 400; past the end is 400; unsigned is 403', async () => {
    const { id } = await readyVideo();
    const base = signedBase(await signedMasterPath(id));
    for (const q of ['', '?width=320', '?time=1&time=2', '?time=1e3', '?time=-1', '?time=1&width=0', '?time=1&width=abc', '?time=1&width=1&width=2']) {
      expect(await errorOf(await api(`${base}thumbnails/at.jpg${q}`))).toMatchObject({ status: 400, code: 'bad_request' });
    }
    expect(await errorOf(await api(`${base}thumbnails/at.jpg?time=9`))).toMatchObject({ status: 400, message: expect.stringContaining('past the end') });
    expect((await api(`/v/${id}/thumbnails/at.jpg?time=1`)).status).toBe(403);
  });

  it('PATCH posterTime: negative, past the end or not a number are 400', async () => {
    const { id, token } = await readyVideo();
    for (const posterTime of [-1, 99, '3']) {
      expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { posterTime } })).status).toBe(400);
    }
    const ok = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { posterTime: 1.25 } });
    expect(await ok.json()).toMatchObject({ posterTime: 1.25 });
    const cleared = await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { posterTime: null } });
    expect(await cleared.json()).toMatchObject({ posterTime: null });
  });
});

/**
 * Extra audio tracks inside workerd: the routes and their bad inputs, the master playlist's audio group and the DASH
 * manifest's audio AdaptationSets, clips carrying the tracks, and the audio-only download request. Encoded tracks are
 * recorded through the track repository as the consumer records a transcoder result (the encode itself, with ffmpeg
 * and Chromium, is test/e2e/audio-tracks-e2e.test.ts).
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { api } from './helpers';
import { playableVideo, signedBase, signedMasterPath, type RungFixture } from './playback-fixtures';
import { openDb, schema } from '../../workers/shared/db';
import { keys } from '../../workers/shared/storage-keys';
import { claimAudioTrack, completeAudioTrack, requestAudioTrack } from '../../workers/audio-tracks/repo';
import { lengthWarning } from '../../workers/audio-tracks/consumer';

const DURATIONS = [2, 2, 1.5];

async function readyVideo(options: { packaging?: 'ts' | 'cmaf'; hasAudio?: boolean } = {}) {
  const packaging = options.packaging ?? 'ts';
  const rungs: RungFixture[] = [
    { name: '240p', height: 240, durations: DURATIONS, packaging },
    { name: 'audio', height: 0, durations: DURATIONS, packaging, kind: 'audio' },
  ];
  const video = await playableVideo({ rungs });
  await openDb(env.DB).update(schema.videos).set({ duration: 5.5, width: 426, height: 240, frameRate: 30, hasAudio: options.hasAudio ?? true }).where(eq(schema.videos.id, video.id));
  return video;
}

/** A track as the consumer records it once the transcoder's audio unit has encoded it. */
async function encodedTrack(videoId: string, lang: string, label: string, isDefault: boolean, packaging: 'ts' | 'cmaf' = 'ts') {
  const db = openDb(env.DB);
  await requestAudioTrack(db, { videoId, lang, label, isDefault, sourceUrl: null });
  const claim = await claimAudioTrack(db, videoId, lang, 60_000);
  if (claim.status !== 'claimed') throw new Error(`track not claimed: ${claim.status}`);
  const result = { codecs: 'mp4a.40.2', segmentDurations: DURATIONS, segmentSizes: [100, 100, 80], bandwidth: 131_000, averageBandwidth: 128_000, totalBytes: 280, inputDuration: 7 };
  await completeAudioTrack(db, claim.row, { result, packaging, warning: lengthWarning(7, 5.5, 0.1) });
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = await res.json<{ error: { code: string; message: string } }>();
  return { status: res.status, ...body.error };
}

const put = (id: string, lang: string, body: BodyInit | null, token: string, query = '') => api(`/v1/videos/${id}/audio/${lang}${query}`, { method: 'PUT', token, body });
const AUDIO = new Uint8Array(2048).fill(7);

describe('audio track routes', () => {
  it('PUT stores the file and queues the track (202, PENDING); GET lists it with its state; DELETE removes file and row', async () => {
    const { id, token } = await readyVideo();
    const res = await put(id, 'pt-br', AUDIO, token, '?label=Portugu%C3%AAs&default=true');
    expect(res.status).toBe(202);
    expect(res.headers.get('Location')).toBe(`/v1/videos/${id}/audio/pt-BR`);
    expect(await res.json()).toMatchObject({ lang: 'pt-BR', label: 'Português', default: true, status: 'PENDING', warning: null, source: 'upload', playlist: 'audio_pt-BR/playlist.m3u8' });
    expect((await env.MEDIA.get(keys.audioTrackSource(id, 'pt-BR')))?.size).toBe(2048);

    const list = await (await api(`/v1/videos/${id}/audio`)).json<{ originalLanguage: string; tracks: { lang: string }[] }>();
    expect(list).toMatchObject({ originalLanguage: 'und', tracks: [{ lang: 'pt-BR' }] });
    // Not encoded yet: the master does not list it.
    const master = await (await api(await signedMasterPath(id))).text();
    expect(master).not.toContain('audio_pt-BR');

    expect((await api(`/v1/videos/${id}/audio/pt-BR`, { method: 'DELETE', token })).status).toBe(204);
    expect(await env.MEDIA.head(keys.audioTrackSource(id, 'pt-BR'))).toBeNull();
    expect((await api(`/v1/videos/${id}/audio/pt-BR`, { method: 'DELETE', token })).status).toBe(404);
    expect((await (await api(`/v1/videos/${id}/audio`)).json<{ tracks: unknown[] }>()).tracks).toEqual([]);
  });

  it('bad inputs: language tag, label, default, empty and oversized bodies, URL rule, unknown or deleted or unready video, clips; nothing is stored', async () => {
    const { id, token } = await readyVideo();
    expect(await errorOf(await put(id, 'portuguese!', AUDIO, token))).toMatchObject({ status: 400, message: expect.stringContaining('BCP 47') });
    expect(await errorOf(await put(id, 'fr', AUDIO, token, '?label=Fran%07ais'))).toMatchObject({ status: 400, message: expect.stringContaining('control characters') });
    expect(await errorOf(await put(id, 'fr', AUDIO, token, '?label=say%20%22hi%22'))).toMatchObject({ status: 400 });
    expect(await errorOf(await put(id, 'fr', AUDIO, token, '?default=maybe'))).toMatchObject({ status: 400, message: 'default must be true or false' });
    expect(await errorOf(await put(id, 'fr', new Uint8Array(0), token))).toMatchObject({ status: 400, message: expect.stringContaining('empty') });
    expect(await errorOf(await put(id, 'fr', new Uint8Array(300 * 1024), token))).toMatchObject({ status: 413, code: 'payload_too_large' });
    const post = (json: unknown) => api(`/v1/videos/${id}/audio/fr`, { method: 'POST', token, json });
    expect(await errorOf(await post({ url: 'http://127.0.0.1/dub.m4a' }))).toMatchObject({ status: 400 });
    expect(await errorOf(await post({ url: 'ftp://example.com/dub.m4a' }))).toMatchObject({ status: 400 });
    expect((await post({ link: 'https://example.com/dub.m4a' })).status).toBe(400);
    expect(await env.MEDIA.head(keys.audioTrackSource(id, 'fr'))).toBeNull();
    expect((await (await api(`/v1/videos/${id}/audio`)).json<{ tracks: unknown[] }>()).tracks).toEqual([]);

    expect((await put('vid_doesnotexist', 'fr', AUDIO, token)).status).toBe(404);
    expect((await put(id, 'fr', AUDIO, 'not-a-token')).status).toBe(401);
    const processing = await playableVideo({ status: 'PROCESSING' });
    expect(await errorOf(await put(processing.id, 'fr', AUDIO, processing.token))).toMatchObject({ status: 409, message: expect.stringContaining('READY') });
    const clip = await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: { start: 0, end: 4 } });
    expect(clip.status).toBe(201);
    const clipId = (await clip.json<{ id: string }>()).id;
    expect(await errorOf(await put(clipId, 'fr', AUDIO, token))).toMatchObject({ status: 409, message: expect.stringContaining('source') });
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await put(id, 'fr', AUDIO, token)).status).toBe(404);
    expect((await api(`/v1/videos/${id}/audio`)).status).toBe(404);
  });

  it("a file past the creator's bytes quota is refused up front (403 quota_exceeded); nothing is stored", async () => {
    const { id, token, creatorId } = await readyVideo();
    const quota = await api(`/v1/admin/creators/${creatorId}`, { method: 'PATCH', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` }, json: { quota: { bytesStored: 1000 } } });
    expect(quota.status).toBe(200);
    expect(await errorOf(await put(id, 'fr', AUDIO, token))).toMatchObject({ status: 403, code: 'quota_exceeded' });
    expect(await env.MEDIA.head(keys.audioTrackSource(id, 'fr'))).toBeNull();
    expect((await (await api(`/v1/videos/${id}/audio`)).json<{ tracks: unknown[] }>()).tracks).toEqual([]);
  });

  it('originalLanguage: set on create and PATCH (canonicalised), a bad tag is 400', async () => {
    const { token } = await readyVideo();
    const created = await api('/v1/videos', { method: 'POST', token, json: { title: 'dubbed', originalLanguage: 'en-us' } });
    expect(created.status).toBe(201);
    const video = await created.json<{ id: string; originalLanguage: string }>();
    expect(video.originalLanguage).toBe('en-US');
    expect(await errorOf(await api('/v1/videos', { method: 'POST', token, json: { title: 'x', originalLanguage: 'english' } }))).toMatchObject({ status: 400, message: expect.stringContaining('BCP 47') });
    const patched = await api(`/v1/videos/${video.id}`, { method: 'PATCH', token, json: { originalLanguage: 'de' } });
    expect((await patched.json<{ originalLanguage: string }>()).originalLanguage).toBe('de');
    expect((await api(`/v1/videos/${video.id}`, { method: 'PATCH', token, json: { originalLanguage: 42 } })).status).toBe(400);
  });
});

describe('audio tracks and the deletion of their video', () => {
  it('an unfinished track ends CANCELLED when its video is deleted; its file goes with the originals', async () => {
    const { id, token } = await readyVideo();
    expect((await put(id, 'it', AUDIO, token)).status).toBe(202);
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    const row = await openDb(env.DB).select().from(schema.audioTracks).where(eq(schema.audioTracks.videoId, id)).get();
    expect(row).toMatchObject({ status: 'CANCELLED', error: 'the video was deleted' });
  });
});

describe('audio tracks in the manifests', () => {
  it('the master lists the main audio in the original language and each encoded track in one group, with one DEFAULT', async () => {
    const { id, token } = await readyVideo();
    expect((await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { originalLanguage: 'en' } })).status).toBe(200);
    await encodedTrack(id, 'fr', 'Français', false);
    await encodedTrack(id, 'pt-BR', 'Português', true);
    // A second default moves the flag: one DEFAULT=YES in the group.
    await encodedTrack(id, 'fr', 'Français', true);
    const base = signedBase(await signedMasterPath(id));
    const master = await (await api(`${base}master.m3u8`)).text();
    const audio = master.split('\n').filter((l) => l.startsWith('#EXT-X-MEDIA:TYPE=AUDIO'));
    expect(audio).toEqual([
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio/playlist.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Français",LANGUAGE="fr",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio_fr/playlist.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Português",LANGUAGE="pt-BR",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio_pt-BR/playlist.m3u8"',
    ]);
    const playlist = await (await api(`${base}audio_fr/playlist.m3u8`)).text();
    expect(playlist).toContain('#EXTINF:1.500,\nsegment_0002.ts');
    const tracks = await (await api(`/v1/videos/${id}/audio`)).json<{ tracks: { lang: string; status: string; warning: string; duration: number; inputDuration: number }[] }>();
    expect(tracks.tracks.find((t) => t.lang === 'fr')).toMatchObject({ status: 'COMPLETED', duration: 5.5, inputDuration: 7, warning: expect.stringContaining('cut') });
    expect(lengthWarning(4, 5.5, 0.1)).toContain('1.5 s of silence');
    expect(lengthWarning(5.55, 5.5, 0.1)).toBeNull();

    // Deleting the default track gives the flag back to the main audio.
    expect((await api(`/v1/videos/${id}/audio/fr`, { method: 'DELETE', token })).status).toBe(204);
    const after = await (await api(`${base}master.m3u8`)).text();
    expect(after).toContain('NAME="English",LANGUAGE="en",DEFAULT=YES');
    expect(after).not.toContain('audio_fr');
    expect((await api(`${base}audio_fr/playlist.m3u8`)).status).toBe(404);
  });

  it('a CMAF video: the DASH manifest has an audio AdaptationSet per language, the track playlist maps its init segment', async () => {
    const { id } = await readyVideo({ packaging: 'cmaf' });
    await encodedTrack(id, 'es', 'Español', false, 'cmaf');
    const base = signedBase(await signedMasterPath(id));
    const mpd = await (await api(`${base}manifest.mpd`)).text();
    expect(mpd.match(/contentType="audio"/g)).toHaveLength(2);
    expect(mpd).toContain('lang="und"');
    expect(mpd).toMatch(/lang="es"[^]*<Label>Español<\/Label>[^]*value="alternate"[^]*initialization="audio_es\/init.mp4"/);
    expect(await (await api(`${base}audio_es/playlist.m3u8`)).text()).toContain('#EXT-X-MAP:URI="init.mp4"');
  });

  it('a clip carries every audio track, windowed like its rungs', async () => {
    const { id, token } = await readyVideo();
    await encodedTrack(id, 'de', 'Deutsch', false);
    const clip = await api(`/v1/videos/${id}/clips`, { method: 'POST', token, json: { start: 2, end: 4 } });
    const clipId = (await clip.json<{ id: string }>()).id;
    const base = signedBase(await signedMasterPath(clipId, token));
    const master = await (await api(`${base}master.m3u8`)).text();
    expect(master).toContain('URI="audio_de/playlist.m3u8"');
    const playlist = await (await api(`${base}audio_de/playlist.m3u8`)).text();
    expect(playlist).toContain('segment_0001.ts');
    expect(playlist).not.toContain('segment_0000.ts');
  });
});

describe('audio-only downloads: requests', () => {
  it('{type: "audio"} queues the audio.m4a row; unknown type 400; rendition with audio 400; no audio 409', async () => {
    const { id, token } = await readyVideo();
    const res = await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: { type: 'audio' } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ rendition: 'audio', status: 'PENDING' });
    expect(await errorOf(await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: { type: 'subtitles' } }))).toMatchObject({ status: 400, message: expect.stringContaining('type must be') });
    expect((await api(`/v1/videos/${id}/downloads`, { method: 'POST', token, json: { type: 'audio', rendition: '240p' } })).status).toBe(400);
    const base = signedBase(await signedMasterPath(id));
    expect((await api(`${base}downloads/audio.mp4`)).status).toBe(404);

    const silent = await readyVideo({ hasAudio: false });
    expect(await errorOf(await api(`/v1/videos/${silent.id}/downloads`, { method: 'POST', token: silent.token, json: { type: 'audio' } }))).toMatchObject({
      status: 409,
      message: expect.stringContaining('no audio'),
    });
  });
});

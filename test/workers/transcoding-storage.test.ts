/** The internal storage gateway (the transcoder's only door to R2), the ladder plan and the playlist builders. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { LADDER } from '../../workers/shared/config';
import { keys } from '../../workers/shared/storage-keys';
import { planLadder } from '../../workers/transcoding/ladder';
import { buildMasterPlaylist, buildMediaPlaylist } from '../../workers/playback/manifest';
import { serveStorage } from '../../workers/transcoding/storage-gateway';
import { api, moveVideoTo, newCreator, newVideo } from './helpers';
import { loadConfig } from '../../workers/shared/config';
import { openDb } from '../../workers/shared/db';
import { sweepDeletedVideos } from '../../workers/metadata/delete';
import { refreshRenditions, writeMasterCopy } from '../../workers/transcoding/outputs';
import { storageHandler } from '../../workers/transcoding/transcoder-container';

const config = loadConfig({});

const auth = { Authorization: `Bearer ${env.INTERNAL_TOKEN}` };

describe('/internal/storage', () => {
  it('requires the internal token', async () => {
    await env.MEDIA.put(keys.original('vid_a'), 'x');
    expect((await api('/internal/storage/originals/vid_a/original')).status).toBe(401);
    expect((await api('/internal/storage/originals/vid_a/original', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await api('/internal/storage?prefix=videos/vid_a/')).status).toBe(401);
  });

  it('serves byte ranges (ffprobe seeks) and whole objects', async () => {
    await env.MEDIA.put(keys.original('vid_r'), '0123456789');
    const whole = await api('/internal/storage/originals/vid_r/original', { headers: auth });
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe('0123456789');
    const part = await api('/internal/storage/originals/vid_r/original', { headers: { ...auth, Range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('Content-Range')).toBe('bytes 2-5/10');
    expect(await part.text()).toBe('2345');
    const tail = await api('/internal/storage/originals/vid_r/original', { headers: { ...auth, Range: 'bytes=-3' } });
    expect(await tail.text()).toBe('789');
    const open = await api('/internal/storage/originals/vid_r/original', { headers: { ...auth, Range: 'bytes=7-' } });
    expect(await open.text()).toBe('789');
    expect((await api('/internal/storage/originals/vid_r/missing', { headers: auth })).status).toBe(404);
  });

  it.each([
    ['a start past the end', 'bytes=20-'],
    ['a start at the end', 'bytes=10-'],
    ['an empty suffix', 'bytes=-0'],
  ])('answers %s with 416 and the object size (the playback policy)', async (_what, range) => {
    await env.MEDIA.put(keys.original('vid_u'), '0123456789');
    const res = await api('/internal/storage/originals/vid_u/original', { headers: { ...auth, Range: range } });
    expect(res.status).toBe(416);
    expect(res.headers.get('Content-Range')).toBe('bytes */10');
  });

  it.each([
    ['garbage', 'lots-of-bytes-please'],
    ['another unit', 'items=0-3'],
    ['reversed bounds', 'bytes=5-2'],
    ['several ranges', 'bytes=0-1,5-9'],
    ['an empty range', 'bytes=-'],
  ])('ignores %s in Range and serves the whole object with 200 (the playback policy)', async (_what, range) => {
    await env.MEDIA.put(keys.original('vid_m'), '0123456789');
    const res = await api('/internal/storage/originals/vid_m/original', { headers: { ...auth, Range: range } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Range')).toBeNull();
    expect(await res.text()).toBe('0123456789');
  });

  it('lets the transcoder write outputs but never originals, and rejects keys outside the layout', async () => {
    // Outputs are written only for a video that exists and is not deleted (see the deleted-video test below).
    const { token } = await newCreator();
    const { id: vid_w } = await newVideo(token);
    const put = await api(`/internal/storage/videos/${vid_w}/240p/segment_0000.ts`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'video/mp2t' }, body: 'segment' });
    expect(put.status).toBe(201);
    const stored = await env.MEDIA.get(keys.segment(vid_w, '240p', 0));
    expect(await stored!.text()).toBe('segment');
    expect(stored!.httpMetadata?.contentType).toBe('video/mp2t');
    expect((await api(`/internal/storage/originals/${vid_w}/original`, { method: 'PUT', headers: auth, body: 'evil' })).status).toBe(403);
    expect((await api('/internal/storage/uploads/vid_w/x', { headers: auth })).status).toBe(400);
    expect((await api('/internal/storage/videos/vid_w/..%2F..%2Fx/y', { headers: auth })).status).toBe(404);
    const listed = await api(`/internal/storage?prefix=videos/${vid_w}/`, { headers: auth });
    expect(await listed.json()).toEqual({ objects: [{ key: `videos/${vid_w}/240p/segment_0000.ts`, size: 7 }] });
  });

  it('refuses every write for a deleted or unknown video (410), and the sweep removes what a racing job wrote', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    await moveVideoTo(id, 'PROCESSING');
    const write = (videoId: string, file: string) =>
      api(`/internal/storage/videos/${videoId}/thumbnails/${file}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'image/jpeg' }, body: 'jpeg' });
    expect((await write(id, 'poster.jpg')).status).toBe(201);
    // Deleted while transcoding: 204, then the job's thumbnail writes are refused and leave nothing behind.
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    for (const file of ['poster.jpg', 'sprite_0.jpg', 'storyboard.vtt']) {
      const res = await write(id, file);
      expect(res.status).toBe(410);
      expect(await res.json()).toMatchObject({ error: { code: 'gone' } });
    }
    expect((await write('vid_neverexisted000', 'poster.jpg')).status).toBe(410);
    expect((await env.MEDIA.list({ prefix: `videos/${id}/` })).objects).toHaveLength(0);

    // The Worker-side writers refuse too: a fan-in after the deletion records nothing.
    expect(await refreshRenditions(env, openDb(env.DB), config, id)).toEqual({ status: 'ok', finalised: [] });
    await writeMasterCopy(env, openDb(env.DB), id);
    expect((await env.MEDIA.list({ prefix: `videos/${id}/` })).objects).toHaveLength(0);
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM renditions WHERE video_id = ?').bind(id).first<{ n: number }>())?.n).toBe(0);

    // A write that raced the deletion (here put straight into R2) is removed by the sweep of recent deletions.
    await env.MEDIA.put(`videos/${id}/thumbnails/sprite_0.jpg`, 'late');
    expect(await sweepDeletedVideos(env, openDb(env.DB), config, Date.now())).toBe(1);
    expect((await env.MEDIA.list({ prefix: `videos/${id}/` })).objects).toHaveLength(0);
  });

  it('is the same handler the container’s outbound interception uses (token required there too)', async () => {
    await env.MEDIA.put(keys.original('vid_c'), 'abc');
    const ctx = { containerId: 'c1', className: 'TranscoderContainer' };
    const denied = await storageHandler(new Request('http://storage.internal/originals/vid_c/original'), env, ctx);
    expect(denied.status).toBe(401);
    const ok = await storageHandler(new Request('http://storage.internal/originals/vid_c/original', { headers: auth }), env, ctx);
    expect(await ok.text()).toBe('abc');
    // The route and the handler share serveStorage: same answers for the same key.
    expect(await (await serveStorage(env.MEDIA, new Request('http://storage.internal/originals/vid_c/original'), 'originals/vid_c/original', env.DB)).text()).toBe('abc');
  });
});

describe('ladder', () => {
  const shape = (w: number, h: number) => planLadder(LADDER, w, h).map((r) => `${r.name}:${r.width}x${r.height}`);

  it('never upscales: a 1080p source gets 5 rungs, 4K gets 7', () => {
    expect(shape(1920, 1080)).toEqual(['240p:426x240', '360p:640x360', '480p:854x480', '720p:1280x720', '1080p:1920x1080']);
    expect(shape(3840, 2160)).toHaveLength(7);
  });

  it('keeps portrait and odd sizes with even dimensions', () => {
    expect(shape(1080, 1920)).toEqual(['240p:240x426', '360p:360x640', '480p:480x854', '720p:720x1280', '1080p:1080x1920']);
    expect(shape(1001, 563)).toEqual(['240p:426x240', '360p:640x360', '480p:854x480']);
    for (const r of planLadder(LADDER, 999, 777)) expect([r.width % 2, r.height % 2]).toEqual([0, 0]);
  });

  it('gives a source below the lowest rung one rung at its own size', () => {
    expect(shape(356, 200)).toEqual(['240p:356x200']);
    expect(shape(201, 357)).toEqual(['240p:200x356']);
  });

  it('uses the production design\'s rate control', () => {
    expect(planLadder(LADDER, 1280, 720)[3]).toMatchObject({ bitrate: 3_000_000, maxrate: 4_500_000, bufsize: 6_000_000 });
  });
});

describe('playlists', () => {
  it('media playlists use real durations and a target duration ≥ every rounded EXTINF', () => {
    const text = buildMediaPlaylist({ segmentDurations: [6.006, 6.006, 0.5] });
    expect(text).toContain('#EXT-X-TARGETDURATION:6\n');
    expect(text).toContain('#EXTINF:6.006,\nsegment_0000.ts');
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(buildMediaPlaylist({ segmentDurations: [10.5, 3] })).toContain('#EXT-X-TARGETDURATION:11\n');
  });

  it('master lists measured bandwidth, resolution, frame rate and codecs, lowest first', () => {
    const text = buildMasterPlaylist([
      { name: '720p', width: 1280, height: 720, bandwidth: 3_600_000, averageBandwidth: 3_100_000, codecs: 'avc1.64001f,mp4a.40.2', frameRate: 29.97 },
      { name: '240p', width: 426, height: 240, bandwidth: 520_000, averageBandwidth: 480_000, codecs: 'avc1.640015,mp4a.40.2', frameRate: 29.97 },
    ]);
    expect(text.split('\n').slice(3, 5)).toEqual(['#EXT-X-STREAM-INF:BANDWIDTH=520000,AVERAGE-BANDWIDTH=480000,RESOLUTION=426x240,FRAME-RATE=29.970,CODECS="avc1.640015,mp4a.40.2"', '240p/playlist.m3u8']);
  });
});

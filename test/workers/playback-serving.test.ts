import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api } from './helpers';
import { addRendition, playableVideo, segmentBytes, signedBase, signedMasterPath } from './playback-fixtures';
import { cacheUrl, originStats, serveThroughCache } from '../../workers/playback/edge-cache';
import { defaults } from '../../workers/shared/config';
import { setRuntime, toHex } from '../../workers/shared/runtime';
import { keys } from '../../workers/shared/storage-keys';
import { openDb } from '../../workers/shared/db';
import { recordLiveRung } from '../../workers/transcoding/outputs';

const bytes = async (res: Response) => new Uint8Array(await res.arrayBuffer());
const digest = async (data: Uint8Array<ArrayBuffer>) => toHex(await crypto.subtle.digest('SHA-256', data));

async function signedVideo(options: Parameters<typeof playableVideo>[0] = {}) {
  const video = await playableVideo(options);
  return { ...video, base: signedBase(await signedMasterPath(video.id)) };
}

describe('manifests', () => {
  it('serves the master from renditions rows, lowest bandwidth first, with relative URIs', async () => {
    const { base } = await signedVideo();
    const res = await api(`${base}master.m3u8`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/vnd.apple.mpegurl');
    // A viewer's GET carries its playback session, so that response is not for the browser to keep; the object
    // itself (a HEAD shows its headers) is immutable once the video is READY, and is cached at the edge as such.
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Playback-Session')).toMatch(/^\w+\.[\w-]{22}\.\d+\.[\w-]{43}$/);
    expect((await api(`${base}master.m3u8`, { method: 'HEAD' })).headers.get('Cache-Control')).toBe(defaults.playback.segmentCacheControl);
    expect(await res.text()).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=480000,AVERAGE-BANDWIDTH=360000,RESOLUTION=426x240,FRAME-RATE=30.000,CODECS="avc1.4d401e,mp4a.40.2"',
        '240p/playlist.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=720000,AVERAGE-BANDWIDTH=540000,RESOLUTION=640x360,FRAME-RATE=30.000,CODECS="avc1.4d401e,mp4a.40.2"',
        '360p/playlist.m3u8',
        '',
      ].join('\n'),
    );
  });

  it('serves VOD media playlists from segmentDurations', async () => {
    const { base } = await signedVideo({ rungs: [{ name: '240p', height: 240, durations: [6.006, 5.9994, 2.5] }] });
    const res = await api(`${base}240p/playlist.m3u8`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/vnd.apple.mpegurl');
    expect(await res.text()).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:6',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXTINF:6.006,',
        'segment_0000.ts',
        '#EXTINF:5.999,',
        'segment_0001.ts',
        '#EXTINF:2.500,',
        'segment_0002.ts',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });

  it('lists only finished rungs while processing, with a short cache lifetime', async () => {
    const { id, base } = await signedVideo({ status: 'PROCESSING', rungs: [{ name: '240p', height: 240, durations: [2, 2] }] });
    const first = await api(`${base}master.m3u8`);
    expect((await api(`${base}master.m3u8`, { method: 'HEAD' })).headers.get('Cache-Control')).toBe(defaults.playback.processingCacheControl);
    const text = await first.text();
    expect(text).toContain('240p/playlist.m3u8');
    expect(text).not.toContain('360p');
    // The unfinished rung is not playable either.
    expect((await api(`${base}360p/playlist.m3u8`)).status).toBe(404);
    await addRendition(id, { name: '360p', height: 360, durations: [2, 2] });
    // Misses reuse a video's state for stateTtlMs (2 s) per isolate; after that the new rung is playable.
    const restore = setRuntime({ now: () => Date.now() + defaults.playback.stateTtlMs + 1 });
    try {
      expect((await api(`${base}360p/playlist.m3u8`)).status).toBe(200);
    } finally {
      restore();
    }
  });

  it('answers If-None-Match with 304 and HEAD without a body', async () => {
    const { base } = await signedVideo();
    const first = await api(`${base}master.m3u8`);
    const etag = first.headers.get('ETag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    await first.arrayBuffer();
    const again = await api(`${base}master.m3u8`, { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('ETag')).toBe(etag);
    const head = await api(`${base}master.m3u8`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('Content-Type')).toBe('application/vnd.apple.mpegurl');
    expect(await head.text()).toBe('');
  });
});

describe('segments and thumbnails', () => {
  it('streams a segment from R2 on a miss, then serves the cached copy', async () => {
    const { id, base } = await signedVideo();
    const miss = await api(`${base}360p/segment_0001.ts`);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('X-Cache')).toBe('MISS');
    expect(miss.headers.get('Content-Type')).toBe('video/mp2t');
    expect(miss.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    expect(miss.headers.get('Content-Length')).toBe('4096');
    expect(await bytes(miss)).toEqual(segmentBytes(id, '360p', 1));
    const hit = await api(`${base}360p/segment_0001.ts`);
    expect(hit.headers.get('X-Cache')).toBe('HIT');
    expect(hit.headers.get('ETag')).toBe(miss.headers.get('ETag'));
    expect(await bytes(hit)).toEqual(segmentBytes(id, '360p', 1));
  });

  it('serves a growing rung\'s new segment at once, though the video\'s state was read just before it existed', async () => {
    const { id, base } = await signedVideo({ status: 'PROCESSING', rungs: [{ name: '240p', height: 240, durations: [2, 2], complete: false }] });
    expect((await api(`${base}240p/segment_0001.ts`)).status).toBe(200);
    // The rung grows (as the live ladder or a chunk's completion writes it), and a playlist read fresh lists segment 2.
    await env.MEDIA.put(keys.segment(id, '240p', 2), segmentBytes(id, '240p', 2));
    const grows = { videoId: id, name: '240p', width: 426, height: 240, codecs: 'avc1.4d401e,mp4a.40.2', segmentDurations: [2, 2, 2], totalBytes: 3 * 4096, peakBandwidth: 16_384, discontinuities: [], windowStart: 0, gapFrom: null };
    await recordLiveRung(env, openDb(env.DB), grows, false);
    expect(await (await api(`${base}240p/playlist.m3u8`)).text()).toContain('segment_0002.ts');
    const grown = await api(`${base}240p/segment_0002.ts`);
    expect(grown.status).toBe(200);
    expect(await bytes(grown)).toEqual(segmentBytes(id, '240p', 2));
    // Past the end is still refused.
    expect((await api(`${base}240p/segment_0003.ts`)).status).toBe(404);
  });

  it('serves one cached copy to every viewer, whatever their token', async () => {
    const { id, base } = await signedVideo();
    await (await api(`${base}240p/segment_0000.ts`)).arrayBuffer();
    const otherViewer = signedBase(await signedMasterPath(id, undefined, '?ttl=120'));
    expect(otherViewer).not.toBe(base);
    const res = await api(`${otherViewer}240p/segment_0000.ts`);
    expect(res.headers.get('X-Cache')).toBe('HIT');
    await res.arrayBuffer();
  });

  it('collapses concurrent misses on one segment into one R2 read', async () => {
    const { id, base } = await signedVideo({ segmentSize: 512 * 1024 });
    const before = originStats.reads;
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await api(`${base}240p/segment_0002.ts`);
        return { res, body: await bytes(res) };
      }),
    );
    const responses = results.map((r) => r.res);
    const bodies = results.map((r) => r.body);
    expect(originStats.reads - before).toBe(1);
    const expected = await digest(segmentBytes(id, '240p', 2, 512 * 1024));
    for (const body of bodies) expect(await digest(body)).toBe(expected);
    expect(responses.map((r) => r.headers.get('X-Cache')).sort()).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'MISS']);
  });

  it('keeps a hot segment in isolate memory after its second request (no Cache API subrequest)', async () => {
    const { id, base } = await signedVideo();
    await (await api(`${base}240p/segment_0001.ts`)).arrayBuffer(); // MISS: R2 → Cache API
    await (await api(`${base}240p/segment_0001.ts`)).arrayBuffer(); // HIT: Cache API, copied to memory
    await new Promise((r) => setTimeout(r, 50));
    await (caches as unknown as { default: Cache }).default.delete(cacheUrl(`/v/${id}/240p/segment_0001.ts`));
    const fromMemory = await api(`${base}240p/segment_0001.ts`);
    expect(fromMemory.headers.get('X-Cache')).toBe('HIT');
    expect(await bytes(fromMemory)).toEqual(segmentBytes(id, '240p', 1));
    const ranged = await api(`${base}240p/segment_0001.ts`, { headers: { Range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(await bytes(ranged)).toEqual(segmentBytes(id, '240p', 1).slice(10, 20));
  });

  it('answers Range with 206 from the cache, on a miss and on a hit', async () => {
    const { id, base } = await signedVideo();
    const full = segmentBytes(id, '240p', 0);
    const first = await api(`${base}240p/segment_0000.ts`, { headers: { Range: 'bytes=100-199' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('Content-Range')).toBe('bytes 100-199/4096');
    expect(first.headers.get('Content-Length')).toBe('100');
    expect(await bytes(first)).toEqual(full.slice(100, 200));
    const suffix = await api(`${base}240p/segment_0000.ts`, { headers: { Range: 'bytes=-10' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('X-Cache')).toBe('HIT');
    expect(await bytes(suffix)).toEqual(full.slice(4086));
    const open = await api(`${base}240p/segment_0000.ts`, { headers: { Range: 'bytes=4000-' } });
    expect(open.headers.get('Content-Range')).toBe('bytes 4000-4095/4096');
    expect(await bytes(open)).toEqual(full.slice(4000));
    const clamped = await api(`${base}240p/segment_0000.ts`, { headers: { Range: 'bytes=4090-999999' } });
    expect(clamped.status).toBe(206);
    expect(await bytes(clamped)).toEqual(full.slice(4090));
  });

  it.each([
    ['a start past the end', 'bytes=4096-'],
    ['a huge start', 'bytes=99999999999999999999-'],
    ['an empty suffix', 'bytes=-0'],
  ])('answers %s with 416', async (_what, range) => {
    const { base } = await signedVideo();
    await (await api(`${base}240p/segment_0000.ts`)).arrayBuffer();
    const res = await api(`${base}240p/segment_0000.ts`, { headers: { Range: range } });
    expect(res.status).toBe(416);
    expect(res.headers.get('Content-Range')).toBe('bytes */4096');
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('range_not_satisfiable');
  });

  it.each([
    ['garbage', 'lots-of-bytes-please'],
    ['another unit', 'items=0-10'],
    ['reversed bounds', 'bytes=50-10'],
    ['several ranges', 'bytes=0-1,5-9,20-30'],
    ['an absurdly long header', `bytes=${'0-1,'.repeat(500)}2-3`],
    ['a negative start', 'bytes=--5'],
  ])('ignores %s in Range and returns the whole segment', async (_what, range) => {
    const { id, base } = await signedVideo();
    const res = await api(`${base}240p/segment_0001.ts`, { headers: { Range: range } });
    expect(res.status).toBe(200);
    expect(await bytes(res)).toEqual(segmentBytes(id, '240p', 1));
  });

  it('answers If-None-Match on a segment with 304, and HEAD with headers only', async () => {
    const { base } = await signedVideo();
    const first = await api(`${base}240p/segment_0000.ts`);
    await first.arrayBuffer();
    const etag = first.headers.get('ETag')!;
    const cond = await api(`${base}240p/segment_0000.ts`, { headers: { 'If-None-Match': `"other", ${etag}` } });
    expect(cond.status).toBe(304);
    const stale = await api(`${base}240p/segment_0000.ts`, { headers: { 'If-None-Match': '"other"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const head = await api(`${base}360p/segment_0000.ts`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('Content-Type')).toBe('video/mp2t');
    expect(head.headers.get('ETag')).toBeTruthy();
    expect(head.headers.get('Content-Length')).toBe('4096');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('is 404 for a finished rung whose segment object is missing in R2', async () => {
    const { id, base } = await signedVideo();
    await env.MEDIA.delete(keys.segment(id, '240p', 1));
    const res = await api(`${base}240p/segment_0001.ts`);
    expect(res.status).toBe(404);
    expect(res.headers.get('X-Cache')).toBeNull();
  });

  it('serves thumbnails; the storyboard references sprites relatively, so they carry the token', async () => {
    const { id, base } = await signedVideo();
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    await env.MEDIA.put(keys.thumbnail(id, 'poster.jpg'), jpeg);
    await env.MEDIA.put(keys.thumbnail(id, 'sprite_0.jpg'), jpeg);
    await env.MEDIA.put(keys.thumbnail(id, 'storyboard.vtt'), 'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite_0.jpg#xywh=0,0,160,90\n');
    const poster = await api(`${base}thumbnails/poster.jpg`);
    expect(poster.status).toBe(200);
    expect(poster.headers.get('Content-Type')).toBe('image/jpeg');
    expect(await bytes(poster)).toEqual(jpeg);
    const vtt = await api(`${base}thumbnails/storyboard.vtt`);
    expect(vtt.headers.get('Content-Type')).toMatch(/^text\/vtt/);
    const cue = (await vtt.text()).split('\n').find((l) => l.startsWith('sprite_'))!;
    const spriteUrl = new URL(cue, `https://player.example${base}thumbnails/storyboard.vtt`);
    expect(spriteUrl.pathname).toBe(`${base}thumbnails/sprite_0.jpg`);
    const sprite = await api(spriteUrl.pathname);
    expect(sprite.status).toBe(200);
    expect((await api(`${base}thumbnails/sprite_1.jpg`)).status).toBe(404);
  });
});

describe('CORS', () => {
  it('answers preflight for Range requests from other origins', async () => {
    const res = await api('/v/vid_x/t/k1.1.2.abc/240p/segment_0000.ts', {
      method: 'OPTIONS',
      headers: { Origin: 'http://player.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Allow-Methods')).toBe('GET, HEAD, OPTIONS');
    expect(res.headers.get('Access-Control-Allow-Headers')).toContain('Range');
  });

  it('exposes Content-Length and Content-Range on responses', async () => {
    const { base } = await signedVideo();
    const res = await api(`${base}240p/segment_0000.ts`, { headers: { Origin: 'http://player.example', Range: 'bytes=0-9' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    const exposed = res.headers.get('Access-Control-Expose-Headers')!;
    for (const h of ['Content-Length', 'Content-Range', 'X-Cache']) expect(exposed).toContain(h);
    await res.arrayBuffer();
  });
});

// Last in the file: its leader's origin stream stays stalled (its Cache API write never completes), and the
// warming of a video made READY after it waited on that write.
describe('single flight', () => {
  it('does not let a slow first viewer stall the others: followers wait a bounded time, then read the origin', async () => {
    const key = cacheUrl(`/v/vid_slowleader${Date.now()}/240p/segment_0000.ts`);
    const headers = () => new Headers({ 'Content-Type': 'video/mp2t', 'Content-Length': '8' });
    // The leader's origin stream sends 4 of its 8 bytes and then stalls, like a slow upstream or client.
    let stalled!: ReadableStreamDefaultController<Uint8Array>;
    const leader = await serveThroughCache(
      new Request('http://x/'),
      key,
      async () => ({ body: new ReadableStream({ start: (c) => ((stalled = c), c.enqueue(new Uint8Array([1, 2, 3, 4]))) }), headers: headers() }),
      { waitUntil: () => {}, followerWaitMs: 100, hot: defaults.playback.hotCache },
    );
    expect(leader.headers.get('X-Cache')).toBe('MISS');
    // The leader never finishes, so a follower that returns at all gave up waiting for it.
    const follower = await serveThroughCache(
      new Request('http://x/'),
      key,
      async () => ({ body: new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9])), c.close()) }), headers: headers() }),
      { waitUntil: () => {}, followerWaitMs: 100, hot: defaults.playback.hotCache },
    );
    expect(follower.headers.get('X-Cache')).toBe('MISS');
    expect(await bytes(follower)).toEqual(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));
    // The leader's origin finishes, so its copy into the Cache API ends too instead of holding the cache.
    stalled.enqueue(new Uint8Array([5, 6, 7, 8]));
    stalled.close();
    expect(await bytes(leader)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, newCreator, newVideo } from './helpers';
import { fakeClock, ownerStats, playableVideo, view, viewJson } from './views-helpers';
import { forgetShardPlan } from '../../workers/views/routing';

let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

describe('POST /v1/videos/:id/views — what counts', () => {
  it('counts a 30 s watch of a long video, and says why a shorter one does not count', async () => {
    const { id } = await playableVideo(600);
    expect(await viewJson(id, { viewerId: 'alice', watchDuration: 30, videoDuration: 600 })).toEqual({ status: 200, body: { counted: true } });
    expect(await viewJson(id, { viewerId: 'bob', watchDuration: 29.9, videoDuration: 600 })).toEqual({
      status: 200,
      body: { counted: false, reason: 'too_short' },
    });
  });

  it('counts 50% of a video shorter than 60 s, not less', async () => {
    const { id } = await playableVideo(20);
    expect((await viewJson(id, { viewerId: 'a', watchDuration: 10, videoDuration: 20 })).body).toEqual({ counted: true });
    expect((await viewJson(id, { viewerId: 'b', watchDuration: 9.5, videoDuration: 20 })).body).toEqual({ counted: false, reason: 'too_short' });
  });

  it('judges by the stored duration and refuses a client duration that disagrees with it', async () => {
    const { id } = await playableVideo(600);
    // 16 s would be "50%" of a claimed 30 s video; the stored 600 s says otherwise.
    const res = await viewJson(id, { viewerId: 'c', watchDuration: 16, videoDuration: 30 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad_request', message: expect.stringContaining('does not match') } });
    // Omitting videoDuration uses the stored one.
    expect((await viewJson(id, { viewerId: 'c', watchDuration: 16 })).body).toEqual({ counted: false, reason: 'too_short' });
  });

  // Without a stored duration nothing has been analysed, so nothing can
  // have been played; the client's videoDuration alone does not make a view count.
  it('does not count a video without a stored duration, whatever videoDuration the client claims', async () => {
    const { id } = await playableVideo(null);
    expect((await viewJson(id, { viewerId: 'd', watchDuration: 6, videoDuration: 10 })).body).toEqual({ counted: false, reason: 'not_playable' });
    expect((await viewJson(id, { viewerId: 'e', watchDuration: 0.1, videoDuration: 0.1 })).body).toEqual({ counted: false, reason: 'not_playable' });
  });

  it("does not count the creator's own views", async () => {
    const { id, token } = await playableVideo(120);
    expect((await viewJson(id, { viewerId: 'owner', watchDuration: 60 }, { token })).body).toEqual({ counted: false, reason: 'creator' });
  });

  it('does not count views of a video that is not playable yet', async () => {
    // Still uploading: nothing moves a video back there, so a new one.
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    expect((await viewJson(id, { viewerId: 'x', watchDuration: 60 })).body).toEqual({ counted: false, reason: 'not_playable' });
  });

  it('deduplicates replays within 30 minutes and counts again after the window', async () => {
    clock = fakeClock(Date.UTC(2026, 0, 5, 10, 0));
    const { id } = await playableVideo(120);
    const event = { viewerId: 'replayer', watchDuration: 45, videoDuration: 120 };
    expect((await viewJson(id, event)).body).toEqual({ counted: true });
    expect((await viewJson(id, event)).body).toEqual({ counted: false, reason: 'duplicate' });
    clock.advance(29 * 60_000);
    expect((await viewJson(id, event)).body).toEqual({ counted: false, reason: 'duplicate' });
    clock.advance(2 * 60_000);
    expect((await viewJson(id, event)).body).toEqual({ counted: true });
  });

  it('takes the viewer id from the evv cookie, and without any id answers 400 with a cookie to use', async () => {
    const { id } = await playableVideo(120);
    const missing = await view(id, { watchDuration: 40 });
    expect(missing.status).toBe(400);
    const setCookie = missing.headers.get('Set-Cookie') ?? '';
    expect(setCookie).toMatch(/^evv=vw_[0-9a-z]{16}; Path=\/; .*HttpOnly/);
    const cookie = setCookie.split(';')[0]!;
    expect((await viewJson(id, { watchDuration: 40 }, { headers: { Cookie: cookie } })).body).toEqual({ counted: true });
    expect((await viewJson(id, { watchDuration: 40 }, { headers: { Cookie: cookie } })).body).toEqual({ counted: false, reason: 'duplicate' });
  });
});

describe('POST /v1/videos/:id/views — bad input', () => {
  it.each([
    ['a negative watch', { viewerId: 'v', watchDuration: -1 }],
    ['a NaN watch (string)', { viewerId: 'v', watchDuration: 'NaN' }],
    ['a missing watch', { viewerId: 'v' }],
    ['an absurd watch (longer than video + slack)', { viewerId: 'v', watchDuration: 200, videoDuration: 120 }],
    ['a zero videoDuration', { viewerId: 'v', watchDuration: 40, videoDuration: 0 }],
    ['a non-string viewerId', { viewerId: 7, watchDuration: 40 }],
    ['a viewerId with unsafe characters', { viewerId: 'a b/c', watchDuration: 40 }],
    ['an unknown field', { viewerId: 'v', watchDuration: 40, counted: true }],
  ])('rejects %s with 400', async (_what, body) => {
    const { id } = await playableVideo(120);
    const res = await viewJson(id, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('rejects NaN and Infinity smuggled as JSON numbers (malformed JSON) with 400', async () => {
    const { id } = await playableVideo(120);
    for (const raw of ['{"viewerId":"v","watchDuration":NaN}', '{"viewerId":"v","watchDuration":1e999}', '{"viewerId":', '[1]']) {
      const res = await api(`/v1/videos/${id}/views`, { method: 'POST', body: raw, headers: { 'Content-Type': 'application/json' } });
      expect(res.status, raw).toBe(400);
    }
  });

  it('rejects oversized bodies with 413, with or without Content-Length', async () => {
    const { id } = await playableVideo(120);
    const big = JSON.stringify({ viewerId: 'v', watchDuration: 40, pad: 'x'.repeat(10_000) });
    const res = await api(`/v1/videos/${id}/views`, { method: 'POST', body: big, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < 10; i++) ctrl.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        ctrl.close();
      },
    });
    const chunked = await api(`/v1/videos/${id}/views`, { method: 'POST', body: stream, headers: { 'Content-Type': 'application/json' } });
    expect(chunked.status).toBe(413);
  });

  it('answers 404 for unknown, malformed and deleted videos', async () => {
    const { id, token } = await playableVideo(120);
    expect((await view('vid_doesnotexist0000', { viewerId: 'v', watchDuration: 40 })).status).toBe(404);
    expect((await view('bad%20id', { viewerId: 'v', watchDuration: 40 })).status).toBe(404);
    expect((await api(`/v1/videos/${id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await view(id, { viewerId: 'v', watchDuration: 40 })).status).toBe(404);
  });

  it('rate-limits a flood from one viewer with 429 and counts nothing extra', async () => {
    clock = fakeClock(Date.UTC(2026, 0, 5, 11, 0));
    const { id } = await playableVideo(120);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await view(id, { viewerId: 'flooder', watchDuration: 40 })).status);
    expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(12).every((s) => s === 429)).toBe(true);
    const limited = await view(id, { viewerId: 'flooder', watchDuration: 40 });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    // Other viewers are unaffected; the flooder counted once.
    expect((await viewJson(id, { viewerId: 'calm', watchDuration: 40 })).body).toEqual({ counted: true });
    const stats = await (await ownerStats(id)).json<{ views: number }>();
    expect(stats.views).toBe(2);
  });
});

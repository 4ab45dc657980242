/**
 * Views tied to playback sessions: a beacon counts only with a valid session for the video, no more
 * watching than the session's age, something playable, and one view per session; per-address allowances.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, moveVideoTo } from './helpers';
import { addRendition, DEFAULT_RUNGS, playableVideo as renderedVideo } from './playback-fixtures';
import { fakeClock, freshAddress, ownerStats, view, playableVideo, sessionFor, viewCount, viewJson } from './views-helpers';
import { invalidateVideo } from '../../workers/metadata/cache';
import { forgetShardPlan } from '../../workers/views/routing';
import type { ClientLimiter } from '../../workers/views/client-limiter';
import { clientKey } from '../../workers/views/allowances';

let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

async function viewRes(id: string, address: string): Promise<Response> {
  return view(id, { viewerId: 'late', watchDuration: 40 }, { headers: { 'CF-Connecting-IP': address } });
}

/** The live count, read as the video's creator (`token` for a video made by playback-fixtures). */
async function liveViews(id: string, token?: string): Promise<number> {
  const res = token ? await api(`/v1/videos/${id}/stats`, { token }) : await ownerStats(id);
  return (await res.json<{ views: number }>()).views;
}

describe('GET /v1/videos/:id/playback issues a session', () => {
  it('returns a fresh signed session per call, and a beacon with it counts once', async () => {
    const { id, token } = await renderedVideo({ status: 'UPLOADING' });
    await moveVideoTo(id, 'READY', { duration: 120 });
    clock = fakeClock(Date.now());
    const first = await (await api(`/v1/videos/${id}/playback`)).json<{ session: string }>();
    const second = await (await api(`/v1/videos/${id}/playback`)).json<{ session: string }>();
    expect(first.session).toMatch(/^k1\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(second.session).not.toBe(first.session);
    // Thirty seconds of real playback later (on the injected clock), the 30 s watch counts.
    clock.advance(31_000);
    expect((await viewJson(id, { viewerId: 'pat', watchDuration: 30, session: first.session })).body).toEqual({ counted: true });
    expect(await liveViews(id, token)).toBe(1);
  });
});

describe('POST /v1/videos/:id/views — sessions', () => {
  it('never counts a beacon without a session, or with one that is not valid for this video', async () => {
    const { id } = await playableVideo(600);
    const other = await playableVideo(600);
    const good = await sessionFor(id);
    const [kid, sid, start, sig] = good.split('.') as [string, string, string, string];
    const playbackToken = new URL((await (await api(`/v1/videos/${id}/playback`)).json<{ url?: string }>()).url ?? 'http://x/v/a/t/k1.1.2.x/').pathname;
    const cases: [unknown, string][] = [
      [undefined, 'session_missing'],
      [null, 'session_missing'],
      [await sessionFor(other.id), 'session_invalid'],
      [`${kid}.${sid}.${Number(start) + 1}.${sig}`, 'session_invalid'],
      [`${kid}.${sid}.0${start}.${sig}`, 'session_invalid'],
      [`${kid}.${sid}.${start}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`, 'session_invalid'],
      [`k9.${sid}.${start}.${sig}`, 'session_invalid'],
      [playbackToken, 'session_invalid'],
      ['garbage', 'session_invalid'],
    ];
    for (const [session, reason] of cases) {
      const body = session === undefined ? { viewerId: 'v', watchDuration: 60, session: undefined } : { viewerId: 'v', watchDuration: 60, session };
      expect((await viewJson(id, body)).body, String(session)).toEqual({ counted: false, reason });
    }
    expect((await viewJson(id, { viewerId: 'v', watchDuration: 60, session: 42 })).status).toBe(400);
    expect(await liveViews(id)).toBe(0);
    expect((await viewJson(id, { viewerId: 'v', watchDuration: 60, session: good })).body).toEqual({ counted: true });
  });

  it('refuses more watching than the session has existed for (plus the skew), and counts once the time is real', async () => {
    const { id } = await playableVideo(600);
    clock = fakeClock(Date.now());
    const session = await sessionFor(id, 0);
    clock.advance(2_000);
    expect((await viewJson(id, { viewerId: 'w', watchDuration: 30, session })).body).toEqual({ counted: false, reason: 'watch_exceeds_session' });
    clock.advance(24_000); // 26 s elapsed + 5 s skew ≥ 30 s
    expect((await viewJson(id, { viewerId: 'w', watchDuration: 30, session })).body).toEqual({ counted: true });
  });

  it('refuses a session past its lifetime, and one from the future', async () => {
    const { id } = await playableVideo(600);
    clock = fakeClock(Date.now());
    const old = await sessionFor(id, 13 * 3_600_000);
    expect((await viewJson(id, { viewerId: 'x', watchDuration: 60, session: old })).body).toEqual({ counted: false, reason: 'session_expired' });
    const future = await sessionFor(id, -60_000);
    expect((await viewJson(id, { viewerId: 'x', watchDuration: 0.5, session: future })).body).toEqual({ counted: false, reason: 'session_invalid' });
  });

  it('counts one view per session, whatever viewer ids it is used with', async () => {
    const { id } = await playableVideo(600);
    const session = await sessionFor(id);
    expect((await viewJson(id, { viewerId: 'first', watchDuration: 40, session })).body).toEqual({ counted: true });
    for (let i = 0; i < 5; i++) {
      expect((await viewJson(id, { viewerId: `made-up-${i}`, watchDuration: 40, session })).body).toEqual({ counted: false, reason: 'session_used' });
    }
    // A beacon that does not count (a duplicate viewer) does not use up its session.
    const spare = await sessionFor(id);
    expect((await viewJson(id, { viewerId: 'first', watchDuration: 40, session: spare })).body).toEqual({ counted: false, reason: 'duplicate' });
    expect((await viewJson(id, { viewerId: 'second', watchDuration: 40, session: spare })).body).toEqual({ counted: true });
    expect(await liveViews(id)).toBe(2);
  });

  it('does not count a processing video with nothing playable, even with a valid session and a tiny client duration', async () => {
    const { id } = await playableVideo(null);
    await moveVideoTo(id, 'PROCESSING');
    expect((await viewJson(id, { viewerId: 'p', watchDuration: 0.1, videoDuration: 0.1 })).body).toEqual({ counted: false, reason: 'not_playable' });
    // Once a rendition is finished and the duration is stored, the stored duration decides.
    await addRendition(id, DEFAULT_RUNGS[0]!);
    // The stored duration, as analysis records it (the move re-reads and invalidates the cached row).
    await moveVideoTo(id, 'PROCESSING', { duration: 600 });
    await invalidateVideo(id);
    expect((await viewJson(id, { viewerId: 'p', watchDuration: 0.1 })).body).toEqual({ counted: false, reason: 'too_short' });
    expect((await viewJson(id, { viewerId: 'p', watchDuration: 30 })).body).toEqual({ counted: true });
  });
});

describe('per-address allowances', () => {
  it('counts at most the allowance of views per video from one address (429 with Retry-After), others unaffected', async () => {
    const { id } = await playableVideo(600);
    const allowance = 50; // VIEWS_PER_ADDRESS_PER_VIDEO default
    const office = '198.51.100.7';
    let counted = 0;
    let limited = 0;
    for (let i = 0; i < allowance + 10; i++) {
      const res = await viewJson(id, { viewerId: `colleague-${i}`, watchDuration: 40 }, { headers: { 'CF-Connecting-IP': office } });
      if (res.body.counted === true) counted++;
      else if (res.status === 429) limited++;
    }
    expect({ counted, limited }).toEqual({ counted: allowance, limited: 10 });
    const refused = await viewJson(id, { viewerId: 'one-more', watchDuration: 40 }, { headers: { 'CF-Connecting-IP': office } });
    expect(refused.status).toBe(429);
    expect(Number((await viewRes(id, office)).headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ error: { code: 'rate_limited' } });
    // Another address, and the same address on another video, still count.
    expect((await viewJson(id, { viewerId: 'elsewhere', watchDuration: 40 })).body).toEqual({ counted: true });
    const other = await playableVideo(600);
    expect((await viewJson(other.id, { viewerId: 'colleague-0', watchDuration: 40 }, { headers: { 'CF-Connecting-IP': office } })).body).toEqual({ counted: true });
    expect(await liveViews(id)).toBe(allowance + 1);
  });

  it('a duplicate or too-short beacon does not spend the allowance', async () => {
    const { id } = await playableVideo(600);
    const address = freshAddress();
    const from = { headers: { 'CF-Connecting-IP': address } };
    expect((await viewJson(id, { viewerId: 'same', watchDuration: 40 }, from)).body).toEqual({ counted: true });
    // 55 more beacons of that viewer (over the allowance of 50): duplicates or rate-limited, none spending it.
    const replays = await Promise.all(Array.from({ length: 55 }, (_, i) => viewJson(id, { viewerId: 'same', watchDuration: i % 2 ? 40 : 5 }, from)));
    expect(replays.every((r) => r.body.counted !== true)).toBe(true);
    expect((await viewJson(id, { viewerId: 'new', watchDuration: 40 }, { headers: { 'CF-Connecting-IP': address } })).body).toEqual({ counted: true });
    expect(await viewCount(id)).toBe(0); // not flushed yet; the live figure is:
    expect(await liveViews(id)).toBe(2);
  });

  it('the limiter takes exactly the allowance under concurrency, and a new window starts afresh', async () => {
    clock = fakeClock(Date.UTC(2026, 0, 1, 10, 0, 0));
    const stub = env.CLIENT_LIMITER.get(env.CLIENT_LIMITER.idFromName('203.0.113.9')) as DurableObjectStub<ClientLimiter>;
    const results = await Promise.all(Array.from({ length: 40 }, () => stub.take('sessions', 25, 600)));
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(25);
    const limited = results.find((r) => r.status === 'limited');
    expect(limited).toEqual({ status: 'limited', retryAfterSec: 600 });
    clock.advance(600_000);
    expect((await stub.take('sessions', 25, 600)).status).toBe('ok');
  });

  it('keys clients by CF-Connecting-IP, IPv6 by its /64', () => {
    const req = (ip?: string) => new Request('http://x/', { headers: ip ? { 'CF-Connecting-IP': ip } : {} });
    expect(clientKey(req('192.0.2.1'))).toBe('192.0.2.1');
    expect(clientKey(req('2001:db8:1:2:aaaa::1'))).toBe('2001:db8:1:2::/64');
    expect(clientKey(req('2001:DB8:1:2:ffff:0:0:9'))).toBe('2001:db8:1:2::/64');
    expect(clientKey(req('2001:db8::1'))).toBe('2001:db8:0:0::/64');
    expect(clientKey(req())).toBe('local');
    expect(clientKey(req('not an ip'))).toBe('invalid');
  });
});

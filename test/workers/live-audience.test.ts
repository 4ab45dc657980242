/**
 * Concurrent viewers of a live broadcast: players playing it ping `POST /v1/videos/:id/watching` with their playback
 * session; the creator reads distinct sessions per minute from `GET /v1/videos/:id/audience`, during the broadcast
 * and after (minutes older than the last two are folded into one row each).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, moveVideoTo, newCreator } from './helpers';
import { addRendition } from './playback-fixtures';
import { fakeClock, playableVideo, sessionFor } from './views-helpers';
import { openDb } from '../../workers/shared/db';
import { insertLiveVideo } from '../../workers/metadata/video-state';
import { newId } from '../../workers/shared/runtime';

let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
});

async function broadcast(): Promise<{ id: string; token: string }> {
  const { creatorId, token } = await newCreator('broadcaster');
  const id = newId('vid');
  await insertLiveVideo(openDb(env.DB), { id, creatorId, title: 'on air', createdAt: Date.now(), liveInputId: newId('live'), width: 640, height: 360 });
  await addRendition(id, { name: '360p', height: 360, durations: [2, 2], complete: false });
  return { id, token };
}

const ping = async (id: string, session: string | null) => (await api(`/v1/videos/${id}/watching`, { method: 'POST', json: { session } })).json();
const audience = async (id: string, token: string) => (await api(`/v1/videos/${id}/audience`, { token })).json<{ peak: number; perMinute: { minute: string; viewers: number }[] }>();

describe('concurrent viewers of a live broadcast', () => {
  it('counts distinct playback sessions per minute, and keeps the figures as minutes pass', async () => {
    const { id, token } = await broadcast();
    const start = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
    clock = fakeClock(start);
    const sessions = [await sessionFor(id, 60_000), await sessionFor(id, 60_000), await sessionFor(id, 60_000)];
    for (const s of sessions) expect(await ping(id, s)).toEqual({ counted: true });
    // The same session again in the same minute is the same viewer.
    expect(await ping(id, sessions[0]!)).toEqual({ counted: true });
    clock.advance(60_000);
    expect(await ping(id, sessions[1]!)).toEqual({ counted: true });
    clock.advance(180_000);
    expect(await ping(id, sessions[2]!)).toEqual({ counted: true });
    const minute = (n: number) => new Date(start - 5_000 + n * 60_000).toISOString();
    expect(await audience(id, token)).toEqual({
      videoId: id,
      peak: 3,
      perMinute: [
        { minute: minute(0), viewers: 3 },
        { minute: minute(1), viewers: 1 },
        { minute: minute(4), viewers: 1 },
      ],
    });
  });

  it('refuses pings without a valid session or for a video that is not on air, and shows the audience to its creator only', async () => {
    const { id, token } = await broadcast();
    expect(await ping(id, null)).toEqual({ counted: false, reason: 'session_missing' });
    expect(await ping(id, 'k1.x.1.y')).toEqual({ counted: false, reason: 'session_invalid' });
    const other = await playableVideo(120);
    expect(await ping(id, await sessionFor(other.id))).toEqual({ counted: false, reason: 'session_invalid' });
    expect(await ping(other.id, await sessionFor(other.id))).toEqual({ counted: false, reason: 'not_live' });
    const bad = await api(`/v1/videos/${id}/watching`, { method: 'POST', json: { session: 'a', extra: 1 } });
    expect(bad.status).toBe(400);
    expect((await api(`/v1/videos/${id}/audience`, { token: other.token })).status).toBe(403);
    expect((await api(`/v1/videos/${id}/audience`)).status).toBe(401);
    expect(await audience(id, token)).toEqual({ videoId: id, peak: 0, perMinute: [] });
    // Ended: the recording is READY and pings no longer count.
    await moveVideoTo(id, 'READY', { duration: 4 });
    expect(await ping(id, await sessionFor(id))).toEqual({ counted: false, reason: 'not_live' });
  });
});

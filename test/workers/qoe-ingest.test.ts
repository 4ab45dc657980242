/**
 * QoE beacons: what counts (a verified playback session of this video, figures that fit its life), one record per
 * session (a later seq replaces the earlier), the hourly flush into D1 exactly once (a crash after the D1 write
 * replays nothing), late records correcting their hour, and bad input refused with a clear error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { api } from './helpers';
import { fakeClock, playableVideo, sessionFor } from './views-helpers';
import { beacon, beaconJson, record, report, runShardAlarms, storedViews } from './qoe-helpers';
import { forgetShardPlan, shardStub } from '../../workers/views/routing';
import { faultsOf } from './test-objects';

const HOUR = 3_600_000;
let clock: ReturnType<typeof fakeClock> | null = null;
afterEach(() => {
  clock?.restore();
  clock = null;
  forgetShardPlan();
});

describe('QoE beacons', () => {
  it('counts one record per verified session, the latest replacing the earlier', async () => {
    const { id, token } = await playableVideo(120);
    const session = await sessionFor(id, 60_000);
    expect(await beaconJson(id, [record(session, { seq: 0, watchedMs: 10_000 })])).toEqual({ accepted: 1, rejected: [] });
    // The page was hidden, then closed: the second record has the whole session and replaces the first.
    expect(await beaconJson(id, [record(session, { seq: 1, watchedMs: 30_000, rebufferCount: 1, stalledMs: 1500 })])).toEqual({ accepted: 1, rejected: [] });
    // A record older than the one kept changes nothing.
    expect(await beaconJson(id, [record(session, { seq: 0, watchedMs: 5_000 })])).toEqual({ accepted: 0, rejected: [{ index: 0, reason: 'stale' }] });

    const { totals } = await report(`/v1/videos/${id}/qoe`, token);
    expect(totals).toMatchObject({ views: 1, startedViews: 1, rebufferCount: 1, stalledMs: 1500, watchedMs: 30_000, rebufferRatio: 0.05, averageBitrate: 1_000_000 });
    // 800 ms lies in the bucket [740, 814) ms, reported as its geometric middle.
    expect(totals.startupP50Ms).toBe(776);
  });

  it('does not count records without a valid session of this video, or with more time than the session has lived', async () => {
    const { id, token } = await playableVideo(120);
    const other = await playableVideo(120);
    const valid = await sessionFor(id, 10_000);
    const forged = valid.slice(0, -2) + (valid.endsWith('AA') ? 'AB' : 'AA');
    const expired = await sessionFor(id, 13 * HOUR);
    const result = await beaconJson(id, [
      record('not-a-session'),
      record(forged),
      record(await sessionFor(other.id)),
      record(expired),
      // 10 s into its session, a record cannot have played 30 s.
      record(valid, { watchedMs: 30_000 }),
    ]);
    expect(result).toEqual({
      accepted: 0,
      rejected: [
        { index: 0, reason: 'session_invalid' },
        { index: 1, reason: 'session_invalid' },
        { index: 2, reason: 'session_invalid' },
        { index: 3, reason: 'session_expired' },
        { index: 4, reason: 'exceeds_session' },
      ],
    });
    expect((await report(`/v1/videos/${id}/qoe`, token)).totals.views).toBe(0);
  });

  it('refuses malformed, oversized and out-of-range beacons as a whole, with the problem named', async () => {
    const { id } = await playableVideo(120);
    const session = await sessionFor(id);
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['not JSON', '{records: ', 400, /valid JSON/],
      ['not an object', '[1]', 400, /JSON object/],
      ['no records', { records: [] }, 400, /1 to 8 records/],
      ['nine records', { records: Array.from({ length: 9 }, (_, i) => record(session, { seq: i })) }, 400, /1 to 8 records/],
      ['an unknown field', { records: [{ ...record(session), extra: 1 }] }, 400, /unknown field/],
      ['a missing figure', { records: [{ ...record(session), watchedMs: undefined }] }, 400, /watchedMs/],
      ['a negative time', { records: [record(session, { stalledMs: -1 })] }, 400, /stalledMs must be ≥ 0/],
      ['a fractional count', { records: [record(session, { rebufferCount: 1.5 })] }, 400, /rebufferCount must be an integer/],
      ['a failure that is no code', { records: [record(session, { failure: '<script>' })] }, 400, /failure must be an error code/],
      ['an exit after the first frame', { records: [record(session, { exitBeforeStart: true })] }, 400, /exitBeforeStart cannot be true/],
      ['a string session', { records: [{ ...record(session), session: 42 }] }, 400, /session must be/],
      ['a startup of a week', { records: [record(session, { startupMs: 7 * 24 * HOUR })] }, 400, /startupMs must be at most/],
    ];
    for (const [name, body, status, message] of cases) {
      const res = await beacon(id, body, typeof body === 'string' ? { raw: body } : {});
      expect(res.status, name).toBe(status);
      const error = (await res.json<{ error: { code: string; message: string } }>()).error;
      expect(error.code, name).toBe('bad_request');
      expect(error.message, name).toMatch(message);
    }
    const big = await beacon(id, null, { raw: JSON.stringify({ records: [record(session)], pad: 'x'.repeat(9000) }) });
    expect(big.status).toBe(413);
    expect((await big.json<{ error: { code: string } }>()).error.code).toBe('payload_too_large');
  });

  it('answers 404 for unknown, deleted and (to others) private videos', async () => {
    const { id, token } = await playableVideo(120);
    const session = await sessionFor(id);
    expect((await beacon('vid_unknown0000000', { records: [record(session)] })).status).toBe(404);
    await api(`/v1/videos/${id}`, { method: 'PATCH', token, json: { visibility: 'private' } });
    expect((await beacon(id, { records: [record(session)] })).status).toBe(404);
    expect((await beacon(id, { records: [record(session)] }, { token })).status).toBe(200);
    await api(`/v1/videos/${id}`, { method: 'DELETE', token });
    expect((await beacon(id, { records: [record(session)] }, { token })).status).toBe(404);
  });

  it('flushes at the end of the hour exactly once, and a late record corrects its hour instead of counting again', async () => {
    const t0 = Date.UTC(2026, 1, 3, 9, 20);
    clock = fakeClock(t0);
    const { id, token } = await playableVideo(120);
    const a = await sessionFor(id, 5 * 60_000);
    const b = await sessionFor(id, 5 * 60_000);
    await beaconJson(id, [record(a, { watchedMs: 60_000 }), record(b, { startupMs: null, exitBeforeStart: true, watchedMs: 0, averageBitrate: null })]);

    clock.set(Date.UTC(2026, 1, 3, 10, 2));
    await runShardAlarms(id);
    expect(await storedViews(id)).toBe(2);
    const hour9 = `?from=${Date.UTC(2026, 1, 3, 9)}&to=${Date.UTC(2026, 1, 3, 10)}`;
    expect((await report(`/v1/videos/${id}/qoe${hour9}`, token)).totals).toMatchObject({ views: 2, exitsBeforeStart: 1, watchedMs: 60_000 });

    // Session a, still open, reports again after its hour was flushed: the hour is corrected, not counted twice.
    await beaconJson(id, [record(a, { seq: 1, watchedMs: 90_000, rebufferCount: 2, stalledMs: 3000 })]);
    const live = (await report(`/v1/videos/${id}/qoe${hour9}`, token)).totals;
    expect(live).toMatchObject({ views: 2, watchedMs: 90_000, stalledMs: 3000, rebufferCount: 2 });

    // The correction arrived in hour 10: it is flushed at that hour's end, with a crash after the D1 write first.
    clock.set(Date.UTC(2026, 1, 3, 11, 2));
    const stub = shardStub(env, id, 0);
    await runInDurableObject(stub, (instance) => {
      faultsOf(instance).afterD1Write = () => {
        throw new Error('crash after the D1 write');
      };
    });
    expect((await stub.flush()).status).toBe('failed');
    await runInDurableObject(stub, (instance) => {
      faultsOf(instance).afterD1Write = undefined;
    });
    expect((await stub.flush()).status).toBe('ok'); // the same seq again: nothing added twice
    const rows = await env.DB.prepare('SELECT SUM(views) AS views, SUM(watched_ms) AS watched, SUM(stalled_ms) AS stalled FROM qoe_aggregates WHERE video_id = ?')
      .bind(id)
      .first<{ views: number; watched: number; stalled: number }>();
    expect(rows).toEqual({ views: 2, watched: 90_000, stalled: 3000 });
    expect((await report(`/v1/videos/${id}/qoe${hour9}`, token)).totals).toMatchObject({ views: 2, watchedMs: 90_000, stalledMs: 3000, exitsBeforeStart: 1 });
  });
});

/**
 * The player's pure parts: the QoE collector's definitions (startup, stalls without seeks, watched time, bitrate,
 * exit before start), the beacon reporter (one record per change, seq, batches), the postMessage command parser, and
 * the view rule it shares with the platform. The server's side: test/node/qoe-units.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { QoeCollector } from '../../player/src/qoe/collector';
import { batches, QoeReporter, type QoeRecord } from '../../player/src/qoe/reporter';
import { eventOrigins, parseCommand } from '../../player/src/bridge';
import { DEFAULT_VIEW_RULE } from '../../player/src/view-tracker';
import { defaults } from '../../workers/shared/config';
import { AudiencePing } from '../../player/src/audience';

describe('QoeCollector', () => {
  it('measures startup from the play intent, stalls without seeks, and watched time', () => {
    const q = new QoeCollector();
    q.intent(1000);
    q.renditionChanged(1500, 800_000, 360);
    q.playing(1800); // startup 800 ms
    q.waiting(5800, false, false); // 4 s played, then a stall
    q.playing(6300); // 500 ms stalled
    q.seeking(8300); // 2 s played; the seek's wait is not a stall
    q.waiting(8400, true, false);
    q.playing(9400);
    q.renditionChanged(10_400, 1_600_000, 720); // 1 s at 800 kbit/s, then 720p
    q.pause(12_400); // 2 s at 1.6 Mbit/s
    q.waiting(13_000, false, true); // waiting while paused is not a stall
    const f = q.figures(20_000);
    expect(f).toEqual({
      startupMs: 800,
      exitBeforeStart: false,
      failure: null,
      rebufferCount: 1,
      stalledMs: 500,
      watchedMs: 9000,
      averageBitrate: Math.round((800_000 * 7 + 1_600_000 * 2) / 9),
      finalBitrate: 1_600_000,
      finalHeight: 720,
      switches: 1,
    });
  });

  it('counts a stall still open when the record is taken, and one stall per wait', () => {
    const q = new QoeCollector();
    q.intent(0);
    q.playing(300);
    q.waiting(1300, false, false);
    q.waiting(1400, false, false); // the same stall, reported twice
    expect(q.figures(2300)).toMatchObject({ rebufferCount: 1, stalledMs: 1000, watchedMs: 1000 });
  });

  it('says exit before start when the record is taken after a play intent and before the first frame', () => {
    const q = new QoeCollector();
    expect(q.intended).toBe(false);
    q.intent(100);
    expect(q.figures(5000)).toMatchObject({ startupMs: null, exitBeforeStart: true, watchedMs: 0, averageBitrate: null });
    const failed = new QoeCollector();
    failed.intent(0);
    failed.fail(50, 'not_found');
    expect(failed.figures(100)).toMatchObject({ exitBeforeStart: false, failure: 'not_found' });
  });

  it('forgets an autoplay the browser refused; the viewer’s later play starts the clock', () => {
    const q = new QoeCollector();
    q.intent(0);
    q.cancelIntent();
    expect(q.intended).toBe(false);
    q.intent(7000);
    q.playing(7400);
    expect(q.figures(8000).startupMs).toBe(400);
  });

});

describe('QoeReporter', () => {
  it('sends a record when it changed, numbering the sends; a removed player sends its last one', () => {
    const sent: { url: string; body: { records: QoeRecord[] } }[] = [];
    const reporter = new QoeReporter((url, body) => sent.push({ url, body: JSON.parse(body) as { records: QoeRecord[] } }));
    let watched = 1000;
    const figures = () => ({ session: 's1', figures: { ...new QoeCollector().figures(0), watchedMs: watched } });
    const stop = reporter.register({ endpoint: 'https://p.example/v1/videos/v1/qoe', figures });
    reporter.register({ endpoint: 'https://p.example/v1/videos/v1/qoe', figures: () => null }); // no session: nothing to send
    reporter.flush();
    reporter.flush(); // unchanged: not sent again
    watched = 2000;
    stop();
    expect(sent.map((s) => s.body.records.map((r) => [r.session, r.seq, r.watchedMs]))).toEqual([[['s1', 0, 1000]], [['s1', 1, 2000]]]);
  });

  it('batches at most 8 records and 8 KB per beacon', () => {
    const record = (i: number, pad = 0): QoeRecord => ({ session: `s${i}`.padEnd(pad, 'x'), seq: 0, ...new QoeCollector().figures(0) });
    expect(batches(Array.from({ length: 20 }, (_, i) => record(i))).map((b) => b.length)).toEqual([8, 8, 4]);
    const big = batches(Array.from({ length: 8 }, (_, i) => record(i, 2000)));
    expect(big.length).toBeGreaterThan(1);
    for (const b of big) expect(JSON.stringify({ records: b }).length).toBeLessThanOrEqual(8192);
  });
});

describe('postMessage commands', () => {
  it('parses the four commands and refuses bad payloads; other messages are not ours', () => {
    expect(parseCommand({ type: 'edge-video:command', command: 'play' })).toEqual({ ok: true, command: { command: 'play' } });
    expect(parseCommand({ type: 'edge-video:command', command: 'seek', time: 12.5 })).toEqual({ ok: true, command: { command: 'seek', time: 12.5 } });
    expect(parseCommand({ type: 'edge-video:command', command: 'setMuted', muted: false })).toEqual({ ok: true, command: { command: 'setMuted', muted: false } });
    for (const bad of [
      { command: 'seek', time: -1 },
      { command: 'seek', time: '3' },
      { command: 'seek', time: Number.NaN },
      { command: 'seek' },
      { command: 'setMuted', muted: 1 },
      { command: 'pause', time: 3 },
      { command: 'toString' },
      { command: 42 },
    ]) {
      expect(parseCommand({ type: 'edge-video:command', ...bad }), JSON.stringify(bad)).toMatchObject({ ok: false });
    }
    for (const foreign of [null, 'play', 42, { command: 'play' }, { type: 'other', command: 'play' }]) expect(parseCommand(foreign)).toBeNull();
  });

  it('posts events to the allowed origins only, to the parent when it is known', () => {
    expect(eventOrigins(null, null)).toEqual(['*']);
    expect(eventOrigins(null, 'https://a.example')).toEqual(['https://a.example']);
    expect(eventOrigins(['https://a.example'], 'https://evil.example')).toEqual([]);
    expect(eventOrigins(['https://a.example', 'https://b.example'], null)).toEqual(['https://a.example', 'https://b.example']);
  });
});

it("the player's default view rule is the platform's", () => {
  expect(DEFAULT_VIEW_RULE).toEqual({ minWatchSeconds: defaults.views.minWatchSeconds, shortVideoSeconds: defaults.views.shortVideoSeconds, shortVideoFraction: defaults.views.shortVideoFraction });
});

describe('AudiencePing', () => {
  it('pings once per wall-clock minute while a live stream plays, and stops when the video is not on air', async () => {
    const sent: string[] = [];
    let answer = { counted: true } as { counted: boolean; reason?: string };
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (_url: string, init: RequestInit) => {
      sent.push(String(init.body));
      return new Response(JSON.stringify(answer));
    }) as typeof fetch;
    try {
      const ping = new AudiencePing('http://platform.test/v1/videos/vid_x/watching');
      ping.playing('s1', 60_000); // not live (a VOD): nothing
      ping.live = true;
      ping.playing(null, 60_000); // no session yet: nothing
      for (const t of [60_000, 70_000, 119_999, 120_000, 150_000]) ping.playing('s1', t);
      await new Promise((r) => setTimeout(r, 10));
      expect(sent).toEqual(['{"session":"s1"}', '{"session":"s1"}']);
      answer = { counted: false, reason: 'not_live' };
      ping.playing('s1', 180_000);
      await new Promise((r) => setTimeout(r, 10));
      ping.playing('s1', 240_000);
      await new Promise((r) => setTimeout(r, 10));
      expect(sent).toHaveLength(3);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});

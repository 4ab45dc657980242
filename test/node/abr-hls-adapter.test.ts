/**
 * The hls.js adapter against a stand-in for the Hls instance: the real `Hls.Events` enum and the members hls.js's
 * stream, level and error controllers use (levels, min/maxAutoLevel, mainForwardBufferInfo, config, on/off).
 */
import Hls, { type HlsConfig } from 'hls.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ABR_STORAGE_KEY, DEFAULT_SEGMENT_SEC, PlatformAbrController, PlatformHlsAbr, type AbrStorage } from '../../abr/hls-abr-controller';
import { defaults, LADDER } from '../../workers/shared/config';

// Compile-time check: the export is accepted by hls.js's config type as the watch page will use it.
const config: Partial<HlsConfig> = { abrController: PlatformAbrController };
void config;

type Listener = (event: string, data: unknown) => void;

class FakeHls {
  static Events = Hls.Events;
  listeners = new Map<string, Array<{ fn: Listener; ctx: unknown }>>();
  levels = LADDER.map((r) => ({ bitrate: r.bitrate, details: { targetduration: 6, live: false, endSN: 49 } }));
  config = { maxBufferLength: 30, abrEwmaDefaultEstimate: 500_000 };
  minAutoLevel = 0;
  maxAutoLevel = LADDER.length - 1;
  autoLevelEnabled = true;
  mainForwardBufferInfo: { len: number } | null = { len: 0 };
  nextLoadLevel = -1;
  on(event: string, fn: Listener, ctx: unknown): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), { fn, ctx }]);
  }
  off(event: string, fn: Listener): void {
    this.listeners.set(event, (this.listeners.get(event) ?? []).filter((l) => l.fn !== fn));
  }
  trigger(event: string, data: unknown): void {
    for (const { fn, ctx } of this.listeners.get(event) ?? []) fn.call(ctx, event, data);
  }
}

class MemoryStorage implements AbrStorage {
  map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
}

function fragment(sn: number, level: number, bytes: number, ms: number, aborted = false) {
  let abortCalls = 0;
  return {
    type: 'main',
    sn,
    level,
    duration: 6,
    get abortCalls() {
      return abortCalls;
    },
    abortRequests: () => void abortCalls++,
    stats: { aborted, loaded: bytes, total: bytes, loading: { start: 0, first: 80, end: ms }, parsing: { end: ms } },
  };
}

function setup(storage = new MemoryStorage()) {
  PlatformHlsAbr.storage = () => storage;
  const hls = new FakeHls();
  const abr = new PlatformHlsAbr(hls as unknown as Hls);
  hls.trigger(Hls.Events.MANIFEST_PARSED, {});
  return { hls, abr, storage };
}

function download(hls: FakeHls, sn: number, level: number, mbps: number) {
  const bytes = ((LADDER[level]?.bitrate ?? 0) * 6) / 8;
  const frag = fragment(sn, level, bytes, 80 + (bytes * 8) / (mbps * 1000));
  hls.trigger(Hls.Events.FRAG_LOADING, { frag });
  hls.trigger(Hls.Events.FRAG_LOADED, { frag });
  hls.trigger(Hls.Events.FRAG_BUFFERED, { frag, stats: frag.stats });
}

afterEach(() => {
  PlatformHlsAbr.storage = () => null;
  PlatformHlsAbr.downlink = () => null;
});

describe('PlatformHlsAbr (hls.js abrController)', () => {
  it('assumes the transcoder\'s segment duration until a media playlist gives the real one', () => {
    expect(DEFAULT_SEGMENT_SEC).toBe(defaults.transcoding.segmentDurationSec);
  });

  it('first-time viewer starts on the lowest level, then climbs on fast downloads and persists the estimate', () => {
    const { hls, abr, storage } = setup();
    expect(abr.firstAutoLevel).toBe(0);
    expect(abr.nextAutoLevel).toBe(0);
    expect(abr.bwEstimator.getEstimate()).toBe(500_000); // hls.bandwidthEstimate before any sample: the default
    for (let sn = 0; sn < 4; sn++) download(hls, sn, sn === 0 ? 0 : 4, 40);
    hls.mainForwardBufferInfo = { len: 24 };
    expect(abr.nextAutoLevel).toBeGreaterThanOrEqual(5);
    expect(abr.bwEstimator.getEstimate()).toBeGreaterThan(10e6);
    const saved = JSON.parse(storage.getItem(ABR_STORAGE_KEY) ?? '{}') as { bandwidthBps: number };
    expect(saved.bandwidthBps).toBeGreaterThan(30e6);
    abr.destroy();
  });

  it('a returning viewer starts higher from localStorage', () => {
    const storage = new MemoryStorage();
    storage.setItem(ABR_STORAGE_KEY, JSON.stringify({ bandwidthBps: 60e6, savedAtMs: Date.now() }));
    const { abr } = setup(storage);
    expect(abr.firstAutoLevel).toBeGreaterThan(0);
    abr.destroy();
  });

  it("a first-time viewer in a browser with navigator.connection starts from its downlink", () => {
    PlatformHlsAbr.downlink = () => 60e6;
    const { abr } = setup();
    expect(abr.firstAutoLevel).toBeGreaterThan(0);
    abr.destroy();
    PlatformHlsAbr.downlink = () => null;
    const cold = setup();
    expect(cold.abr.firstAutoLevel).toBe(0);
    cold.abr.destroy();
  });

  it('corrupt stored state is ignored', () => {
    const storage = new MemoryStorage();
    storage.setItem(ABR_STORAGE_KEY, '{not json');
    const { abr } = setup(storage);
    expect(abr.firstAutoLevel).toBe(0);
    abr.destroy();
  });

  it('respects autoLevelCapping (maxAutoLevel) and forced levels from the error controller', () => {
    const { hls, abr } = setup();
    for (let sn = 0; sn < 5; sn++) download(hls, sn, 4, 60);
    hls.mainForwardBufferInfo = { len: 24 };
    hls.maxAutoLevel = 3;
    expect(abr.nextAutoLevel).toBe(3);
    abr.nextAutoLevel = 1; // hls.js error controller: switch down after a load error
    expect(abr.forcedAutoLevel).toBe(1);
    expect(abr.nextAutoLevel).toBe(1);
    download(hls, 5, 1, 60); // a fragment of the forced level loaded → back to ABR
    expect(abr.forcedAutoLevel).toBe(-1);
    abr.destroy();
  });

  it('emergency: aborts a stalled fragment and forces a lower level', () => {
    const { hls, abr } = setup();
    for (let sn = 0; sn < 5; sn++) download(hls, sn, 4, 20);
    const frag = fragment(5, 4, 4_500_000, 0);
    frag.stats.loaded = 100_000;
    frag.stats.loading.start = performance.now() - 4000; // 4 s in, 100 kB of 4.5 MB
    hls.mainForwardBufferInfo = { len: 3 };
    hls.trigger(Hls.Events.FRAG_LOADING, { frag });
    const aborted: number[] = [];
    hls.on(Hls.Events.FRAG_LOAD_EMERGENCY_ABORTED, (_e, d) => aborted.push((d as { frag: { sn: number } }).frag.sn), null);
    abr.checkProgress();
    expect(frag.abortCalls).toBe(1);
    expect(hls.nextLoadLevel).toBeLessThan(4);
    expect(abr.forcedAutoLevel).toBe(hls.nextLoadLevel);
    // The stream controller leaves FRAG_LOADING only on this event; without it the player hung on the aborted request.
    expect(aborted).toEqual([5]);
    abr.destroy();
  });

  it('resetEstimator (hls.js at manifest load: the first variant bitrate) is a default, not a measurement', () => {
    const { hls, abr } = setup();
    // hls.js's level controller does this when the first listed variant is above its 0.5 Mbit/s default.
    abr.resetEstimator(600_000);
    expect(abr.bwEstimator.getEstimate()).toBe(600_000);
    expect(abr.firstAutoLevel).toBe(0);
    // One fast download: the estimate is the link's, not dragged down by the 0.6 Mbit/s default (in the harmonic mean
    // it would make ~1.2 Mbit/s here, and the next segments would stay low).
    download(hls, 0, 0, 50);
    expect(abr.bwEstimator.getEstimate()).toBeGreaterThan(20e6);
    hls.mainForwardBufferInfo = { len: 6 };
    expect(abr.nextAutoLevel).toBeGreaterThan(2);
    // Called again mid-playback (an app setting hls.bandwidthEstimate): what was measured is dropped, as in hls.js.
    abr.resetEstimator(2e6);
    expect(abr.bwEstimator.getEstimate()).toBe(2e6);
    abr.destroy();
    expect([...hls.listeners.values()].every((l) => l.length === 0)).toBe(true);
  });

  it("the stream controller's write-back of our own answer is not a force", () => {
    const { hls, abr } = setup();
    download(hls, 0, 0, 2);
    hls.mainForwardBufferInfo = { len: 6 };
    const first = abr.nextAutoLevel;
    // hls.js: stream controller `hls.nextLoadLevel = level` → level controller `hls.nextAutoLevel = level`, every tick.
    abr.nextAutoLevel = first;
    expect(abr.forcedAutoLevel).toBe(-1);
    // New, much faster samples move the decision at once (a force would have held `first` until it loaded).
    for (let sn = 1; sn < 4; sn++) download(hls, sn, first, 80);
    hls.mainForwardBufferInfo = { len: 24 };
    expect(abr.nextAutoLevel).toBeGreaterThan(first);
    abr.destroy();
  });

  it('a manual level (quality menu) clears a force', () => {
    const { hls, abr } = setup();
    for (let sn = 0; sn < 3; sn++) download(hls, sn, 4, 60);
    abr.nextAutoLevel = 1;
    expect(abr.forcedAutoLevel).toBe(1);
    hls.autoLevelEnabled = false;
    hls.trigger(Hls.Events.LEVEL_SWITCHING, { level: 0 });
    expect(abr.forcedAutoLevel).toBe(-1);
    abr.destroy();
  });

  it('plans with the real segment sizes it has seen, not the master playlist BANDWIDTH (a peak)', () => {
    const { hls, abr } = setup();
    const internals = abr as unknown as { segmentBits: (rank: number, index: number) => number };
    // Nothing loaded: the playlist's bitrate × segment duration.
    expect(internals.segmentBits(2, 0)).toBeCloseTo(LADDER[2]!.bitrate * 6, 0);
    // Rung 0 fragments come out at 70 % of what the playlist declares.
    for (let sn = 0; sn < 2; sn++) {
      const bytes = (LADDER[0]!.bitrate * 6 * 0.7) / 8;
      const frag = fragment(sn, 0, bytes, 1000);
      hls.trigger(Hls.Events.FRAG_LOADING, { frag });
      hls.trigger(Hls.Events.FRAG_LOADED, { frag });
    }
    expect(internals.segmentBits(0, 2)).toBeCloseTo(LADDER[0]!.bitrate * 6 * 0.7, 0);
    // A rung not loaded yet is planned at its playlist bitrate (see the next test).
    expect(internals.segmentBits(2, 2)).toBeCloseTo(LADDER[2]!.bitrate * 6, 0);
    abr.destroy();
  });

  it("plans a rung it has not loaded at its declared bitrate, not scaled by another rung's real/declared ratio", () => {
    // bench abr-player, puffer: 240p came out far under its BANDWIDTH, the adapter scaled 720p by that ratio, and
    // 720p looked 23 % cheaper than it is: it was picked onto a 0.06 Mbit/s link and stalled.
    const { hls, abr } = setup();
    const internals = abr as unknown as { segmentBits: (rank: number, index: number) => number };
    for (let sn = 0; sn < 2; sn++) {
      const frag = fragment(sn, 0, (LADDER[0]!.bitrate * 6 * 0.5) / 8, 1000);
      hls.trigger(Hls.Events.FRAG_LOADING, { frag });
      hls.trigger(Hls.Events.FRAG_LOADED, { frag });
    }
    expect(internals.segmentBits(0, 2)).toBeCloseTo(LADDER[0]!.bitrate * 6 * 0.5, 0);
    for (let rank = 1; rank < LADDER.length; rank++) expect(internals.segmentBits(rank, 2)).toBeCloseTo(LADDER[rank]!.bitrate * 6, 0);
    // Once rung 3 has been loaded (at 90 % of its BANDWIDTH), its own real size is used, and rung 2 stays declared.
    const frag = fragment(2, 3, (LADDER[3]!.bitrate * 6 * 0.9) / 8, 1000);
    hls.trigger(Hls.Events.FRAG_LOADING, { frag });
    hls.trigger(Hls.Events.FRAG_LOADED, { frag });
    expect(internals.segmentBits(3, 3)).toBeCloseTo(LADDER[3]!.bitrate * 6 * 0.9, 0);
    expect(internals.segmentBits(2, 3)).toBeCloseTo(LADDER[2]!.bitrate * 6, 0);
    abr.destroy();
  });

  it("a switch that makes hls.js fetch a buffered segment again costs that segment's bits in the plan", () => {
    const { hls, abr } = setup();
    for (let sn = 0; sn < 3; sn++) download(hls, sn, 1, 5);
    // The media starts at PTS 1/15 s, and the browser reports the buffered end of sn 2 in whole microseconds
    // (18.066666). Rung 0's playlist timing came from an earlier parse (sn 2 ends at 18.0666666…67, after the buffered
    // end), so hls.js would look up sn 2 there: a re-fetch. Rung 2's playlist was never parsed (segments on whole
    // seconds): its lookup at 18.066666 finds sn 3, no re-fetch.
    const frags = (offset: number) => Array.from({ length: 50 }, (_, sn) => ({ sn, start: sn * 6 + offset, duration: 6 }));
    hls.levels[0]!.details = { ...hls.levels[0]!.details, fragments: frags(1 / 15) } as never;
    hls.levels[2]!.details = { ...hls.levels[2]!.details, fragments: frags(0) } as never;
    hls.mainForwardBufferInfo = { len: 10, end: 18.066666 } as never;
    void abr.nextAutoLevel;
    const internals = abr as unknown as { segmentBits: (rank: number, index: number) => number; expectedBits: (rank: number) => number };
    expect(internals.segmentBits(0, 3)).toBeCloseTo(2 * internals.expectedBits(0), 0);
    expect(internals.segmentBits(0, 4)).toBeCloseTo(internals.expectedBits(0), 0);
    expect(internals.segmentBits(2, 3)).toBeCloseTo(internals.expectedBits(2), 0);
    // Staying on the current rung never re-fetches.
    expect(internals.segmentBits(1, 3)).toBeCloseTo(internals.expectedBits(1), 0);
    abr.destroy();
  });

  it('segment duration and buffer cap follow the loaded playlist and hls.js config', () => {
    const { hls, abr } = setup();
    // 2 s segments: a fast first download of a 2 s 240p segment is not mistaken for a third of a 6 s one.
    hls.trigger(Hls.Events.LEVEL_LOADED, { details: { targetduration: 2, totalduration: 10, fragments: [1, 2, 3, 4, 5], live: false, endSN: 4 } });
    const internals = abr as unknown as { stream: { segmentDurationSec: number; maxBufferSec: number } };
    expect(internals.stream.segmentDurationSec).toBe(2);
    // hls.js requests while the buffer is under maxBufferLength (30 s), so it holds up to one segment more.
    expect(internals.stream.maxBufferSec).toBe(32);
    abr.destroy();
  });
});

/**
 * hls.js adapter for the platform's ABR controller.
 *
 * Usage (watch page):
 *   import Hls from 'hls.js';
 *   import { PlatformAbrController } from '<repo>/abr/hls-abr-controller';
 *   const hls = new Hls({ abrController: PlatformAbrController });
 * (`PlatformAbrController` is the class `PlatformHlsAbr`, typed for hls.js's config; see the end of this file.)
 *
 * Import surface: this file and its runtime imports (./platform, ./estimators, ./types) are pure TypeScript with no
 * DOM or Node dependency. hls.js is imported for types only; the `Events` enum is read from the Hls instance's constructor at runtime (`Hls.Events`), so bundling this
 * never pulls in a second copy of hls.js.
 *
 * What hls.js calls on an `abrController` (src/hls.ts, stream/level/error controllers, v1.7):
 * - `nextAutoLevel` (get): the level of the next fragment in auto mode. We answer with the pure controller's pick for
 *   the current buffer (`hls.mainForwardBufferInfo.len`), clamped to [minAutoLevel, maxAutoLevel], so
 *   `autoLevelCapping` and capLevelToPlayerSize keep working (hls.js folds both into maxAutoLevel).
 * - `nextAutoLevel` (set) / `forcedAutoLevel`: hls.js's error controller forces a level after load errors; we obey it
 *   until a fragment of that level has loaded, as hls.js's own controller does. The stream controller also writes back
 *   every level it has just read (`hls.nextLoadLevel = level` → level controller → `hls.nextAutoLevel = level`, on
 *   every tick, including the idle ticks while the buffer is full); that echo of our own answer is not a force
 *   (treating it as one would freeze the decision until a fragment of that level loaded: stale levels after a full
 *   buffer, after a manual pick, after new samples). A manual level (quality menu) clears any force.
 * - `firstAutoLevel`: the start level; uses the persisted estimate of a returning viewer, else the browser's
 *   `navigator.connection.downlink` where it has one (Chromium), else the lowest rung.
 * - `bwEstimator` (`getEstimate`, `getEstimateTTFB`, `defaultEstimate`): read by `hls.bandwidthEstimate` and
 *   `hls.ttfbEstimate`; we expose the controller's estimate.
 * - `resetEstimator(bps)`: `hls.bandwidthEstimate = bps`, and hls.js's level controller at every manifest load (it
 *   sets the first listed variant's bitrate when the estimate is still the default). As in hls.js, this is a default
 *   to report before the first measurement, not a measurement: it is never mixed into the estimate (as a sample, a 0.6 Mbit/s
 *   variant bitrate in the harmonic mean would hold a 50 Mbit/s link's estimate under 1.5 Mbit/s for several
 *   segments: a 10 s clip would play entirely on the lowest rungs).
 * - `destroy()`.
 * Fragment samples come from hls events: FRAG_LOADING starts a 100 ms progress check (the emergency abandon hook),
 * FRAG_LOADED feeds the completed download (bytes, request → last byte, TTFB: network time only, as the simulator
 * models it; transmuxing and appending are not the link's doing) and saves the estimate to localStorage (when
 * available) for the viewer's next visit. FRAG_LOADED also covers hls.js's bitrate-test fragment (`startLevel: -1`
 * with `testBandwidth`), which is never buffered.
 * The stream description follows the real stream: segment duration from each loaded media playlist, and the buffer
 * cap from hls.js's own rule (`maxBufferLength` stretched up to `maxBufferSize` bytes, at most `maxMaxBufferLength`).
 */
import type Hls from 'hls.js';
import type { AbrComponentAPI, EwmaBandWidthEstimator, HlsConfig, FragLoadedData, FragLoadingData, Fragment, LevelDetails } from 'hls.js';
import { createPlatformController } from './platform';
import type { AbrController, AbrStream, PersistedAbrState } from './types';

export const ABR_STORAGE_KEY = 'edge-video:abr-estimate';
const PROGRESS_CHECK_MS = 100;
/**
 * Segment duration assumed until the first media playlist gives the real one (it sizes the first pick): the duration
 * the platform's transcoder cuts segments to, `transcoding.segmentDurationSec` in workers/shared/config.ts
 * (test/node/abr-hls-adapter.test.ts checks that the two agree; abr/ imports nothing from workers/).
 */
export const DEFAULT_SEGMENT_SEC = 6;

/** Minimal Storage surface, so tests can pass their own. */
export interface AbrStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function defaultStorage(): AbrStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    // Some browsers throw on access when storage is disabled.
    return null;
  }
}

/**
 * `navigator.connection.downlink` (Network Information API, Chromium only) in bits/s, or null where there is none.
 * The browser reports its recent throughput estimate in Mbit/s, rounded to 25 kbit/s and capped at 10 Mbit/s.
 */
export function readDownlinkBps(): number | null {
  try {
    const connection = (globalThis as { navigator?: { connection?: { downlink?: unknown } } }).navigator?.connection;
    const mbps = connection?.downlink;
    return typeof mbps === 'number' && mbps > 0 && Number.isFinite(mbps) ? mbps * 1e6 : null;
  } catch {
    return null;
  }
}

export function readPersisted(storage: AbrStorage | null): PersistedAbrState | null {
  try {
    const raw = storage?.getItem(ABR_STORAGE_KEY);
    if (!raw) return null;
    const data: unknown = JSON.parse(raw);
    if (typeof data !== 'object' || data === null) return null;
    const { bandwidthBps, savedAtMs } = data as Record<string, unknown>;
    if (typeof bandwidthBps !== 'number' || !(bandwidthBps > 0) || !Number.isFinite(bandwidthBps)) return null;
    if (typeof savedAtMs !== 'number' || !Number.isFinite(savedAtMs)) return null;
    return { bandwidthBps, savedAtMs };
  } catch {
    return null;
  }
}

export class PlatformHlsAbr implements AbrComponentAPI {
  /** Storage used for the persisted estimate; tests may replace it before constructing. */
  static storage: () => AbrStorage | null = defaultStorage;
  static now: () => number = () => Date.now();
  /** The Network Information API's downlink; tests may replace it before constructing. */
  static downlink: () => number | null = readDownlinkBps;

  private hls: Hls | null;
  private readonly events: (typeof Hls)['Events'];
  private readonly storage: AbrStorage | null;
  private controller: AbrController;
  private stream: AbrStream;
  /** Controller rank (ascending bitrate) → hls level index, and back. */
  private rankToLevel: number[] = [];
  private levelToRank: number[] = [];
  private forced = -1;
  /** The last level our getters answered, so the stream controller's write-back of it is not taken for a force. */
  private lastAnswer = -1;
  /** hls.bandwidthEstimate before the first measurement (hls.js's default, or what resetEstimator was given). */
  private defaultEstimate: number;
  private lastLoadedLevel = -1;
  private samples = 0;
  private cache: { key: string; level: number } | null = null;
  /**
   * For the decision being made: the segment index it is for, and per rank the extra bits a switch to that rank costs
   * because hls.js will first fetch again, at that rank, a segment already buffered (see `refetchBits`).
   */
  private decisionSn = -1;
  private refetch: number[] = [];
  /** Per rank: bits and media seconds of the fragments loaded at that rank (the real size of its segments). */
  private measured: Array<{ bits: number; sec: number }> = [];
  private current: Fragment | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  readonly bwEstimator: EwmaBandWidthEstimator;

  constructor(hls: Hls) {
    this.hls = hls;
    this.events = (hls.constructor as typeof Hls).Events;
    this.storage = PlatformHlsAbr.storage();
    this.stream = { bitrates: [], segmentDurationSec: DEFAULT_SEGMENT_SEC, maxBufferSec: hls.config.maxBufferLength + DEFAULT_SEGMENT_SEC };
    this.defaultEstimate = hls.config.abrEwmaDefaultEstimate;
    this.controller = this.createController(readPersisted(this.storage));
    // hls.js types bwEstimator as its own EwmaBandWidthEstimator class (nominal: private fields); callers only use
    // these three members (src/hls.ts bandwidthEstimate / abrEwmaDefaultEstimate / ttfbEstimate).
    const view = {
      getEstimate: (): number => this.controller.bandwidthEstimate() ?? this.defaultEstimate,
      getEstimateTTFB: (): number => 100,
      get defaultEstimate(): number {
        return hls.config.abrEwmaDefaultEstimate;
      },
      canEstimate: (): boolean => this.controller.bandwidthEstimate() !== null,
      destroy: (): void => {},
    };
    this.bwEstimator = view as unknown as EwmaBandWidthEstimator;
    for (const [event, handler] of this.subscriptions()) hls.on(event, handler, this);
  }

  /** The hls.js events this controller follows (subscribed in the constructor, removed in destroy). */
  private subscriptions() {
    const E = this.events;
    return [
      [E.MANIFEST_LOADING, this.onManifestLoading],
      [E.LEVELS_UPDATED, this.onLevelsUpdated],
      [E.MANIFEST_PARSED, this.onLevelsUpdated],
      [E.LEVEL_LOADED, this.onLevelLoaded],
      [E.LEVEL_SWITCHING, this.onLevelSwitching],
      [E.FRAG_LOADING, this.onFragLoading],
      [E.FRAG_LOADED, this.onFragLoaded],
    ] as const;
  }

  private createController(persisted: PersistedAbrState | null): AbrController {
    return createPlatformController(this.stream, { persisted, nowMs: PlatformHlsAbr.now(), downlinkBps: PlatformHlsAbr.downlink() });
  }

  private onManifestLoading(): void {
    this.forced = -1;
    this.lastLoadedLevel = -1;
    this.cache = null;
    this.clearTimer();
  }

  private onLevelsUpdated(): void {
    const levels = this.hls?.levels ?? [];
    this.rankToLevel = levels.map((_, i) => i).sort((a, b) => (levels[a]?.bitrate ?? 0) - (levels[b]?.bitrate ?? 0));
    this.levelToRank = [];
    this.rankToLevel.forEach((level, rank) => (this.levelToRank[level] = rank));
    const bitrates = this.rankToLevel.map((i) => levels[i]?.bitrate ?? 0);
    if (bitrates.length !== this.stream.bitrates.length || bitrates.some((b, i) => b !== this.stream.bitrates[i])) this.measured = [];
    // Keep what was learnt: the stream description is read by reference, so only its ladder changes.
    this.stream.bitrates = bitrates;
    const details = levels.find((l) => l.details)?.details;
    if (details) this.onLevelLoaded('', { details });
    this.stream.maxBufferSec = this.maxBufferSec();
    this.cache = null;
  }

  /**
   * The most media hls.js holds ahead. Its stream controller requests the next fragment whenever the forward buffer is
   * under its cap (base-stream-controller getMaxBufferLength: `maxBufferLength` seconds, or more when `maxBufferSize`
   * bytes hold more at the level's bitrate, never above `maxMaxBufferLength`; computed for the top rung, the smallest
   * of the per-level caps), so the buffer peaks one segment above the cap: the controller's `maxBufferSec` (the level
   * the buffer can reach, as in the simulator, which requests only while buffer + segment ≤ maxBufferSec). With the
   * defaults (30 s, 60 MB, 600 s) that is minutes of buffer for our ladder, not 30 s: the planner must not assume the
   * player stops fetching earlier than it does.
   */
  private maxBufferSec(): number {
    const config = this.hls?.config;
    if (!config) return this.stream.maxBufferSec;
    const top = this.stream.bitrates[this.stream.bitrates.length - 1] ?? 0;
    const bySize = top > 0 && config.maxBufferSize > 0 ? (8 * config.maxBufferSize) / top : 0;
    const cap = Math.min(Math.max(bySize, config.maxBufferLength), config.maxMaxBufferLength > 0 ? config.maxMaxBufferLength : Infinity);
    return Number.isFinite(cap) && cap > 0 ? cap + this.stream.segmentDurationSec : this.stream.maxBufferSec;
  }

  /** Segment duration from a loaded media playlist: its mean fragment duration (the target duration rounds up). */
  private onLevelLoaded(_event: string, data: { details: LevelDetails }): void {
    const { details } = data;
    const count = Array.isArray(details.fragments) ? details.fragments.length : 0;
    const mean = count > 0 && details.totalduration > 0 ? details.totalduration / count : details.targetduration;
    if (mean > 0 && Number.isFinite(mean)) this.stream.segmentDurationSec = mean;
    this.stream.maxBufferSec = this.maxBufferSec();
    this.cache = null;
  }

  /** A manual level (quality menu, `hls.currentLevel = n`) supersedes any forced auto level. */
  private onLevelSwitching(): void {
    if (this.hls && !this.hls.autoLevelEnabled) this.forced = -1;
  }

  private onFragLoading(_event: string, data: FragLoadingData): void {
    if (!isMain(data.frag)) return;
    this.current = data.frag;
    this.clearTimer();
    this.timer = setInterval(() => this.checkProgress(), PROGRESS_CHECK_MS);
  }

  private onFragLoaded(_event: string, data: FragLoadedData): void {
    const { frag } = data;
    if (!isMain(frag)) return;
    this.clearTimer();
    this.lastLoadedLevel = frag.level;
    if (frag.level === this.forced) this.forced = -1;
    this.cache = null;
    const stats = frag.stats;
    if (stats.aborted || stats.loaded <= 0) return;
    const durationSec = (stats.loading.end - stats.loading.start) / 1000;
    const ttfbSec = Math.max(0, (stats.loading.first - stats.loading.start) / 1000);
    if (!(durationSec > 0) || !Number.isFinite(durationSec)) return;
    const rank = this.levelToRank[frag.level];
    if (rank === undefined) return;
    if (frag.duration > 0 && Number.isFinite(frag.duration)) {
      const m = (this.measured[rank] ??= { bits: 0, sec: 0 });
      m.bits += stats.loaded * 8;
      m.sec += frag.duration;
    }
    this.controller.onDownloaded({ level: rank, bits: stats.loaded * 8, durationSec, ttfbSec: Math.min(ttfbSec, durationSec) });
    this.samples++;
    this.cache = null;
    const state = this.controller.exportState?.(PlatformHlsAbr.now());
    if (state) {
      try {
        this.storage?.setItem(ABR_STORAGE_KEY, JSON.stringify(state));
      } catch {
        // Quota or disabled storage: the estimate is a nicety, playback goes on.
      }
    }
  }

  /** The emergency rule: called every 100 ms while a main fragment loads. */
  checkProgress(): void {
    const hls = this.hls;
    const frag = this.current;
    if (!hls || !frag || !this.controller.onProgress) return;
    const stats = frag.stats;
    const rank = this.levelToRank[frag.level];
    if (stats.aborted || (stats.total > 0 && stats.loaded >= stats.total) || rank === undefined || !hls.autoLevelEnabled) {
      this.clearTimer();
      return;
    }
    const expectedBits = stats.total > 0 ? stats.total * 8 : (this.stream.bitrates[rank] ?? 0) * frag.duration;
    const next = this.controller.onProgress({
      level: rank,
      segmentIndex: typeof frag.sn === 'number' ? frag.sn : 0,
      bitsLoaded: stats.loaded * 8,
      bitsTotal: expectedBits,
      elapsedSec: (performance.now() - stats.loading.start) / 1000,
      bufferSec: hls.mainForwardBufferInfo?.len ?? 0,
    });
    if (next === null) return;
    const level = this.clampLevel(this.rankToLevel[next] ?? hls.minAutoLevel);
    this.clearTimer();
    this.current = null;
    this.cache = null;
    // As hls.js's own abandon rule: force the lower level, drop the request, and announce it. The stream controller
    // only leaves FRAG_LOADING on FRAG_LOAD_EMERGENCY_ABORTED (an aborted loader calls nothing back): without the
    // event the player would wait on the aborted request forever. It then re-requests the same fragment at nextLoadLevel.
    this.forced = level;
    hls.nextLoadLevel = level;
    frag.abortRequests();
    hls.trigger(this.events.FRAG_LOAD_EMERGENCY_ABORTED, { frag, part: null, stats });
  }

  /**
   * Expected size of a segment at `rank`, for the planner's download times: the real bits per media second of the
   * fragments already loaded at that rank; for a rank not loaded yet, its playlist BANDWIDTH (a peak: planning a rung
   * never seen at it errs on the side of the stall). The master's BANDWIDTH is a peak, and on the platform's own ladder
   * the segments came out 6–35 % smaller than the master said (bench abr-player), so a rung already seen is planned at
   * its real size. Unseen rungs are not scaled by the seen rungs' real/declared ratio: that ratio differs per rung (a
   * 240p of static content compresses far below its BANDWIDTH, a 720p much less), and on the puffer trace of the
   * player benchmark it makes 720p look 23 % cheaper than it is, enough to jump 240p → 720p onto a 0.06 Mbit/s link.
   */
  private readonly segmentBits = (rank: number, index: number): number => {
    const extra = index === this.decisionSn ? (this.refetch[rank] ?? 0) : 0;
    return this.expectedBits(rank) + extra;
  };

  /**
   * hls.js 1.7 re-fetches a buffered segment when it switches to a level whose playlist timing was updated by an
   * earlier parse: it looks the next fragment up in the new level's playlist at the buffered end, which the browser
   * reports in whole microseconds, a hair before that level's end of the segment just buffered; the lookup matches
   * that segment, and hls.js loads it again at the new level before moving on (bench abr-player: 1–4 such re-fetches
   * per run on traces that make the platform switch, up to 27 s of link time). The adapter does not choose
   * fragments, but it can tell the planner what a switch costs: for each rank whose playlist would match a segment
   * before `nextSn` at `bufferEnd` (the same test hls.js applies), the first planned download also carries that
   * segment's bits.
   */
  private refetchBits(nextSn: number, bufferEnd: number | undefined): number[] {
    const hls = this.hls;
    if (!hls || bufferEnd === undefined || !(bufferEnd > 0)) return [];
    const current = this.levelToRank[this.lastLoadedLevel];
    return this.rankToLevel.map((level, rank) => {
      if (rank === current) return 0;
      const fragments = hls.levels[level]?.details?.fragments ?? [];
      const hit = fragments.find((f) => f.start <= bufferEnd && f.start + f.duration > bufferEnd);
      return hit && typeof hit.sn === 'number' && hit.sn < nextSn ? this.expectedBits(rank) : 0;
    });
  }

  private expectedBits(rank: number): number {
    const dur = this.stream.segmentDurationSec;
    const own = this.measured[rank];
    if (own && own.sec > 0) return (own.bits / own.sec) * dur;
    return (this.stream.bitrates[rank] ?? 0) * dur;
  }

  get nextAutoLevel(): number {
    const hls = this.hls;
    if (!hls) return -1;
    if (this.forced > -1) return this.forced;
    if (this.lastLoadedLevel < 0 || this.stream.bitrates.length === 0) return this.firstAutoLevel;
    const bufferSec = hls.mainForwardBufferInfo?.len ?? 0;
    const key = `${this.samples}:${this.lastLoadedLevel}:${String(this.current?.sn)}:${bufferSec.toFixed(1)}:${hls.minAutoLevel}:${hls.maxAutoLevel}`;
    if (this.cache?.key === key) return this.cache.level;
    const details = hls.levels[this.lastLoadedLevel]?.details;
    const nextSn = this.current && typeof this.current.sn === 'number' ? this.current.sn + 1 : 0;
    this.decisionSn = nextSn;
    this.refetch = this.refetchBits(nextSn, hls.mainForwardBufferInfo?.end);
    const rank = this.controller.chooseLevel({
      bufferSec,
      lastLevel: this.levelToRank[this.lastLoadedLevel] ?? -1,
      segmentIndex: nextSn,
      segmentsLeft: details && !details.live ? Math.max(1, details.endSN - nextSn + 1) : undefined,
      segmentBits: this.segmentBits,
      maxLevel: this.levelToRank[hls.maxAutoLevel],
    });
    const level = this.clampLevel(this.rankToLevel[rank] ?? hls.minAutoLevel);
    this.cache = { key, level };
    this.lastAnswer = level;
    return level;
  }

  set nextAutoLevel(level: number) {
    // The stream controller writes back what it just read from us: not a force (see the header).
    if (this.forced < 0 && level === this.lastAnswer) return;
    this.forced = level < 0 ? -1 : this.clampLevel(level);
    this.cache = null;
  }

  get forcedAutoLevel(): number {
    return this.forced;
  }

  get firstAutoLevel(): number {
    const hls = this.hls;
    if (!hls || this.stream.bitrates.length === 0) return 0;
    const rank = this.controller.chooseLevel({
      bufferSec: 0,
      lastLevel: -1,
      segmentIndex: 0,
      maxLevel: this.levelToRank[hls.maxAutoLevel],
    });
    const level = this.clampLevel(this.rankToLevel[rank] ?? hls.minAutoLevel);
    this.lastAnswer = level;
    return level;
  }

  /**
   * hls.js semantics (its AbrController.resetEstimator): start a fresh estimator whose *default* is `bps`. What was
   * measured so far is dropped; the default is only reported until the first sample and never drives a
   * decision (a first-time viewer starts on the lowest rung; a returning viewer's stored estimate is kept, since
   * hls.js only resets an estimate that is still its default).
   */
  resetEstimator(abrEwmaDefaultEstimate?: number): void {
    if (!abrEwmaDefaultEstimate || !(abrEwmaDefaultEstimate > 0) || !Number.isFinite(abrEwmaDefaultEstimate)) return;
    this.defaultEstimate = abrEwmaDefaultEstimate;
    if (this.samples > 0) {
      this.controller = this.createController(null);
      this.samples = 0;
    }
    this.cache = null;
  }

  destroy(): void {
    this.clearTimer();
    const hls = this.hls;
    if (hls) for (const [event, handler] of this.subscriptions()) hls.off(event, handler, this);
    this.hls = null;
    this.current = null;
  }

  private clampLevel(level: number): number {
    const hls = this.hls;
    if (!hls) return level;
    return Math.min(Math.max(level, hls.minAutoLevel), hls.maxAutoLevel);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function isMain(frag: Fragment): boolean {
  // PlaylistLevelType.MAIN is the string 'main'; compared by value so this file needs no runtime hls.js import.
  return String(frag.type) === 'main' && frag.sn !== 'initSegment';
}

/**
 * What to pass as hls.js's `abrController` option: the class above, typed as `HlsConfig['abrController']`
 * (`typeof AbrController`). hls.js's AbrController declares private members, which makes that type nominal, so no
 * independent class can satisfy it structurally (tsc: "missing lastLevelLoadSec, ... and 31 more"); hls.js itself
 * only ever uses the AbrComponentAPI members that PlatformHlsAbr implements.
 */
export const PlatformAbrController = PlatformHlsAbr as unknown as HlsConfig['abrController'];

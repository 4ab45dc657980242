/**
 * hls.js adapter for the platform's ABR controller.
 *
 * Usage (watch page):
 *   import Hls from 'hls.js';
 *   import { PlatformAbrController } from '<repo>/workers/abr/hls-abr-controller';
 *   const hls = new Hls({ abrController: PlatformAbrController });
 * (`PlatformAbrController` is the class `PlatformHlsAbr`, typed for hls.js's config; see the end of this file.)
 *
 * Import surface: this file and its runtime imports (./platform, ./estimators, ./types) are pure TypeScript with no
 * DOM or Node dependency. hls.js is imported for types only; the `Events` enum is read from the Hls instance's
 * constructor at runtime (`Hls.Events`), so bundling this never pulls in a second copy of hls.js.
 *
 * What hls.js calls on an `abrController` (src/hls.ts, stream/level/error controllers, v1.7):
 * - `nextAutoLevel` (get): the level of the next fragment in auto mode. We answer with the pure controller's pick for
 *   the current buffer (`hls.mainForwardBufferInfo.len`), clamped to [minAutoLevel, maxAutoLevel], so
 *   `autoLevelCapping` and capLevelToPlayerSize keep working (hls.js folds both into maxAutoLevel).
 * - `nextAutoLevel` (set) / `forcedAutoLevel`: hls.js's error controller forces a level after load errors; we obey it
 *   until a fragment of that level has loaded, as hls.js's own controller does.
 * - `firstAutoLevel`: the start level; uses the persisted estimate of a returning viewer, else the lowest rung.
 * - `bwEstimator` (`getEstimate`, `getEstimateTTFB`, `defaultEstimate`): read by `hls.bandwidthEstimate` and
 *   `hls.ttfbEstimate`; we expose the controller's estimate.
 * - `resetEstimator(bps)`: `hls.bandwidthEstimate = bps` (and hls.js's level controller at manifest load); taken as a
 *   prior estimate, trusted like a persisted one.
 * - `destroy()`.
 * Fragment samples come from hls events: FRAG_LOADING starts a 100 ms progress check (the emergency abandon hook),
 * FRAG_BUFFERED feeds the completed download (bytes, request → parsed time, TTFB) and saves the estimate to
 * localStorage (when available) for the viewer's next session.
 */
import type Hls from 'hls.js';
import type { AbrComponentAPI, EwmaBandWidthEstimator, HlsConfig, FragBufferedData, FragLoadedData, FragLoadingData, Fragment } from 'hls.js';
import { createPlatformController } from './platform';
import type { AbrController, AbrStream, PersistedAbrState } from './types';

export const ABR_STORAGE_KEY = 'edge-video:abr-estimate';
const PROGRESS_CHECK_MS = 100;
/** Used until the first playlist says otherwise; the platform's segment duration. */
const DEFAULT_SEGMENT_SEC = 6;

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

  private hls: Hls | null;
  private readonly events: (typeof Hls)['Events'];
  private readonly storage: AbrStorage | null;
  private controller: AbrController;
  private stream: AbrStream;
  /** Controller rank (ascending bitrate) → hls level index, and back. */
  private rankToLevel: number[] = [];
  private levelToRank: number[] = [];
  private forced = -1;
  private lastLoadedLevel = -1;
  private samples = 0;
  private cache: { key: string; level: number } | null = null;
  private current: Fragment | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  readonly bwEstimator: EwmaBandWidthEstimator;

  constructor(hls: Hls) {
    this.hls = hls;
    this.events = (hls.constructor as typeof Hls).Events;
    this.storage = PlatformHlsAbr.storage();
    this.stream = { bitrates: [], segmentDurationSec: DEFAULT_SEGMENT_SEC, maxBufferSec: hls.config.maxBufferLength };
    this.controller = this.createController(readPersisted(this.storage));
    // hls.js types bwEstimator as its own EwmaBandWidthEstimator class (nominal: private fields); callers only use
    // these three members (src/hls.ts bandwidthEstimate / abrEwmaDefaultEstimate / ttfbEstimate).
    const view = {
      getEstimate: (): number => this.controller.bandwidthEstimate() ?? hls.config.abrEwmaDefaultEstimate,
      getEstimateTTFB: (): number => 100,
      get defaultEstimate(): number {
        return hls.config.abrEwmaDefaultEstimate;
      },
      canEstimate: (): boolean => this.controller.bandwidthEstimate() !== null,
      destroy: (): void => {},
    };
    this.bwEstimator = view as unknown as EwmaBandWidthEstimator;
    const E = this.events;
    hls.on(E.MANIFEST_LOADING, this.onManifestLoading, this);
    hls.on(E.LEVELS_UPDATED, this.onLevelsUpdated, this);
    hls.on(E.MANIFEST_PARSED, this.onLevelsUpdated, this);
    hls.on(E.FRAG_LOADING, this.onFragLoading, this);
    hls.on(E.FRAG_LOADED, this.onFragLoaded, this);
    hls.on(E.FRAG_BUFFERED, this.onFragBuffered, this);
  }

  private createController(persisted: PersistedAbrState | null): AbrController {
    return createPlatformController(this.stream, { persisted, nowMs: PlatformHlsAbr.now() });
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
    // Keep what was learnt: the stream description is read by reference, so only its ladder changes.
    this.stream.bitrates = bitrates;
    const target = levels.find((l) => l.details)?.details?.targetduration;
    if (target && target > 0) this.stream.segmentDurationSec = target;
    this.cache = null;
  }

  private onFragLoading(_event: string, data: FragLoadingData): void {
    if (!isMain(data.frag)) return;
    this.current = data.frag;
    this.clearTimer();
    this.timer = setInterval(() => this.checkProgress(), PROGRESS_CHECK_MS);
  }

  private onFragLoaded(_event: string, data: FragLoadedData): void {
    if (!isMain(data.frag)) return;
    this.clearTimer();
    this.lastLoadedLevel = data.frag.level;
    if (data.frag.level === this.forced) this.forced = -1;
  }

  private onFragBuffered(_event: string, data: FragBufferedData): void {
    const { frag } = data;
    const stats = frag.stats;
    if (!isMain(frag) || stats.aborted || stats.loaded <= 0) return;
    const end = stats.parsing.end > 0 ? stats.parsing.end : stats.loading.end;
    const durationSec = (end - stats.loading.start) / 1000;
    const ttfbSec = Math.max(0, (stats.loading.first - stats.loading.start) / 1000);
    if (!(durationSec > 0)) return;
    const rank = this.levelToRank[frag.level];
    if (rank === undefined) return;
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
    // As hls.js's own abandon rule: force the lower level, then drop the request; the stream controller re-requests
    // the same fragment at hls.nextLoadLevel.
    this.forced = level;
    hls.nextLoadLevel = level;
    frag.abortRequests();
  }

  get nextAutoLevel(): number {
    const hls = this.hls;
    if (!hls) return -1;
    if (this.forced > -1) return this.forced;
    if (this.lastLoadedLevel < 0 || this.stream.bitrates.length === 0) return this.firstAutoLevel;
    const bufferSec = hls.mainForwardBufferInfo?.len ?? 0;
    const key = `${this.samples}:${this.lastLoadedLevel}:${bufferSec.toFixed(1)}:${hls.minAutoLevel}:${hls.maxAutoLevel}`;
    if (this.cache?.key === key) return this.cache.level;
    const details = hls.levels[this.lastLoadedLevel]?.details;
    const nextSn = this.current && typeof this.current.sn === 'number' ? this.current.sn + 1 : 0;
    const rank = this.controller.chooseLevel({
      bufferSec,
      lastLevel: this.levelToRank[this.lastLoadedLevel] ?? -1,
      segmentIndex: nextSn,
      segmentsLeft: details && !details.live ? Math.max(1, details.endSN - nextSn + 1) : undefined,
      maxLevel: this.levelToRank[hls.maxAutoLevel],
    });
    const level = this.clampLevel(this.rankToLevel[rank] ?? hls.minAutoLevel);
    this.cache = { key, level };
    return level;
  }

  set nextAutoLevel(level: number) {
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
    return this.clampLevel(this.rankToLevel[rank] ?? hls.minAutoLevel);
  }

  resetEstimator(abrEwmaDefaultEstimate?: number): void {
    if (!abrEwmaDefaultEstimate || !(abrEwmaDefaultEstimate > 0)) return;
    this.controller = this.createController({ bandwidthBps: abrEwmaDefaultEstimate, savedAtMs: PlatformHlsAbr.now() });
    this.samples = 0;
    this.cache = null;
  }

  destroy(): void {
    this.clearTimer();
    const hls = this.hls;
    if (hls) {
      const E = this.events;
      hls.off(E.MANIFEST_LOADING, this.onManifestLoading, this);
      hls.off(E.LEVELS_UPDATED, this.onLevelsUpdated, this);
      hls.off(E.MANIFEST_PARSED, this.onLevelsUpdated, this);
      hls.off(E.FRAG_LOADING, this.onFragLoading, this);
      hls.off(E.FRAG_LOADED, this.onFragLoaded, this);
      hls.off(E.FRAG_BUFFERED, this.onFragBuffered, this);
    }
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

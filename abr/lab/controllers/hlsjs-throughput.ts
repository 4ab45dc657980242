import { capLevel, segmentBitsOf, type AbrController, type AbrStream } from '../../types';

/**
 * hls.js's default throughput rule (v1.7, src/controller/abr-controller.ts), with its defaults from src/config.ts:
 * - estimate = min(fast EWMA, slow EWMA) of per-fragment throughput, half-lives abrEwmaFastVoD = 3 s and
 *   abrEwmaSlowVoD = 9 s of download time; each sample is bits / (download time − min(TTFB, TTFB estimate));
 *   abrEwmaDefaultEstimate = 500 kbit/s before any sample (the level controller only raises it to the first listed
 *   variant's bitrate, ≤ 400 kbit/s here, so it stays 500 kbit/s);
 * - pick the highest rung with bitrate ≤ factor × estimate, factor = abrBandWidthFactor 0.95 for the current rung or
 *   lower and abrBandWidthUpFactor 0.7 above it, whose fetch time (TTFB + bits / (factor × estimate)) is under the
 *   buffer; if none fits, allow maxStarvationDelay = min(segment, 4 s) of stall; else the lowest rung;
 * - first fragment (firstAutoLevel): factor 1, fetch time under buffer/2 + maxStarvationDelay 4 s, else level 0;
 * - emergency abandon (_abandonRulesCheck): once a fragment has loaded for more than half its duration, if it will not
 *   finish before the buffer runs out, switch to the highest lower rung that would load within
 *   min(buffer, duration + TTFB), provided that beats finishing the current one.
 * Playlist-reload time for a switch is not modelled (the simulator has no playlists).
 */
export const HLSJS_PARAMS = {
  ewmaFastHalfLifeSec: 3,
  ewmaSlowHalfLifeSec: 9,
  defaultEstimateBps: 500_000,
  bandwidthFactor: 0.95,
  bandwidthUpFactor: 0.7,
  maxStarvationDelaySec: 4,
  maxLoadingDelaySec: 4,
  defaultTtfbMs: 100,
} as const;

export function createHlsjsThroughputController(stream: AbrStream): AbrController {
  const p = HLSJS_PARAMS;
  let fast = new Ewma(p.ewmaFastHalfLifeSec);
  let slow = new Ewma(p.ewmaSlowHalfLifeSec);
  let defaultEstimate: number = p.defaultEstimateBps;
  const ttfb = new Ewma(p.ewmaSlowHalfLifeSec);
  let loadedFirst = false;

  const estimate = (): number => (fast.weight >= 0.001 ? Math.min(fast.value, slow.value) : defaultEstimate);
  const ttfbSec = (): number => (ttfb.weight >= 0.001 ? ttfb.value : p.defaultTtfbMs) / 1000;
  const sampleTtfb = (sec: number): void => {
    const weight = Math.SQRT2 * Math.exp(-(sec * sec) / 2);
    ttfb.sample(weight, Math.max(sec * 1000, 5));
  };
  const sampleBandwidth = (durationSec: number, bits: number): void => {
    if (bits <= 0) return;
    const seconds = Math.max(durationSec * 1000, Math.min(50, bits / 8 / 100_000)) / 1000;
    fast.sample(seconds, bits / seconds);
    slow.sample(seconds, bits / seconds);
  };

  const fetchSec = (bits: number, bw: number): number => ttfbSec() + bits / bw;

  return {
    name: 'hlsjs',
    chooseLevel(decision) {
      const top = capLevel(stream, decision);
      const bw = estimate();
      const bits = (level: number): number => segmentBitsOf(stream, decision, level, decision.segmentIndex);
      const findBest = (buffer: number, maxStarvation: number, factor: number, upFactor: number): number => {
        for (let i = top; i >= 0; i--) {
          const adjusted = (i > decision.lastLevel ? upFactor : factor) * bw;
          const bitrate = stream.bitrates[i] ?? Infinity;
          if (adjusted >= bitrate && fetchSec(bits(i), adjusted) < buffer + maxStarvation) return i;
        }
        return -1;
      };
      if (!loadedFirst || decision.lastLevel < 0) {
        const first = findBest(decision.bufferSec / 2, p.maxLoadingDelaySec, 1, 1);
        return first >= 0 ? first : 0;
      }
      if (decision.bufferSec > 0) {
        const level = findBest(decision.bufferSec, 0, p.bandwidthFactor, p.bandwidthUpFactor);
        if (level >= 0) return level;
      }
      const maxStarvation = Math.min(stream.segmentDurationSec, p.maxStarvationDelaySec);
      const level = findBest(decision.bufferSec, maxStarvation, p.bandwidthFactor, p.bandwidthUpFactor);
      return level >= 0 ? level : 0;
    },
    onDownloaded(sample) {
      sampleTtfb(sample.ttfbSec);
      sampleBandwidth(sample.durationSec - Math.min(sample.ttfbSec, ttfbSec()), sample.bits);
      loadedFirst = true;
    },
    onProgress(progress) {
      const duration = stream.segmentDurationSec;
      if (progress.level <= 0 || progress.bitsLoaded >= progress.bitsTotal) return null;
      if (progress.elapsedSec <= Math.max(ttfbSec(), duration / 2)) return null;
      const streaming = progress.elapsedSec - ttfbSec();
      const loadRate = progress.bitsLoaded > 0 && streaming > 0 ? progress.bitsLoaded / streaming : 0;
      const finishSec = loadRate
        ? (progress.bitsTotal - progress.bitsLoaded) / loadRate
        : progress.bitsTotal / estimate() + ttfbSec();
      if (finishSec <= progress.bufferSec) return null;
      const bwe = loadRate || estimate();
      let next = progress.level - 1;
      let nextSec = Infinity;
      for (; next >= 0; next--) {
        nextSec = ttfbSec() + (duration * (stream.bitrates[next] ?? 0)) / bwe;
        if (nextSec < Math.min(progress.bufferSec, duration + ttfbSec()) || next === 0) break;
      }
      if (nextSec >= finishSec || nextSec > duration * 10) return null;
      if (progress.bitsLoaded > 0) sampleBandwidth(progress.elapsedSec - ttfbSec(), progress.bitsLoaded);
      const nextBitrate = stream.bitrates[next] ?? 0;
      if (estimate() * p.bandwidthUpFactor > nextBitrate) {
        // hls.js resetEstimator(nextLoadLevelBitrate): start over from the rung it fell back to.
        fast = new Ewma(p.ewmaFastHalfLifeSec);
        slow = new Ewma(p.ewmaSlowHalfLifeSec);
        defaultEstimate = nextBitrate;
      }
      return Math.max(next, 0);
    },
    bandwidthEstimate: () => (fast.weight >= 0.001 ? estimate() : null),
  };
}

/**
 * hls.js's EWMA (src/utils/ewma.ts), ported line for line: weights are seconds of download, so the half-life is in
 * seconds of downloading, and the estimate is de-biased for the zero it starts from.
 */
export class Ewma {
  private readonly alpha: number;
  private estimate = 0;
  private totalWeight = 0;

  constructor(readonly halfLife: number) {
    this.alpha = halfLife ? Math.exp(Math.log(0.5) / halfLife) : 0;
  }

  sample(weight: number, value: number): void {
    const adjAlpha = Math.pow(this.alpha, weight);
    this.estimate = value * (1 - adjAlpha) + adjAlpha * this.estimate;
    this.totalWeight += weight;
  }

  get weight(): number {
    return this.totalWeight;
  }

  get value(): number {
    if (this.alpha) {
      const zeroFactor = 1 - Math.pow(this.alpha, this.totalWeight);
      if (zeroFactor) return this.estimate / zeroFactor;
    }
    return this.estimate;
  }
}

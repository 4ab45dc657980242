/**
 * Every tunable of the platform, with the production design's values as defaults. Environment variables
 * (wrangler `[vars]`, or test bindings) may override the ones listed in `fromEnv`.
 */
export interface Rung {
  name: string;
  width: number;
  height: number;
  /** Target video bitrate, bits/s. */
  bitrate: number;
}

/** The seed's 7-rung H.264 ladder. Never upscaled: rungs above the source height are skipped. */
export const LADDER: readonly Rung[] = [
  { name: '240p', width: 426, height: 240, bitrate: 400_000 },
  { name: '360p', width: 640, height: 360, bitrate: 800_000 },
  { name: '480p', width: 854, height: 480, bitrate: 1_500_000 },
  { name: '720p', width: 1280, height: 720, bitrate: 3_000_000 },
  { name: '1080p', width: 1920, height: 1080, bitrate: 6_000_000 },
  { name: '1440p', width: 2560, height: 1440, bitrate: 10_000_000 },
  { name: '4k', width: 3840, height: 2160, bitrate: 20_000_000 },
];

const MiB = 1024 * 1024;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const defaults = {
  uploads: {
    /** Seed: 10 MB chunks. R2 needs equal-size parts ≥ 5 MiB except the last. */
    chunkSize: 10 * MiB,
    minChunkSize: 5 * MiB,
    /** Seed: 24 h upload sessions. */
    sessionTtlMs: 24 * HOUR,
    /** Largest original accepted at initiate (413 above). */
    maxFileSize: 20 * 1024 * MiB,
    /** R2 allows at most 10,000 parts per multipart upload. */
    maxParts: 10_000,
    /**
     * A writer (one chunk PUT, one tus PATCH, one completion) holds a lease in the UploadSession; it renews it
     * every third of this while streaming, so a crashed writer's lease lapses within this and the client can retry.
     */
    writeLeaseMs: 30_000,
  },
  transcoding: {
    ladder: LADDER,
    /** Apple's HLS authoring spec recommends 6 s; the seed used 10 s. */
    segmentDurationSec: 6,
    audioBitrate: 128_000,
    /**
     * The seed encoded at `medium`. At the ladder's constrained bitrates (same -b:v/-maxrate/-bufsize) `veryfast`
     * measured about half of medium's x264 CPU with SSIM within 0.001 of it on every rung tested (bench/transcode
     * and the numbers in README "Transcoding"), well inside the 0.005 budget: that is the default.
     */
    x264Preset: 'veryfast',
    /** A PROCESSING job whose lease expired is considered abandoned by a crashed worker. */
    jobLeaseMs: 10 * MINUTE,
    maxAttempts: 5,
    retryBaseDelaySec: 5,
    /** Backoff ceiling for `message.retry({ delaySeconds })`. */
    retryMaxDelaySec: 600,
    /** The seed's rate control: -maxrate 1.5× and -bufsize 2× the target bitrate. */
    maxrateFactor: 1.5,
    bufsizeFactor: 2,
    /** Sources above this frame rate are resampled down to it. */
    maxFrameRate: 60,
    /** The lowest rung is encoded by its own job so the video is playable long before the full ladder is done. */
    firstRungSeparately: true,
    /** A PENDING job untouched this long lost its queue message (e.g. the send failed); the sweeper re-sends it. */
    stalePendingMs: 2 * MINUTE,
    thumbnails: {
      /** Storyboard: one 160-px-wide tile every 2 s (at most 400 tiles: longer videos space them out). */
      intervalSec: 2,
      maxTiles: 400,
      tileWidth: 160,
      columns: 10,
      rows: 10,
      posterMaxHeight: 720,
    },
  },
  playback: {
    signedUrlTtlSec: 3600,
    maxSignedUrlTtlSec: 24 * 3600,
    clockSkewSec: 5,
    segmentCacheControl: 'public, max-age=31536000, immutable',
    processingCacheControl: 'public, max-age=5',
    /** Cache warming: the first 30 s of every rung plus manifests on video.ready. */
    warmFirstSeconds: 30,
    trendingCount: 100,
    trendingRenditions: ['720p', '1080p'],
    /** Seed: trending videos are warmed for the first half of their segments (most viewers do not finish). */
    trendingWarmFraction: 0.5,
    /** Trending window: views in `view_aggregates` over the last 24 h. */
    trendingWindowHours: 24,
    /** Objects fetched at once while warming, and at most per warming run (Workers cap subrequests per invocation). */
    warmConcurrency: 6,
    warmBudgetPerRun: 900,
    /** How long one isolate reuses a video's status and renditions on cache misses (see playback/state.ts). */
    stateTtlMs: 2000,
    /** Longest a request waits for another request's in-flight fill of the same object before reading R2 itself. */
    singleFlightWaitMs: 2000,
    /** Per-isolate memory cache for the hottest objects (see playback/hot-cache.ts); isolates have 128 MB. */
    hotCache: { maxBytes: 32 * MiB, maxEntryBytes: 8 * MiB, ttlMs: 60_000 },
  },
  views: {
    /** A view counts after 30 s watched, or 50% of a short (< 60 s) video. */
    minWatchSeconds: 30,
    shortVideoSeconds: 60,
    shortVideoFraction: 0.5,
    /** One view per (viewer, video) per 30 minutes. */
    dedupWindowMs: 30 * MINUTE,
    /** Shards of a cold video: one object (creating objects is the cost cold traffic pays); see routing.ts. */
    shards: 1,
    hotVideoShards: 32,
    /**
     * HyperLogLog precision: 2^15 one-byte registers (32 KiB), 0.57% standard error. Redis uses 2^14 (0.81%), but
     * with 0.81% a 1% error is only a 1.2σ event (about one id set in five misses the ≤ 1% target); at 2^15 it is 1.75σ.
     */
    hllPrecision: 15,
    samplingEnabled: false,
    samplingRate: 0.01,
    /** A base shard that accepts this many views in one minute promotes its video to `hotVideoShards`. */
    hotShardViewsPerMinute: 300,
    /** How long a Worker isolate trusts its cached shard count; bounds how long stale routing can last. */
    shardConfigCacheMs: 30_000,
    /** View beacons are tiny; anything larger is refused (413). */
    maxBodyBytes: 4096,
    /** A watch longer than the video by more than this (max of the two) is absurd and refused (400). */
    watchSlackSeconds: 10,
    watchSlackFraction: 0.1,
    /** Without a stored or client duration, a watch longer than this is refused. */
    maxWatchSeconds: 24 * 3600,
    /** The client's videoDuration may differ from the stored one by this much (max of the two) before 400. */
    durationToleranceSeconds: 2,
    durationToleranceFraction: 0.05,
    /** Per (viewer, video) events accepted per minute before 429 (a player sends one beacon per view). */
    viewerEventsPerMinute: 12,
    /** Analytics events are sent to the queue in batches of this size, or after this delay. */
    analyticsBatchSize: 100,
    analyticsMaxDelayMs: 2000,
    /** Dedup entries are swept by alarm no more often than this. */
    dedupSweepIntervalMs: MINUTE,
    /** Shards flush at the top of the hour plus up to this much, so D1 does not take every flush at once. */
    flushJitterMs: MINUTE,
    /** Stats: default and largest hourly range. */
    statsDefaultHours: 48,
    statsMaxHours: 31 * 24,
  },
  metadataCache: {
    ttlSec: 3600,
    jitterFraction: 0.1,
  },
} as const;

export type Config = typeof defaults;

/** Numeric overrides from the environment; anything absent keeps its default. */
export function loadConfig(env: Partial<Record<string, unknown>>): Config {
  const num = (name: string, fallback: number): number => {
    const raw = env[name];
    if (typeof raw !== 'string' || raw.trim() === '') return fallback;
    const value = Number(raw);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const str = (name: string, fallback: string): string => {
    const raw = env[name];
    return typeof raw === 'string' && /^[a-z0-9_-]{1,32}$/i.test(raw.trim()) ? raw.trim() : fallback;
  };
  return {
    ...defaults,
    uploads: {
      ...defaults.uploads,
      chunkSize: num('UPLOAD_CHUNK_SIZE', defaults.uploads.chunkSize),
      maxFileSize: num('UPLOAD_MAX_FILE_SIZE', defaults.uploads.maxFileSize),
      sessionTtlMs: num('UPLOAD_SESSION_TTL_MS', defaults.uploads.sessionTtlMs),
    },
    views: {
      ...defaults.views,
      samplingEnabled: env.VIEWS_SAMPLING_ENABLED === 'true' || env.VIEWS_SAMPLING_ENABLED === '1',
      samplingRate: Math.min(1, num('VIEWS_SAMPLING_RATE', defaults.views.samplingRate)),
      hotShardViewsPerMinute: num('VIEWS_HOT_SHARD_PER_MINUTE', defaults.views.hotShardViewsPerMinute),
      viewerEventsPerMinute: num('VIEWS_VIEWER_EVENTS_PER_MINUTE', defaults.views.viewerEventsPerMinute),
    },
    transcoding: {
      ...defaults.transcoding,
      segmentDurationSec: num('SEGMENT_DURATION_SEC', defaults.transcoding.segmentDurationSec),
      x264Preset: str('X264_PRESET', defaults.transcoding.x264Preset),
      jobLeaseMs: num('TRANSCODE_JOB_LEASE_MS', defaults.transcoding.jobLeaseMs),
      maxAttempts: num('TRANSCODE_MAX_ATTEMPTS', defaults.transcoding.maxAttempts),
      retryBaseDelaySec: num('TRANSCODE_RETRY_BASE_DELAY_SEC', defaults.transcoding.retryBaseDelaySec),
    },
  } as Config;
}

/**
 * The local transcoder process's URL when TRANSCODER_URL names one (`npm start`, the tests); null when jobs go to
 * the TRANSCODER container binding (TRANSCODER_URL "container" or empty: production).
 */
export function localTranscoderUrl(env: Partial<Record<string, unknown>> | Env): string | null {
  const raw = (env as Partial<Record<string, unknown>>).TRANSCODER_URL;
  const base = typeof raw === 'string' ? raw.trim() : '';
  return /^https?:\/\//.test(base) ? base.replace(/\/$/, '') : null;
}

/** Benchmark-only routes exist only when BENCH_ROUTES is "1" (the benchmarks' local stacks set it). */
export function benchRoutesEnabled(env: Partial<Record<string, unknown>> | Env): boolean {
  return (env as Partial<Record<string, unknown>>).BENCH_ROUTES === '1';
}

/**
 * Every tunable of the platform, with the production design's values as defaults (docs/design.md). The environment
 * overrides some of them; `loadConfig` (config.ts) is the only reader of the environment.
 */
import type { LadderMode, Packaging } from '../../schema/schema';

export interface Rung {
  name: string;
  width: number;
  height: number;
  /** Target video bitrate, bits/s. */
  bitrate: number;
}

/** The production design's 7-rung H.264 ladder. Never upscaled: rungs above the source height are skipped. */
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
    /** Production design: 10 MB chunks. R2 needs equal-size parts ≥ 5 MiB except the last. */
    chunkSize: 10 * MiB,
    minChunkSize: 5 * MiB,
    /** Production design: 24 h upload sessions. */
    sessionTtlMs: 24 * HOUR,
    /** Largest original accepted at initiate (413 above). */
    maxFileSize: 20 * 1024 * MiB,
    /** R2 allows at most 10,000 parts per multipart upload. */
    maxParts: 10_000,
    /** tus concatenation: most partial uploads one final upload may name (tus-js-client uses `parallelUploads`). */
    maxConcatPartials: 64,
    /**
     * A writer (one chunk PUT, one tus PATCH, one completion) holds a lease in the UploadSession; it renews it
     * every third of this while streaming, so a crashed writer's lease lapses within this and the client can retry.
     */
    writeLeaseMs: 30_000,
  },
  transcoding: {
    ladder: LADDER,
    /** Apple's HLS authoring spec recommends 6 s; the production design used 10 s. */
    segmentDurationSec: 6,
    audioBitrate: 128_000,
    /**
     * The production design encoded at `medium`. At the ladder's constrained bitrates (same -b:v/-maxrate/-bufsize) `veryfast`
     * measured about half of medium's x264 CPU with SSIM within 0.001 of it on every rung tested (bench/transcode
     * and the numbers in README "Transcoding"), well inside the 0.005 budget: that is the default.
     */
    x264Preset: 'veryfast',
    /** A new video's `ladderMode` and `packaging` when its creation names none (env LADDER_MODE, PACKAGING). */
    ladderMode: 'fixed' as LadderMode,
    packaging: 'ts' as Packaging,
    /**
     * Per-title ladders: capped CRF (a quality target per rung; the fixed ladder's `-maxrate`/`-bufsize` as the cap),
     * the CRF chosen by a complexity probe of the video (docs/transcoding.md, "Rate control").
     */
    perTitle: {
      /**
       * The lowest rung is encoded while the probe runs, so the first playable rung never waits for it: it gets
       * this CRF, which stayed within 0.003 SSIM of the fixed 240p rung on every source of `npm run bench -- ladder`.
       */
      lowestRungCrf: 21,
      /** The probe's sample: windows spread over the source, each this long. */
      windows: 3,
      windowSec: 1,
      /**
       * H.264: the largest CRF in range whose SSIM is at most `maxSsimLoss` below the fixed rung's on the sample
       * (searched from `startCrf` in steps of `step`, then narrowed).
       */
      h264: { minCrf: 16, maxCrf: 32, startCrf: 24, step: 4, maxSsimLoss: 0.002 },
      /** HEVC and AV1: the largest CRF whose SSIM is within `ssimTolerance` of the chosen H.264 encode's. */
      hevc: { minCrf: 18, maxCrf: 40, startCrf: 28, step: 4 },
      av1: { minCrf: 20, maxCrf: 63, startCrf: 40, step: 8 },
      /**
       * Half of what a search may allow: the sample (three 1 s windows) misses the whole video's SSIM by up to
       * about 0.0015 on grainy sources, so with 0.001 a codec rung landed 0.002 below H.264's on the whole video.
       * With 0.0005 every rung of the benchmark's sources stayed within 0.0015 below; with 0, HEVC spent 1.5 % and
       * AV1 10 % more bits.
       */
      ssimTolerance: 0.0005,
    },
    /**
     * libx265 preset of HEVC rungs (env HEVC_PRESET; CMAF only). `medium`, not x264's `veryfast`: on 8 s of the grainy
     * 1080p source under the 9 Mb/s cap, x265 `veryfast` and `fast` reached SSIM 0.914 at any CRF from 18 to 22,
     * `medium` 0.917 at the same bits (x264 0.9135), for 1.8× the CPU: only `medium` can match H.264 there with
     * fewer bits.
     */
    hevcPreset: 'medium',
    /**
     * libaom real-time `-cpu-used` (env AV1_CPU_USED, 5–8). 8 turns off most of AV1's coding tools: at equal SSIM it
     * spent 1.9× the bits of 6 (median of four 720p sources; 6 needed 0.36–0.79× of 8's bits) for 30–85 % of its CPU
     * time (`npm run bench -- ladder` measures the whole ladder).
     */
    av1CpuUsed: 6,
    /** Fixed ladder of the extra codecs: their target bitrates as a fraction of the H.264 rung's. */
    codecBitrateFactor: { hevc: 0.7, av1: 0.6 },
    /**
     * A PROCESSING job whose lease expired is considered abandoned by a crashed worker. The transcoder's progress
     * heartbeat (every 2 s, also while a unit waits for a free slot) renews it, so it only has to outlast a few
     * missed heartbeats: a killed container's unit is taken over within about this long.
     */
    jobLeaseMs: 2 * MINUTE,
    maxAttempts: 5,
    retryBaseDelaySec: 5,
    /** Backoff ceiling for `message.retry({ delaySeconds })`. */
    retryMaxDelaySec: 600,
    /** The production design's rate control: -maxrate 1.5× and -bufsize 2× the target bitrate. */
    maxrateFactor: 1.5,
    bufsizeFactor: 2,
    /** Sources above this frame rate are resampled down to it. */
    maxFrameRate: 60,
    /** The lowest rung is encoded by its own job so the video is playable long before the full ladder is done. */
    firstRungSeparately: true,
    /**
     * Chunked encoding: the timeline is cut into chunks of this many seconds (rounded to a multiple of the segment
     * duration), each chunk × rung group one unit of work on its own container instance. 60 s keeps one unit well
     * under a minute of CPU for the big rungs at 1080p while the per-unit overhead (instance start, seek, probe)
     * stays a few percent. Videos shorter than one chunk are one chunk.
     */
    chunkSec: 60,
    /**
     * The audio unit reads the source at most this many times real time (ffmpeg `-readrate`; 0: unlimited). Its
     * track only has to stay ahead of playback (it is published as it grows), while reading a long source at full
     * speed competes with the first chunks for the storage path (and, locally, for the same cores): at 10× a 60 s
     * first chunk has its audio within ~6 s, and a 20-minute source's audio takes 2 minutes, still well inside the
     * time its chunks take.
     */
    audioReadRate: 10,
    /**
     * Dispatched units running at once across the platform (the container `max_instances`): the consumer leaves a
     * unit queued (retry after `admissionRetrySec`) rather than start an instance past this.
     */
    maxRunningUnits: 10,
    admissionRetrySec: 15,
    /** After a delete, the video's prefix is swept again this much later (uploads that were in flight land first). */
    purgeDelaySec: 20,
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
    /** Production design: trending videos are warmed for the first half of their segments (most viewers do not finish). */
    trendingWarmFraction: 0.5,
    /** Trending window: views in `view_aggregates` over the last 24 h. */
    trendingWindowHours: 24,
    /** Objects fetched at once while warming, and at most per warming run (Workers cap subrequests per invocation). */
    warmConcurrency: 6,
    warmBudgetPerRun: 900,
    /** How long one isolate reuses a video's status and renditions on cache misses (see playback/state.ts). */
    stateTtlMs: 2000,
    /**
     * How long one isolate reuses a video's access settings (owner, visibility, requireSignedURLs, allowed origins)
     * on every request, cache hits included (playback/policy.ts): an edit reaches every location within this.
     */
    policyTtlMs: 10_000,
    /**
     * How long one isolate trusts what it read of a signing key (workers/signing-keys/lookup.ts): a revoked key's
     * tokens are refused everywhere within this.
     */
    signingKeyCacheMs: 30_000,
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
    /**
     * Playback sessions (workers/views/playback-session.ts): how long one is accepted on a beacon (a long film with
     * pauses), and the slack on "watched ≤ time since the session started" for clocks and request latency.
     */
    sessionTtlSec: 12 * 3600,
    sessionSkewSec: 5,
    /**
     * Quality of experience (workers/views/qoe, docs/qoe.md): a beacon's size, and how many records one
     * playback session may send (each replaces the one before; a player sends one when the page is hidden or closed).
     */
    qoe: { maxBodyBytes: 8192, maxUpdatesPerSession: 32 },
    /**
     * Per-address allowances (workers/views/client-limiter.ts), sized for a shared address: an office of a few
     * hundred people opening a few videos each, or fifty of them counting the same video within an hour.
     */
    allowances: {
      sessionsPerWindow: 600,
      sessionWindowSec: 600,
      viewsPerVideoPerWindow: 50,
      viewWindowSec: 3600,
      /** Limiter objects the addresses are spread over (each decides its addresses alone, so limits stay exact). */
      limiterShards: 64,
    },
  },
  deletion: {
    /** The cron sweeps R2 prefixes of videos deleted this recently (longer than a job can outlive its video). */
    sweepWindowMs: 6 * HOUR,
    /** `scheduledDeletion`: at least this far ahead when set (a mistyped date cannot delete a video at once)… */
    scheduledMinAheadMs: HOUR,
    /** …and at most this far (SCHEDULED_DELETION_MAX_DAYS). */
    scheduledMaxAheadMs: 365 * 24 * HOUR,
    /** Due videos deleted per cron run (the rest wait for the next run, five minutes later). */
    scheduledPerRun: 100,
  },
  /**
   * Uploaded originals: kept while the video lives (null), or deleted this long after the video became READY
   * (ORIGINAL_RETENTION_DAYS; 0: at the first cron run after READY). The rungs, audio, captions and everything
   * cut from segments stay; what needs the original (re-encoding a rendition) is refused once it is gone.
   */
  originals: {
    retentionMs: null as number | null,
    /** Originals deleted per cron run (the rest wait for the next run, five minutes later). */
    deletedPerRun: 50,
  },
  /**
   * Thumbnails at any time (workers/frames): canonical widths, the width without `width=`, the poster's width. Times
   * snap to the storyboard's grid (`transcoding.thumbnails`: every 2 s, at most 400 points), so a video has at most
   * 400 × 7 frames however long it is.
   */
  frames: {
    widths: [160, 320, 480, 640, 960, 1280, 1920],
    defaultWidth: 640,
    posterWidth: 1280,
    /**
     * Frames cut on request (neither in the edge cache nor in R2 yet) per client address per window: each cut is
     * about half a second of transcoder time, so 120 per 10 minutes bounds one address to about a minute of it.
     * Cached frames are free. Sized like the playback-session allowance, for a shared address.
     */
    cutsPerWindow: 120,
    cutWindowSec: 600,
    /** A chosen poster (posterTime) can change, so it is not cached as immutable; a change purges it locally. */
    posterCacheControl: 'public, max-age=300',
  },
  /** Caption tracks (workers/captions). */
  captions: {
    maxBytes: 2 * MiB,
    maxTracks: 20,
    maxLabel: 100,
    /** Caption objects can be replaced, so they are cached briefly (a change is also purged at once locally). */
    cacheControl: 'public, max-age=60',
  },
  /** Extra audio tracks (workers/audio-tracks), encoded from the `audio-tracks` queue. */
  audioTracks: {
    /** The largest audio file a PUT takes (AUDIO_TRACK_MAX_BYTES); above it the answer is 413 and nothing is kept. */
    maxBytes: 200 * MiB,
    maxTracks: 8,
    jobLeaseMs: 10 * MINUTE,
    maxAttempts: 4,
    retryBaseDelaySec: 5,
    retryMaxDelaySec: 300,
    /** A file this much longer or shorter than the video is cut or padded with a warning; within it, silently. */
    lengthToleranceSec: 0.1,
  },
  /** Instant clips (workers/clips): their playlists follow the source's current rungs, so they are not immutable. */
  clips: {
    playlistCacheControl: 'public, max-age=60',
  },
  /** MP4 downloads (workers/downloads), run from the `media-jobs` queue. */
  downloads: {
    jobLeaseMs: 10 * MINUTE,
    maxAttempts: 4,
    retryBaseDelaySec: 5,
    retryMaxDelaySec: 300,
    /** A remux must match the rung's duration to within this, else the download is re-encoded from the original. */
    durationToleranceSec: 0.5,
    /** A download can be re-made (after a source re-transcode): cached for a day, not as immutable. */
    cacheControl: 'public, max-age=86400',
  },
  /** Imports from a URL (workers/imports). */
  imports: {
    /** The whole import must finish within this (IMPORT_TIME_LIMIT_SEC); past it the video fails. */
    timeLimitMs: 2 * HOUR,
    /** A source that sends nothing for this long is dropped; the next attempt resumes (IMPORT_STALL_MS). */
    stallMs: 30_000,
    /** One invocation streams at most this long, then hands over to the next (queue consumers have 15 min). */
    invocationBudgetMs: 10 * MINUTE,
    maxRedirects: 5,
    maxAttempts: 8,
    retryBaseDelaySec: 5,
    retryMaxDelaySec: 300,
    /** Renewed with every part stored. */
    leaseMs: 2 * MINUTE,
    /**
     * Source hosts (`host:port`) allowed although they are loopback or private: local development and the tests'
     * own servers only (IMPORT_PRIVATE_HOSTS; `*` allows every private host). Empty in production.
     */
    privateHosts: [] as readonly string[],
  },
  /** Usage metering (workers/usage). */
  usage: {
    /** An isolate adds the delivered seconds it counted to D1 at most this often (USAGE_FLUSH_MS). */
    deliveredFlushMs: 10_000,
  },
  metadataCache: {
    ttlSec: 3600,
    jitterFraction: 0.1,
  },
  live: {
    /** A pushed segment over this is refused (413) before it is stored; 2 s of 1080p60 at 12 Mb/s is about 3 MiB. */
    maxSegmentBytes: 16 * MiB,
    /** A pushed playlist over this is refused (413). */
    maxPlaylistBytes: 256 * 1024,
    /** How far back a viewer may seek while live (the recording keeps everything). */
    defaultDvrWindowSec: 2 * 3600,
    maxDvrWindowSec: 12 * 3600,
    /** Edge lifetime of a live broadcast's playlists: about half a 2 s segment, so one origin fetch per second per location. */
    playlistCacheControl: 'public, max-age=1',
    /** After this long without a pushed request, the broadcast ends (a reconnect within it continues it). */
    defaultReconnectWindowSec: 60,
    /** The live ladder (workers/live/ladder.ts): each pushed segment transcoded into the ladder's lower rungs. */
    ladder: {
      /** Off (LIVE_LADDER=false): the broadcast plays as the one rung the broadcaster pushes. */
      enabled: true,
      /**
       * Pushed segments waiting for their encode beyond which the top transcoded rung is dropped for the rest of
       * the broadcast (LIVE_LADDER_MAX_BACKLOG). 2: a viewer at hls.js's default three segments behind the edge
       * still finds every rung's segment there.
       */
      maxBacklogSegments: 2,
    },
  },
  directUploads: {
    /** How long a direct upload URL may be used to start its upload (an upload started in time runs its session TTL). */
    defaultTtlSec: 3600,
    minTtlSec: 60,
    maxTtlSec: 7 * 24 * 3600,
    maxAllowedOrigins: 20,
  },
  webhooks: {
    /** A receiver gets this long to answer one delivery; then it counts as a failed attempt and is retried. */
    timeoutMs: 10_000,
    /** Retries back off `base · 2^(n-1)` capped at `maxDelay` (Queues allow at most 12 h), for at least `window`. */
    retryBaseDelaySec: 30,
    retryMaxDelaySec: 6 * 3600,
    retryWindowSec: 24 * 3600,
    maxUrlLength: 2048,
    maxEndpointsPerCreator: 20,
    /** Local development only: receivers on loopback / private addresses (refused in production: SSRF). */
    allowPrivateUrls: false as boolean,
  },
} as const;

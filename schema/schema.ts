/**
 * D1 schema (drizzle-orm). Migrations in schema/migrations are generated from this file with
 * `npm run db:generate` (drizzle-kit) and applied with `wrangler d1 migrations apply` (and
 * `applyD1Migrations` in tests). Times are integer milliseconds since the epoch unless named otherwise.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const creators = sqliteTable('creators', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
  /** Operator-set caps (workers/usage/quota.ts); null: no cap. */
  quotaMinutesStored: real('quota_minutes_stored'),
  quotaBytesStored: integer('quota_bytes_stored'),
});

/** API tokens are stored as SHA-256 hex of the token; the token itself is shown once. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    creatorId: text('creator_id').notNull().references(() => creators.id),
    tokenHash: text('token_hash').notNull(),
    name: text('name').notNull().default(''),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash_uq').on(t.tokenHash)],
);

export const VIDEO_STATUSES = ['UPLOADING', 'PROCESSING', 'READY', 'FAILED', 'DELETED'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];
export const VISIBILITIES = ['public', 'unlisted', 'private'] as const;
export type Visibility = (typeof VISIBILITIES)[number];
/** `fixed`: the configured ladder's bitrates; `per-title`: capped CRF chosen from the video's own content. */
export const LADDER_MODES = ['fixed', 'per-title'] as const;
export type LadderMode = (typeof LADDER_MODES)[number];
/** `ts`: MPEG-TS segments (HLS); `cmaf`: fragmented MP4 segments with an init segment (HLS and DASH). */
export const PACKAGINGS = ['ts', 'cmaf'] as const;
export type Packaging = (typeof PACKAGINGS)[number];
export const VIDEO_CODECS = ['h264', 'hevc', 'av1'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];

export const videos = sqliteTable(
  'videos',
  {
    id: text('id').primaryKey(),
    creatorId: text('creator_id').notNull().references(() => creators.id),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    visibility: text('visibility').$type<Visibility>().notNull().default('public'),
    status: text('status').$type<VideoStatus>().notNull(),
    /** User-readable reason when status is FAILED. */
    error: text('error'),
    /** Facts about the uploaded original (set at upload completion and by ffprobe analysis). */
    sourceSize: integer('source_size'),
    sourceSha256: text('source_sha256'),
    duration: real('duration'),
    width: integer('width'),
    height: integer('height'),
    frameRate: real('frame_rate'),
    rotation: integer('rotation'),
    videoCodec: text('video_codec'),
    audioCodec: text('audio_codec'),
    hasAudio: integer('has_audio', { mode: 'boolean' }),
    /** Flushed total; live totals add the ViewCounter shards' unflushed deltas. */
    viewCount: integer('view_count').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    readyAt: integer('ready_at'),
    deletedAt: integer('deleted_at'),
    /** Creator-chosen poster frame, seconds from the start (null: the transcoder's poster). */
    posterTime: real('poster_time'),
    /**
     * Instant clips (workers/clips): the source video whose segments this video plays, and the range of the
     * source it covers, already rounded outward to segment boundaries. Null for ordinary videos.
     */
    clipOf: text('clip_of'),
    clipStart: real('clip_start'),
    clipEnd: real('clip_end'),
    /** Playback needs a signed token (true) or a public video also plays from an unsigned URL (false). */
    requireSignedUrls: integer('require_signed_urls', { mode: 'boolean' }).notNull().default(true),
    /** JSON array of origins whose pages may play the video (null: any); applies to every token for the video. */
    allowedOrigins: text('allowed_origins'),
    /** When the video deletes itself (ms; null: never). The 5-minute cron deletes due videos (metadata/scheduled-deletion.ts). */
    scheduledDeletion: integer('scheduled_deletion'),
    /** BCP 47 tag of the original upload's own audio (the main audio rendition); `und`: not said. */
    originalLanguage: text('original_language').notNull().default('und'),
    /**
     * Bytes this video keeps in R2 (original and every output), counted by listing its prefixes when it becomes
     * READY and after each later change of its objects (workers/usage/stored.ts); null until first counted.
     */
    storedBytes: integer('stored_bytes'),
    /** Chosen at creation (or the platform default): how the ladder's rate control is decided. */
    ladderMode: text('ladder_mode').$type<LadderMode>().notNull().default('fixed'),
    packaging: text('packaging').$type<Packaging>().notNull().default('ts'),
    /** JSON array of video codecs, H.264 first (e.g. `["h264","av1"]`). */
    codecs: text('codecs').notNull().default('["h264"]'),
    /**
     * JSON: how the ladder's rate control was decided (workers/transcoding/ladder.ts `LadderDecision`): per-title
     * CRFs from the complexity probe, or the fixed ladder with the reason. Null until decided.
     */
    ladder: text('ladder'),
    /** The live input whose broadcast this video records (workers/live); null for uploaded videos. */
    liveInputId: text('live_input_id'),
    /**
     * When the uploaded original was deleted under the platform's retention (ORIGINAL_RETENTION_DAYS;
     * workers/uploads/original-retention.ts); null while it is kept. Without it nothing can be re-encoded.
     */
    originalDeletedAt: integer('original_deleted_at'),
  },
  (t) => [
    index('videos_scheduled_deletion_idx').on(t.scheduledDeletion),
    index('videos_creator_created_idx').on(t.creatorId, t.createdAt),
    index('videos_status_idx').on(t.status),
    index('videos_clip_of_idx').on(t.clipOf),
    index('videos_original_retention_idx').on(t.originalDeletedAt, t.readyAt),
  ],
);

/** CANCELLED: the video was deleted before the unit finished (workers/shared/leased-work.ts). */
export const JOB_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * One row per unit of work (e.g. `analyze`, `rendition:720p`, `thumbnails`), unique on (video, unit) so a
 * redelivered queue message upserts rather than duplicating.
 */
export const transcodeJobs = sqliteTable(
  'transcode_jobs',
  {
    id: text('id').primaryKey(),
    videoId: text('video_id').notNull().references(() => videos.id),
    unit: text('unit').notNull(),
    status: text('status').$type<JobStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    /** A PROCESSING job whose lease has passed belongs to a crashed worker and may be taken over. */
    leaseUntil: integer('lease_until'),
    /** 0..1 while PROCESSING, for progress display. */
    progress: real('progress').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    startedAt: integer('started_at'),
    completedAt: integer('completed_at'),
    /** Encode chunks: the time range (s) of the source this unit encodes; null for whole-source units. */
    rangeStart: real('range_start'),
    rangeEnd: real('range_end'),
    /** The transcoder's result (JSON) once COMPLETED: fan-in builds the playlists from these rows. */
    result: text('result'),
  },
  (t) => [uniqueIndex('transcode_jobs_video_unit_uq').on(t.videoId, t.unit)],
);

/** What the transcoder produced for one rung of the ladder; the manifest module builds playlists from it. */
export const renditions = sqliteTable(
  'renditions',
  {
    videoId: text('video_id').notNull().references(() => videos.id),
    name: text('name').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    /** Peak segment bitrate, bits/s (HLS BANDWIDTH). */
    bandwidth: integer('bandwidth').notNull(),
    /** Average bitrate, bits/s (HLS AVERAGE-BANDWIDTH). */
    averageBandwidth: integer('average_bandwidth').notNull(),
    /** RFC 6381 codecs string from the encoded streams, e.g. `avc1.64001f,mp4a.40.2`. */
    codecs: text('codecs').notNull(),
    frameRate: real('frame_rate'),
    segmentCount: integer('segment_count').notNull(),
    /** JSON array of segment durations in seconds, in order. */
    segmentDurations: text('segment_durations').notNull(),
    totalBytes: integer('total_bytes').notNull().default(0),
    /** `video` (a ladder rung, listed in the master) or `audio` (the audio rendition every rung references). */
    kind: text('kind').$type<'video' | 'audio'>().notNull().default('video'),
    /** How its segments are packaged: `segment_{n}.ts`, or `init.mp4` + `segment_{n}.m4s`. */
    packaging: text('packaging').$type<Packaging>().notNull().default('ts'),
    /** False while chunks are still encoding: the playlist grows and has no ENDLIST yet. */
    complete: integer('complete', { mode: 'boolean' }).notNull().default(true),
    /** JSON array of the segment numbers that follow a break in the source (a live broadcaster reconnected); null: none. */
    discontinuities: text('discontinuities'),
    /** While the rung grows, the first segment its playlist lists (a live DVR window slides); 0 otherwise. */
    windowStart: integer('window_start').notNull().default(0),
    /**
     * While a live rung grows: the first segment it does not have because the broadcast dropped it (the transcoder
     * fell behind); its playlist lists that segment and every later one as `EXT-X-GAP`. Null: no gap.
     */
    gapFrom: integer('gap_from'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.name] })],
);

/** Hourly view aggregates, upserted by the flush. hour_bucket is the hour's start in epoch seconds. */
export const viewAggregates = sqliteTable(
  'view_aggregates',
  {
    videoId: text('video_id').notNull(),
    hourBucket: integer('hour_bucket').notNull(),
    viewCount: integer('view_count').notNull().default(0),
    uniqueViewers: integer('unique_viewers').notNull().default(0),
  },
  // The trending query (workers/views/trending.ts) filters on a range of hour buckets across all videos; the primary
  // key leads with video_id and cannot serve it.
  (t) => [primaryKey({ columns: [t.videoId, t.hourBucket] }), index('view_aggregates_hour_idx').on(t.hourBucket)],
);

/**
 * Last flush sequence applied per ViewCounter shard, written in the same D1 batch as the counts so a flush
 * retried after a crash is recognised and not counted twice.
 */
export const viewFlushes = sqliteTable('view_flushes', {
  shardId: text('shard_id').primaryKey(),
  lastSeq: integer('last_seq').notNull(),
  updatedAt: integer('updated_at').notNull().default(sql`0`),
});

/**
 * Views: how many ViewCounter shards a video's viewers are spread over. Absent means the default count; a row
 * appears when a shard sees the video get hot. The count only ever grows (8 → 32), and `promoted_at` lets the new
 * shards consult the old ones for the dedup window so no viewer is counted twice across the change.
 */
export const viewShardConfigs = sqliteTable('view_shard_configs', {
  videoId: text('video_id').primaryKey(),
  shardCount: integer('shard_count').notNull(),
  promotedAt: integer('promoted_at').notNull(),
});

/**
 * Views: shards holding unflushed deltas. A shard registers itself (once per pending period, with an increasing
 * generation) and the flush batch removes the row up to the generation it flushed. Shards flush themselves by alarm;
 * the hourly cron uses this table to find the overdue ones (an alarm that kept failing) and flush them.
 */
export const viewPendingShards = sqliteTable(
  'view_pending_shards',
  {
    shardId: text('shard_id').primaryKey(),
    videoId: text('video_id').notNull(),
    shardIndex: integer('shard_index').notNull(),
    generation: integer('generation').notNull(),
    pendingSince: integer('pending_since').notNull(),
  },
  (t) => [index('view_pending_shards_since_idx').on(t.pendingSince)],
);

/**
 * Views: each shard's HyperLogLog estimate of unique viewers per hour. Shards partition viewers (routing by viewer
 * hash), so the hour's unique viewers are the sum over shards; a re-flush replaces its own row, never adds.
 */
export const viewAggregateShards = sqliteTable(
  'view_aggregate_shards',
  {
    videoId: text('video_id').notNull(),
    hourBucket: integer('hour_bucket').notNull(),
    shardIndex: integer('shard_index').notNull(),
    uniqueViewers: integer('unique_viewers').notNull(),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.hourBucket, t.shardIndex] })],
);

/**
 * Quality of experience per video, hour and breakdown cell (viewer country, browser family, OS family): additive sums
 * over the playback sessions that started in that hour, written only by the views flush (workers/views/flush.ts) in
 * the same guarded D1 batch as `view_aggregates`. Rates and averages are read as ratios of sums (docs/qoe.md);
 * `country` is '' when unknown. `played_bits` is Σ average bitrate × watched seconds.
 */
export const qoeAggregates = sqliteTable(
  'qoe_aggregates',
  {
    videoId: text('video_id').notNull(),
    hourBucket: integer('hour_bucket').notNull(),
    country: text('country').notNull(),
    browser: text('browser').notNull(),
    os: text('os').notNull(),
    views: integer('views').notNull().default(0),
    started: integer('started').notNull().default(0),
    startupMsSum: real('startup_ms_sum').notNull().default(0),
    exitsBeforeStart: integer('exits_before_start').notNull().default(0),
    failures: integer('failures').notNull().default(0),
    rebufferCount: integer('rebuffer_count').notNull().default(0),
    stalledMs: real('stalled_ms').notNull().default(0),
    watchedMs: real('watched_ms').notNull().default(0),
    playedBits: real('played_bits').notNull().default(0),
    switches: integer('switches').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.hourBucket, t.country, t.browser, t.os] })],
);

/**
 * The startup-time sketch of each `qoe_aggregates` cell: sessions per log-spaced histogram bucket
 * (workers/views/qoe/sketch.ts), summed over any cells to read percentiles.
 */
export const qoeStartupBuckets = sqliteTable(
  'qoe_startup_buckets',
  {
    videoId: text('video_id').notNull(),
    hourBucket: integer('hour_bucket').notNull(),
    country: text('country').notNull(),
    browser: text('browser').notNull(),
    os: text('os').notNull(),
    bucket: integer('bucket').notNull(),
    sessions: integer('sessions').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.hourBucket, t.country, t.browser, t.os, t.bucket] })],
);

/**
 * Direct creator uploads: a creator mints a single-use tus URL for one video and hands it to an end user's browser.
 * The token in the URL is stored only as its SHA-256. `upload_id` is claimed (compare-and-set) by the one tus
 * creation the URL allows; `completed_at` is set when that upload completes, after which the URL is spent.
 */
export const directUploads = sqliteTable(
  'direct_uploads',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    creatorId: text('creator_id').notNull().references(() => creators.id),
    videoId: text('video_id').notNull().references(() => videos.id),
    maxSizeBytes: integer('max_size_bytes'),
    maxDurationSeconds: real('max_duration_seconds'),
    /** JSON array of origins (`https://app.example`), or null for any origin. */
    allowedOrigins: text('allowed_origins'),
    /** The integrator's own JSON object (e.g. `{"courseId": "c1"}`), echoed in webhook events of the video. */
    metadata: text('metadata'),
    expiresAt: integer('expires_at').notNull(),
    /** Set while a tus creation on this URL is being made (released if it fails), then its upload id. */
    claimedAt: integer('claimed_at'),
    uploadId: text('upload_id'),
    completedAt: integer('completed_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('direct_uploads_token_hash_uq').on(t.tokenHash), index('direct_uploads_video_idx').on(t.videoId)],
);

export const WEBHOOK_EVENTS = [
  'video.ready',
  'video.failed',
  'upload.completed',
  'video.deleted',
  'live_input.connected',
  'live_input.disconnected',
  'live_input.recording.ready',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A creator's webhook endpoint; `secret` (`whsec_…`) signs every delivery (Standard Webhooks). */
export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    creatorId: text('creator_id').notNull().references(() => creators.id),
    url: text('url').notNull(),
    /** JSON array of WebhookEvent. */
    events: text('events').notNull(),
    secret: text('secret').notNull(),
    createdAt: integer('created_at').notNull(),
    deletedAt: integer('deleted_at'),
  },
  (t) => [index('webhook_endpoints_creator_idx').on(t.creatorId)],
);

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One row per (event, endpoint): the message. Its id is the `webhook-id` header, derived from the event and the
 * endpoint, so a repeated emission of the same event is the same row and every retry carries the same id.
 * `round` grows on each redeliver call so queue messages of an earlier round are dropped.
 */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id),
    eventType: text('event_type').$type<WebhookEvent>().notNull(),
    videoId: text('video_id').notNull(),
    /** The exact JSON body sent (signed as is). */
    payload: text('payload').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    round: integer('round').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    lastAttemptAt: integer('last_attempt_at'),
    nextAttemptAt: integer('next_attempt_at'),
    deliveredAt: integer('delivered_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt), index('webhook_deliveries_status_idx').on(t.status, t.nextAttemptAt)],
);

/**
 * Caption tracks (workers/captions): one WebVTT file per (video, language) in R2, listed here with its label.
 * At most one track per video has `is_default` set.
 */
export const captions = sqliteTable(
  'captions',
  {
    videoId: text('video_id').notNull().references(() => videos.id),
    /** Canonical BCP 47 tag, e.g. `en`, `pt-BR`, `zh-Hant`. */
    lang: text('lang').notNull(),
    label: text('label').notNull(),
    isDefault: integer('is_default', { mode: 'boolean' }).notNull().default(false),
    cueCount: integer('cue_count').notNull(),
    bytes: integer('bytes').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.lang] })],
);

export const DOWNLOAD_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number];

/**
 * Progressive MP4 downloads (workers/downloads): one row per (video, rung), worked on by the `media-jobs` queue
 * with the same lease/attempts discipline as `transcode_jobs`.
 */
export const mediaDownloads = sqliteTable(
  'media_downloads',
  {
    videoId: text('video_id').notNull().references(() => videos.id),
    rendition: text('rendition').notNull(),
    status: text('status').$type<DownloadStatus>().notNull(),
    progress: real('progress').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    leaseUntil: integer('lease_until'),
    /** When the current run claimed the row: its identity (workers/shared/leased-work.ts). */
    startedAt: integer('started_at'),
    /** `remux` (segments copied into MP4) or `encode` (re-encoded from the original). */
    method: text('method'),
    size: integer('size'),
    duration: real('duration'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    completedAt: integer('completed_at'),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.rendition] })],
);

/**
 * Extra audio tracks (workers/audio-tracks): one per (video, language), encoded once to AAC on the video's timeline
 * (an `audio_{lang}` rendition beside the main `audio`), worked on by the `audio-tracks` queue under the shared
 * lease discipline. Playback lists COMPLETED tracks only.
 */
export const audioTracks = sqliteTable(
  'audio_tracks',
  {
    videoId: text('video_id').notNull().references(() => videos.id),
    /** Canonical BCP 47 tag, e.g. `en`, `pt-BR`. */
    lang: text('lang').notNull(),
    label: text('label').notNull(),
    isDefault: integer('is_default', { mode: 'boolean' }).notNull().default(false),
    status: text('status').$type<DownloadStatus>().notNull(),
    progress: real('progress').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    leaseUntil: integer('lease_until'),
    startedAt: integer('started_at'),
    /** Where the file comes from when it was given as a URL (fetched by the job); null: uploaded in the request. */
    sourceUrl: text('source_url'),
    /** Length of the given file (seconds) and what was done to fit it to the video (cut / padded), once encoded. */
    inputDuration: real('input_duration'),
    warning: text('warning'),
    /** The encoded rendition: packaging, codecs, bandwidth and segment durations (JSON), as `renditions` keeps them. */
    packaging: text('packaging').$type<Packaging>(),
    codecs: text('codecs'),
    bandwidth: integer('bandwidth'),
    averageBandwidth: integer('average_bandwidth'),
    segmentDurations: text('segment_durations'),
    bytes: integer('bytes'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    completedAt: integer('completed_at'),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.lang] })],
);

export const SIGNING_KEY_ALGS = ['ES256', 'RS256'] as const;
export type SigningKeyAlg = (typeof SIGNING_KEY_ALGS)[number];

/**
 * A creator's playback signing keys (workers/signing-keys): only the public half is kept. An app signs playback
 * tokens (JWTs) with the private half, which the platform handed out once and never stored. Revoked keys stay as
 * rows (revoked_at set) so their tokens are refused with the reason.
 */
export const signingKeys = sqliteTable(
  'signing_keys',
  {
    id: text('id').primaryKey(),
    creatorId: text('creator_id').notNull().references(() => creators.id),
    alg: text('alg').$type<SigningKeyAlg>().notNull(),
    /** The public key as a JWK (JSON). */
    publicJwk: text('public_jwk').notNull(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('signing_keys_creator_idx').on(t.creatorId)],
);

/**
 * Usage per creator and UTC day (workers/usage): what was stored at the day's last snapshot (minutes of video,
 * bytes in R2) and the video seconds delivered that day (counted at the edge, added by each isolate's flush).
 */
export const usageDaily = sqliteTable(
  'usage_daily',
  {
    creatorId: text('creator_id').notNull(),
    /** YYYY-MM-DD (UTC). */
    day: text('day').notNull(),
    minutesStored: real('minutes_stored').notNull().default(0),
    bytesStored: integer('bytes_stored').notNull().default(0),
    secondsDelivered: real('seconds_delivered').notNull().default(0),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.creatorId, t.day] })],
);

export const IMPORT_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

/**
 * Imports from a URL (workers/imports): one per video, the leased job that streams the source into the video's
 * original (an R2 multipart upload, resumed with HTTP Range where the source allows it).
 */
export const videoImports = sqliteTable('video_imports', {
  videoId: text('video_id').primaryKey().references(() => videos.id),
  creatorId: text('creator_id').notNull(),
  url: text('url').notNull(),
  status: text('status').$type<ImportStatus>().notNull(),
  attempts: integer('attempts').notNull().default(0),
  error: text('error'),
  leaseUntil: integer('lease_until'),
  /** 0..1 when the source's length is known. */
  progress: real('progress').notNull().default(0),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  startedAt: integer('started_at'),
  completedAt: integer('completed_at'),
  /** The import fails once this passes (ms): the time limit. */
  deadline: integer('deadline').notNull(),
  /** Bytes stored so far: whole parts of the multipart upload (a resumed fetch asks the source from here). */
  bytesFetched: integer('bytes_fetched').notNull().default(0),
  /** The source's length when it said (Content-Length / Content-Range), else null. */
  totalBytes: integer('total_bytes'),
  /** ETag or Last-Modified of the source, sent as If-Range so a resumed fetch never mixes two versions. */
  validator: text('validator'),
  r2UploadId: text('r2_upload_id'),
  /** JSON [{partNumber, etag}] of the parts stored. */
  parts: text('parts').notNull().default('[]'),
});

export const LIVE_INPUT_STATUSES = ['idle', 'live'] as const;
export type LiveInputStatus = (typeof LIVE_INPUT_STATUSES)[number];

/**
 * A creator's live input (workers/live): where a broadcaster pushes HLS with `ffmpeg -method PUT`. The stream key
 * is a capability like a direct upload URL: only its SHA-256 is stored, and rotating it revokes the old one.
 * `videoId` is the video recording the current broadcast (null while idle).
 */
export const liveInputs = sqliteTable(
  'live_inputs',
  {
    id: text('id').primaryKey(),
    creatorId: text('creator_id').notNull().references(() => creators.id),
    title: text('title').notNull(),
    streamKeyHash: text('stream_key_hash').notNull(),
    status: text('status').$type<LiveInputStatus>().notNull().default('idle'),
    recordingMode: text('recording_mode').$type<'automatic' | 'off'>().notNull().default('automatic'),
    latency: text('latency').$type<'standard' | 'low'>().notNull().default('standard'),
    dvrWindowSeconds: integer('dvr_window_seconds').notNull(),
    reconnectWindowSeconds: integer('reconnect_window_seconds').notNull(),
    videoId: text('video_id'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    deletedAt: integer('deleted_at'),
  },
  (t) => [index('live_inputs_creator_idx').on(t.creatorId, t.createdAt), index('live_inputs_key_idx').on(t.streamKeyHash)],
);

/**
 * The platform's own billable operations per UTC minute and kind (workers/metering: Worker requests, Durable Object
 * calls, D1 rows, R2 operations by class, queue messages, cache hits and misses, container seconds), added by each
 * isolate in one batched upsert at most once a minute.
 */
export const operationsMinutely = sqliteTable(
  'operations_minutely',
  {
    /** Minutes since the Unix epoch (UTC). */
    minute: integer('minute').notNull(),
    kind: text('kind').notNull(),
    amount: real('amount').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.minute, t.kind] })],
);

/**
 * The platform's configuration: the tunables (config-defaults.ts, the production design's values), the
 * deployment's settings and its secrets, read from the Worker's environment by `loadConfig` — the only reader of
 * environment variables in workers/. Bindings (D1, R2, queues, Durable Objects) are not configuration and are used
 * from `env` directly.
 *
 * Fail loudly: a variable that is set but cannot be parsed is never silently replaced by its default. `loadConfig`
 * throws a `ConfigError` naming every such variable; the HTTP entry answers 500 `misconfigured` with that message,
 * a queue batch or cron run fails (and is retried), and `npm start` / `npm run deploy:check` refuse to start with it.
 * Absent (or empty) means the default.
 *
 * wrangler.toml `[vars]` sets what production changes (so those names are in the generated `Env`); the others are
 * set only by local stacks and tests (`wrangler dev --var`, vitest bindings).
 */
import { defaults, type Rung } from './config-defaults';
import { LADDER_MODES, PACKAGINGS } from '../../schema/schema';

export { defaults, LADDER, type Rung } from './config-defaults';
export { VIDEO_TEXT } from './video-text';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** How the Worker reaches the transcoder: a container instance per unit (production) or local Node processes. */
export type TranscoderTarget = { kind: 'container' } | { kind: 'local'; urls: string[] };

export interface Deployment {
  /** The origin playback URLs and callbacks are built on; null: the request's own origin (production). */
  publicOrigin: string | null;
  transcoder: TranscoderTarget;
  logLevel: LogLevel;
  /** Benchmark-only routes (`/__bench/*`, `/internal/bench/*`) exist. */
  benchRoutes: boolean;
  /**
   * Tests only, never set in wrangler.toml (`TRANSCODER_HOLD_UNITS`): the units whose first attempt the container's
   * transcoder holds mid-encode, passed through to it. Null: none.
   */
  transcoderHoldUnits: string | null;
}

export interface Secrets {
  /** HMAC keys for playback tokens and playback sessions by key id (`SIGNING_KEYS`, JSON `{kid: base64url}`). */
  signingKeys: ReadonlyMap<string, Uint8Array<ArrayBuffer>>;
  /** The key new tokens are signed with (`SIGNING_KEY_ID`); null when none is configured. */
  signingKeyId: string | null;
  internalToken: string | null;
  adminToken: string | null;
}

export type Config = typeof defaults & { deployment: Deployment; secrets: Secrets };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/** Every environment variable `loadConfig` reads. */
export const ENV_VARS = [
  'UPLOAD_CHUNK_SIZE',
  'UPLOAD_MAX_FILE_SIZE',
  'UPLOAD_SESSION_TTL_MS',
  'VIEWS_SAMPLING_ENABLED',
  'VIEWS_SAMPLING_RATE',
  'VIEWS_HOT_SHARD_PER_MINUTE',
  'VIEWS_VIEWER_EVENTS_PER_MINUTE',
  'VIEWS_MIN_WATCH_SECONDS',
  'VIEWS_SESSION_TTL_SEC',
  'VIEWS_SESSION_SKEW_SEC',
  'VIEWS_SESSIONS_PER_ADDRESS',
  'VIEWS_SESSION_WINDOW_SEC',
  'VIEWS_PER_ADDRESS_PER_VIDEO',
  'VIEWS_ADDRESS_WINDOW_SEC',
  'FRAMES_CUTS_PER_ADDRESS',
  'FRAMES_CUT_WINDOW_SEC',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_RETRY_BASE_DELAY_SEC',
  'WEBHOOK_RETRY_MAX_DELAY_SEC',
  'WEBHOOK_RETRY_WINDOW_SEC',
  'WEBHOOKS_ALLOW_PRIVATE_URLS',
  'SEGMENT_DURATION_SEC',
  'X264_PRESET',
  'HEVC_PRESET',
  'AV1_CPU_USED',
  'LADDER_MODE',
  'PACKAGING',
  'TRANSCODE_JOB_LEASE_MS',
  'TRANSCODE_MAX_ATTEMPTS',
  'TRANSCODE_RETRY_BASE_DELAY_SEC',
  'TRANSCODE_CHUNK_SEC',
  'TRANSCODE_AUDIO_READ_RATE',
  'TRANSCODE_MAX_RUNNING_UNITS',
  'TRANSCODE_PURGE_DELAY_SEC',
  'SCHEDULED_DELETION_MAX_DAYS',
  'ORIGINAL_RETENTION_DAYS',
  'USAGE_FLUSH_MS',
  'IMPORT_TIME_LIMIT_SEC',
  'IMPORT_STALL_MS',
  'IMPORT_PRIVATE_HOSTS',
  'IMPORT_MAX_ATTEMPTS',
  'IMPORT_RETRY_BASE_DELAY_SEC',
  'AUDIO_TRACK_MAX_BYTES',
  'LIVE_LADDER',
  'LIVE_LADDER_MAX_BACKLOG',
  'PUBLIC_ORIGIN',
  'TRANSCODER_URL',
  'LOG_LEVEL',
  'BENCH_ROUTES',
  'TRANSCODER_HOLD_UNITS',
  'SIGNING_KEYS',
  'SIGNING_KEY_ID',
  'INTERNAL_TOKEN',
  'ADMIN_TOKEN',
] as const;

export type EnvVarName = (typeof ENV_VARS)[number];
/** What `loadConfig` reads: every `Env` is one, so callers pass their `env` as it is. */
export type ConfigVars = Partial<Record<EnvVarName, unknown>>;

/** x264's and x265's presets: the two encoders share the names. */
const ENCODER_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'];
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_KEY_BYTES = 16;

/** Reads variables, collecting a problem per unparsable one instead of falling back to the default. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: ConfigVars) {}

  /** The trimmed value, or null when the variable is absent or empty. */
  raw(name: EnvVarName): string | null {
    const value = this.env[name];
    if (value === undefined || value === null) return null;
    const text = String(value).trim();
    return text === '' ? null : text;
  }

  private bad(name: EnvVarName, value: string, rule: string): void {
    this.problems.push(`${name}=${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} ${rule}`);
  }

  number(name: EnvVarName, fallback: number, rule: { min: number; max?: number; integer?: boolean }): number {
    const text = this.raw(name);
    if (text === null) return fallback;
    const value = Number(text);
    const ok = /^[0-9.eE+-]+$/.test(text) && Number.isFinite(value) && value >= rule.min && (rule.max === undefined || value <= rule.max) && (!rule.integer || Number.isInteger(value));
    if (ok) return value;
    const range = rule.max === undefined ? `≥ ${rule.min}` : `from ${rule.min} to ${rule.max}`;
    this.bad(name, text, `is not ${rule.integer ? 'an integer' : 'a number'} ${range}`);
    return fallback;
  }

  flag(name: EnvVarName, fallback: boolean): boolean {
    const text = this.raw(name);
    if (text === null) return fallback;
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    this.bad(name, text, 'is not one of true, false, 1, 0');
    return fallback;
  }

  oneOf<T extends string>(name: EnvVarName, values: readonly T[], fallback: T): T {
    const text = this.raw(name);
    if (text === null) return fallback;
    if ((values as readonly string[]).includes(text)) return text as T;
    this.bad(name, text, `is not one of ${values.join(', ')}`);
    return fallback;
  }

  text(name: EnvVarName): string | null {
    return this.raw(name);
  }

  list(name: EnvVarName, item: RegExp, rule: string): string[] {
    const text = this.raw(name);
    if (text === null) return [];
    const items = text.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.every((i) => item.test(i))) return items;
    this.bad(name, text, rule);
    return [];
  }

  origin(name: EnvVarName): string | null {
    const text = this.raw(name);
    if (text === null) return null;
    const origin = httpOrigin(text);
    if (origin === null) this.bad(name, text, 'is not an http(s) origin');
    return origin;
  }

  transcoder(name: EnvVarName): TranscoderTarget {
    const text = this.raw(name);
    if (text === null || text === 'container') return { kind: 'container' };
    const urls = text.split(',').map((u) => u.trim().replace(/\/$/, ''));
    if (urls.every((u) => httpOrigin(u) !== null)) return { kind: 'local', urls };
    this.bad(name, text, 'is neither "container" nor a comma-separated list of http(s) URLs');
    return { kind: 'container' };
  }

  signingKeys(name: EnvVarName): Map<string, Uint8Array<ArrayBuffer>> {
    const keys = new Map<string, Uint8Array<ArrayBuffer>>();
    const text = this.raw(name);
    if (text === null) return keys;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.problems.push(`${name} is not valid JSON (expected {"kid": "base64url secret"})`);
      return keys;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.problems.push(`${name} is not a JSON object (expected {"kid": "base64url secret"})`);
      return keys;
    }
    for (const [kid, secret] of Object.entries(parsed as Record<string, unknown>)) {
      const bytes = typeof secret === 'string' ? base64UrlDecode(secret.replace(/=+$/, '')) : null;
      // The key id is named, never the secret.
      if (!KEY_ID.test(kid)) this.problems.push(`${name}: key id ${JSON.stringify(kid.slice(0, 40))} is not 1-32 of [A-Za-z0-9_-]`);
      else if (!bytes || bytes.length < MIN_KEY_BYTES) this.problems.push(`${name}: key ${kid} is not base64url of at least ${MIN_KEY_BYTES} bytes`);
      else keys.set(kid, bytes);
    }
    return keys;
  }
}

function httpOrigin(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? `${url.protocol}//${url.host}` : null;
  } catch {
    return null;
  }
}

/** base64url (RFC 4648 §5, no padding) to bytes; null when it is not. */
export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

function read(env: ConfigVars): Config {
  const r = new EnvReader(env);
  const positive = { min: Number.MIN_VALUE };
  const count = { min: 1, integer: true };
  const seconds = { min: 0 };
  const ms = { min: 1, integer: true };
  const d = defaults;
  const signingKeys = r.signingKeys('SIGNING_KEYS');
  const signingKeyId = r.text('SIGNING_KEY_ID');
  if (signingKeyId !== null && signingKeys.size > 0 && !signingKeys.has(signingKeyId)) {
    r.problems.push(`SIGNING_KEY_ID=${JSON.stringify(signingKeyId)} names no key of SIGNING_KEYS`);
  }
  const config: Config = {
    ...d,
    uploads: {
      ...d.uploads,
      chunkSize: r.number('UPLOAD_CHUNK_SIZE', d.uploads.chunkSize, { min: d.uploads.minChunkSize, integer: true }),
      maxFileSize: r.number('UPLOAD_MAX_FILE_SIZE', d.uploads.maxFileSize, { min: 1, integer: true }),
      sessionTtlMs: r.number('UPLOAD_SESSION_TTL_MS', d.uploads.sessionTtlMs, ms),
    },
    views: {
      ...d.views,
      samplingEnabled: r.flag('VIEWS_SAMPLING_ENABLED', d.views.samplingEnabled),
      samplingRate: r.number('VIEWS_SAMPLING_RATE', d.views.samplingRate, { min: Number.MIN_VALUE, max: 1 }),
      hotShardViewsPerMinute: r.number('VIEWS_HOT_SHARD_PER_MINUTE', d.views.hotShardViewsPerMinute, count),
      viewerEventsPerMinute: r.number('VIEWS_VIEWER_EVENTS_PER_MINUTE', d.views.viewerEventsPerMinute, count),
      minWatchSeconds: r.number('VIEWS_MIN_WATCH_SECONDS', d.views.minWatchSeconds, positive),
      sessionTtlSec: r.number('VIEWS_SESSION_TTL_SEC', d.views.sessionTtlSec, positive),
      sessionSkewSec: r.number('VIEWS_SESSION_SKEW_SEC', d.views.sessionSkewSec, seconds),
      allowances: {
        ...d.views.allowances,
        sessionsPerWindow: r.number('VIEWS_SESSIONS_PER_ADDRESS', d.views.allowances.sessionsPerWindow, count),
        sessionWindowSec: r.number('VIEWS_SESSION_WINDOW_SEC', d.views.allowances.sessionWindowSec, count),
        viewsPerVideoPerWindow: r.number('VIEWS_PER_ADDRESS_PER_VIDEO', d.views.allowances.viewsPerVideoPerWindow, count),
        viewWindowSec: r.number('VIEWS_ADDRESS_WINDOW_SEC', d.views.allowances.viewWindowSec, count),
      },
    },
    frames: {
      ...d.frames,
      cutsPerWindow: r.number('FRAMES_CUTS_PER_ADDRESS', d.frames.cutsPerWindow, count),
      cutWindowSec: r.number('FRAMES_CUT_WINDOW_SEC', d.frames.cutWindowSec, count),
    },
    webhooks: {
      ...d.webhooks,
      timeoutMs: r.number('WEBHOOK_TIMEOUT_MS', d.webhooks.timeoutMs, ms),
      retryBaseDelaySec: r.number('WEBHOOK_RETRY_BASE_DELAY_SEC', d.webhooks.retryBaseDelaySec, positive),
      retryMaxDelaySec: r.number('WEBHOOK_RETRY_MAX_DELAY_SEC', d.webhooks.retryMaxDelaySec, positive),
      retryWindowSec: r.number('WEBHOOK_RETRY_WINDOW_SEC', d.webhooks.retryWindowSec, positive),
      allowPrivateUrls: r.flag('WEBHOOKS_ALLOW_PRIVATE_URLS', d.webhooks.allowPrivateUrls),
    },
    transcoding: {
      ...d.transcoding,
      ladder: d.transcoding.ladder as readonly Rung[],
      segmentDurationSec: r.number('SEGMENT_DURATION_SEC', d.transcoding.segmentDurationSec, { min: 1, max: 60 }),
      x264Preset: r.oneOf('X264_PRESET', ENCODER_PRESETS, d.transcoding.x264Preset),
      hevcPreset: r.oneOf('HEVC_PRESET', ENCODER_PRESETS, d.transcoding.hevcPreset),
      // libaom's real-time mode takes 5–10; ffmpeg 5.1's option stops at 8.
      av1CpuUsed: r.number('AV1_CPU_USED', d.transcoding.av1CpuUsed, { min: 5, max: 8, integer: true }),
      ladderMode: r.oneOf('LADDER_MODE', LADDER_MODES, d.transcoding.ladderMode),
      packaging: r.oneOf('PACKAGING', PACKAGINGS, d.transcoding.packaging),
      jobLeaseMs: r.number('TRANSCODE_JOB_LEASE_MS', d.transcoding.jobLeaseMs, ms),
      maxAttempts: r.number('TRANSCODE_MAX_ATTEMPTS', d.transcoding.maxAttempts, count),
      retryBaseDelaySec: r.number('TRANSCODE_RETRY_BASE_DELAY_SEC', d.transcoding.retryBaseDelaySec, seconds),
      chunkSec: r.number('TRANSCODE_CHUNK_SEC', d.transcoding.chunkSec, positive),
      audioReadRate: r.number('TRANSCODE_AUDIO_READ_RATE', d.transcoding.audioReadRate, seconds),
      maxRunningUnits: r.number('TRANSCODE_MAX_RUNNING_UNITS', d.transcoding.maxRunningUnits, count),
      purgeDelaySec: r.number('TRANSCODE_PURGE_DELAY_SEC', d.transcoding.purgeDelaySec, seconds),
    },
    deletion: {
      ...d.deletion,
      scheduledMaxAheadMs: r.number('SCHEDULED_DELETION_MAX_DAYS', d.deletion.scheduledMaxAheadMs / 86_400_000, { min: 1, max: 3650 }) * 86_400_000,
    },
    originals: {
      ...d.originals,
      retentionMs: r.raw('ORIGINAL_RETENTION_DAYS') === null ? null : r.number('ORIGINAL_RETENTION_DAYS', 0, { min: 0, max: 36500, integer: true }) * 86_400_000,
    },
    imports: {
      ...d.imports,
      timeLimitMs: r.number('IMPORT_TIME_LIMIT_SEC', d.imports.timeLimitMs / 1000, { min: 1 }) * 1000,
      stallMs: r.number('IMPORT_STALL_MS', d.imports.stallMs, { min: 100, integer: true }),
      maxAttempts: r.number('IMPORT_MAX_ATTEMPTS', d.imports.maxAttempts, { min: 1, integer: true }),
      retryBaseDelaySec: r.number('IMPORT_RETRY_BASE_DELAY_SEC', d.imports.retryBaseDelaySec, { min: 0 }),
      privateHosts: r.list('IMPORT_PRIVATE_HOSTS', /^(\*|[A-Za-z0-9.\-\[\]:]{1,260})$/, 'is not a comma-separated list of host:port (or *)'),
    },
    audioTracks: { ...d.audioTracks, maxBytes: r.number('AUDIO_TRACK_MAX_BYTES', d.audioTracks.maxBytes, { min: 1, integer: true }) },
    live: {
      ...d.live,
      ladder: {
        enabled: r.flag('LIVE_LADDER', d.live.ladder.enabled),
        maxBacklogSegments: r.number('LIVE_LADDER_MAX_BACKLOG', d.live.ladder.maxBacklogSegments, { min: 1, max: 100, integer: true }),
      },
    },
    usage: { ...d.usage, deliveredFlushMs: r.number('USAGE_FLUSH_MS', d.usage.deliveredFlushMs, { min: 0, integer: true }) },
    deployment: {
      publicOrigin: r.origin('PUBLIC_ORIGIN'),
      transcoder: r.transcoder('TRANSCODER_URL'),
      logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
      benchRoutes: r.flag('BENCH_ROUTES', false),
      transcoderHoldUnits: r.text('TRANSCODER_HOLD_UNITS'),
    },
    secrets: {
      signingKeys,
      signingKeyId: signingKeyId !== null && signingKeys.has(signingKeyId) ? signingKeyId : null,
      internalToken: r.text('INTERNAL_TOKEN'),
      adminToken: r.text('ADMIN_TOKEN'),
    },
  } as Config;
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

const loaded = new WeakMap<object, Config>();

/**
 * The configuration for this environment, parsed once per `env` object (an isolate reuses its `env`, so a request
 * pays a map lookup). Throws `ConfigError` when any variable is set but unparsable.
 */
export function loadConfig(env: ConfigVars): Config {
  const hit = loaded.get(env);
  if (hit) return hit;
  const config = read(env);
  loaded.set(env, config);
  return config;
}

/** The origin to build public URLs on: the configured one, else the request's own. */
export function publicOrigin(config: Config, requestUrl: string): string {
  return config.deployment.publicOrigin ?? new URL(requestUrl).origin;
}

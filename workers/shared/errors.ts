/**
 * The one error shape of the API, `{ "error": { "code", "message", "details"? } }`, and the one catalogue of its
 * codes (as tusd's `ErrX` values): every error the platform answers carries a code from `ERRORS`, whose HTTP status
 * is fixed here, so a client can rely on the set. docs/api.md lists the catalogue (a test keeps the two equal).
 *
 * Throw `apiError(code, message)` (or a helper below) anywhere in a request; `app.onError` renders it. Code that
 * answers outside Hono (the transcoder's callback door, the storage gateway, a Range refusal) builds its response
 * with `errorResponse`.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConfigError } from './config';
import { logEvent } from './log';

interface ErrorEntry {
  /** tus's 460 (checksum mismatch) is not a status hono knows: the catalogue is the authority. */
  readonly status: number;
  /** What the code means to a client, as docs/api.md states it. */
  readonly meaning: string;
}

export const ERRORS = {
  bad_request: { status: 400, meaning: 'A field, header, parameter or body is invalid; the message names it.' },
  incomplete_body: { status: 400, meaning: 'The body ended before Content-Length bytes; nothing of it was kept past the offset given.' },
  unauthorized: { status: 401, meaning: 'Missing or invalid credentials (API token, internal token, or a direct upload URL that is not valid).' },
  forbidden: { status: 403, meaning: 'The credentials are valid but do not allow this (another creator, or an operation the resource refuses).' },
  signature_required: { status: 403, meaning: 'A playback URL without a token, for a video that requires signed URLs.' },
  signature_malformed: { status: 403, meaning: 'The playback token cannot be parsed.' },
  signature_unknown_key: { status: 403, meaning: 'The playback token names a key that does not exist or was retired.' },
  signature_bad_signature: { status: 403, meaning: 'The playback token signature does not match (tampered, or issued for another video).' },
  signature_expired: { status: 403, meaning: 'The playback token has expired.' },
  signature_not_yet_valid: { status: 403, meaning: 'The playback token is not valid yet.' },
  signature_wrong_video: { status: 403, meaning: "The signed-key token names another video, or its key is not the video's creator's." },
  signature_lifetime_too_long: { status: 403, meaning: 'The signed-key token expires further ahead than the platform allows (24 h).' },
  access_denied: { status: 403, meaning: "The token's access rules block this client (its country or address)." },
  origin_not_allowed: { status: 403, meaning: "The page's origin is not among the allowed origins of the token or the video." },
  download_not_allowed: { status: 403, meaning: 'The signed-key token does not allow MP4 downloads (`downloadable`).' },
  not_found: { status: 404, meaning: 'No such resource, or one the caller may not see.' },
  quota_exceeded: { status: 403, meaning: "Storing this would pass the creator's quota (minutes or bytes stored); details give the quota, what is stored and what was asked." },
  method_not_allowed: { status: 405, meaning: 'The route exists but not for this method.' },
  conflict: { status: 409, meaning: 'The resource is in a state that does not allow this (still uploading, already complete, offset mismatch, …).' },
  original_deleted: { status: 409, meaning: "The video's original was deleted under the platform's retention (ORIGINAL_RETENTION_DAYS); nothing can be re-encoded from it." },
  stale_claim: { status: 409, meaning: 'Transcoder callback: this run no longer owns its job (it was taken over).' },
  gone: { status: 410, meaning: 'Expired or already used (an upload, a direct upload URL, a video deleted mid-job).' },
  length_required: { status: 411, meaning: 'Content-Length is required.' },
  unsupported_tus_version: { status: 412, meaning: 'Tus-Resumable is missing or names a version this server does not speak.' },
  payload_too_large: { status: 413, meaning: 'The body or the declared length is over a limit; nothing past the limit was kept.' },
  not_media: { status: 415, meaning: 'A pushed live segment is not MPEG-TS with H.264 video; nothing of it was stored.' },
  out_of_order: { status: 409, meaning: 'A pushed live segment comes before one already received on this connection; nothing was stored.' },
  unsupported_media_type: { status: 415, meaning: 'The Content-Type is not the one the route takes.' },
  range_not_satisfiable: { status: 416, meaning: 'The Range lies outside the object.' },
  verification_failed: { status: 422, meaning: 'The uploaded bytes do not match the declared size or SHA-256; the upload was discarded.' },
  rate_limited: { status: 429, meaning: 'Past an allowance (per address, per viewer); Retry-After says when to try again.' },
  checksum_mismatch: { status: 460, meaning: 'tus: Upload-Checksum does not match the body; nothing of the request was stored.' },
  internal: { status: 500, meaning: 'An unexpected error; the request id (X-Request-Id) finds it in the logs.' },
  misconfigured: { status: 500, meaning: 'The platform\'s configuration is invalid; the message names the variable.' },
  not_implemented: { status: 501, meaning: 'The server does not offer this form of the resource (an oEmbed format other than JSON).' },
  frame_failed: { status: 502, meaning: 'The transcoder could not cut the requested frame.' },
  unavailable: { status: 503, meaning: 'A dependency (transcoder, counter, limiter, signing keys) is unavailable; retry.' },
  storage_unavailable: { status: 503, meaning: 'Storage (R2) refused or failed the operation; retry.' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** A code's HTTP status, as hono's response helpers take it. */
export const statusOf = (code: ErrorCode) => ERRORS[code].status as ContentfulStatusCode;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export interface ErrorOptions {
  details?: unknown;
  headers?: Record<string, string>;
}

export class ApiError extends HTTPException {
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(statusOf(code), { message });
    this.details = options.details;
    this.headers = options.headers;
  }

  /** The same error with extra response headers (a tus error that must carry the upload's Location). */
  withHeaders(headers: Record<string, string>): ApiError {
    return new ApiError(this.code, this.message, { details: this.details, headers: { ...this.headers, ...headers } });
  }
}

export const apiError = (code: ErrorCode, message: string, options?: ErrorOptions) => new ApiError(code, message, options);

export const badRequest = (message: string, details?: unknown) => apiError('bad_request', message, { details });
export const unauthorized = (message = 'missing or invalid API token') => apiError('unauthorized', message, { headers: { 'WWW-Authenticate': 'Bearer' } });
export const forbidden = (message = 'not allowed') => apiError('forbidden', message);
export const notFound = (message = 'not found') => apiError('not_found', message);
export const conflict = (message: string, details?: unknown) => apiError('conflict', message, { details });
export const gone = (message: string) => apiError('gone', message);
export const payloadTooLarge = (message: string) => apiError('payload_too_large', message);

export function errorJson(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** An error answered outside Hono's `onError`: the catalogue's status, the one JSON shape, extra headers. */
export function errorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorJson(code, message)), {
    status: ERRORS[code].status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

/** The catalogue code for an HTTP status thrown by middleware that knows no code of ours (hono's own exceptions). */
function codeForStatus(status: number): ErrorCode {
  const found = (Object.keys(ERRORS) as ErrorCode[]).find((code) => ERRORS[code].status === status);
  return found ?? (status >= 500 ? 'internal' : 'bad_request');
}

/** Renders any thrown value as the API error shape; unknown errors become a 500 without leaking internals. */
export function renderError(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json(errorJson(err.code, err.message, err.details), err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    // Middleware that builds its own response (hono's bearer-auth: the error shape, WWW-Authenticate) keeps it.
    if (err.res) return err.getResponse();
    return c.json(errorJson(codeForStatus(err.status), err.message || 'request failed'), err.status);
  }
  if (err instanceof ConfigError) {
    logEvent('error', 'config.invalid', { error: err.message });
    return c.json(errorJson('misconfigured', err.message), 500);
  }
  logEvent('error', 'http.unhandled', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return c.json(errorJson('internal', 'internal error'), 500);
}

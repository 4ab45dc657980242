/**
 * The one error shape of the API: `{ "error": { "code", "message" } }` with the right HTTP status.
 * Throw `ApiError` (or a helper below) anywhere in a request; `app.onError` renders it.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { logEvent } from './log';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(status, { message });
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const unauthorized = (message = 'missing or invalid API token') =>
  new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message = 'not allowed') => new ApiError(403, 'forbidden', message);
export const notFound = (message = 'not found') => new ApiError(404, 'not_found', message);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const gone = (message: string) => new ApiError(410, 'gone', message);
export const payloadTooLarge = (message: string) => new ApiError(413, 'payload_too_large', message);

export function errorJson(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Renders any thrown value as the API error shape; unknown errors become a 500 without leaking internals. */
export function renderError(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json(errorJson(err.code, err.message, err.details), err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    // Middleware that builds its own response (hono's bearer-auth: the error shape, WWW-Authenticate) keeps it.
    if (err.res) return err.getResponse();
    const code = err.status === 404 ? 'not_found' : err.status === 413 ? 'payload_too_large' : 'http_error';
    return c.json(errorJson(code, err.message || 'request failed'), err.status);
  }
  logEvent('error', 'http.unhandled', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return c.json(errorJson('internal', 'internal error'), 500);
}

/**
 * Structured logs: one JSON object per line, which Workers Logs ([observability] in wrangler.toml) indexes by field.
 * Every line carries the request id of the HTTP request or queue message being handled (AsyncLocalStorage), so
 * a request's or a job's lines can be found together; the same id is returned to clients as `X-Request-Id`.
 * LOG_LEVEL (wrangler.toml [vars], read by loadConfig) drops lines below it; the workerd tests set "warn" to keep their output short.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import type { LogLevel } from './config';

export type { LogLevel };

interface LogContext {
  requestId: string;
  minLevel: LogLevel;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `requestId` attached to every line it logs, dropping lines below `minLevel`. */
export function withRequestId<T>(requestId: string, minLevel: LogLevel, fn: () => T): T {
  return context.run({ requestId, minLevel }, fn);
}

export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/** A request id: the client's `X-Request-Id` when it is a sane token, else Cloudflare's ray id, else a fresh UUID. */
export function requestIdFor(request: Request): string {
  const given = request.headers.get('X-Request-Id');
  if (given && /^[A-Za-z0-9._:-]{8,128}$/.test(given)) return given;
  return request.headers.get('cf-ray') ?? crypto.randomUUID();
}

export function logEvent(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < RANK[context.getStore()?.minLevel ?? 'debug']) return;
  const line = JSON.stringify({ level, event, requestId: currentRequestId(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** Helpers for the QoE tests: records as a player builds them, beacons, reports. */
import { expect } from 'vitest';
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { api } from './helpers';
import { defaults } from '../../workers/shared/config';
import { shardStub } from '../../workers/views/routing';
import type { QoeRecord } from '../../workers/views/qoe/schemas';
import type { QoeFigures } from '../../workers/views/qoe/sketch';

/** A record as a player sends it (player/src/qoe/collector.ts builds its figures). */
export type TestRecord = QoeRecord;

/** A record of a session that started in `startupMs` and played `watchedMs` without a stall. */
export const record = (session: string, over: Partial<TestRecord> = {}): TestRecord => ({
  session,
  seq: 0,
  startupMs: 800,
  exitBeforeStart: false,
  failure: null,
  rebufferCount: 0,
  stalledMs: 0,
  watchedMs: 20_000,
  averageBitrate: 1_000_000,
  finalBitrate: 1_000_000,
  finalHeight: 360,
  switches: 0,
  ...over,
});

export const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
export const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** Sends a beacon as `navigator.sendBeacon` does (text/plain), from `country` (request.cf) with `userAgent`. */
export async function beacon(videoId: string, body: unknown, init: { country?: string; userAgent?: string; raw?: string; token?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'text/plain;charset=UTF-8', 'User-Agent': init.userAgent ?? CHROME_LINUX };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  const request = new Request(`http://example.com/v1/videos/${videoId}/qoe`, {
    method: 'POST',
    headers,
    body: init.raw ?? JSON.stringify(body),
    // The test seam for request.cf.country (Cloudflare's edge sets it; locally it is absent).
    ...(init.country ? { cf: { country: init.country } } : {}),
  } as RequestInit);
  return exports.default.fetch(request);
}

export async function beaconJson(videoId: string, records: TestRecord[], init: Parameters<typeof beacon>[2] = {}) {
  const res = await beacon(videoId, { records }, init);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<{ accepted: number; rejected: { index: number; reason: string }[] }>();
}

export type Figures = QoeFigures;

export interface Report {
  totals: Figures;
  hourly: (Figures & { hour: string })[];
  breakdown?: { by: string; groups: (Figures & { key: string })[] };
  videos?: (Figures & { videoId: string })[];
}

export async function report(path: string, token: string): Promise<Report> {
  const res = await api(path, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Report>();
}

/** Runs the alarm of every shard of a video (the flush, when the clock is past the hour). */
export async function runShardAlarms(videoId: string, count: number = defaults.views.shards): Promise<void> {
  for (let i = 0; i < count; i++) await runDurableObjectAlarm(shardStub(env, videoId, i));
}

export async function storedViews(videoId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COALESCE(SUM(views), 0) AS n FROM qoe_aggregates WHERE video_id = ?').bind(videoId).first<{ n: number }>();
  return row?.n ?? 0;
}

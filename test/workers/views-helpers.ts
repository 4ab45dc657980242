/** Helpers for the views tests: playable videos with a stored duration, view beacons, a controllable clock. */
import { env } from 'cloudflare:workers';
import { api, moveVideoTo, newCreator, newVideo } from './helpers';
import { invalidateVideo } from '../../workers/metadata/cache';
import { runtime, setRuntime } from '../../workers/shared/runtime';
import { loadConfig } from '../../workers/shared/config';
import { keyring } from '../../workers/shared/keyring';
import { issueSession } from '../../workers/views/playback-session';

/**
 * A playback session for `videoId`, signed with the test keyring as `GET /v1/videos/:id/playback` would sign it,
 * started `agoMs` before the runtime clock (an hour by default: long enough for any watch the tests claim).
 */
export async function sessionFor(videoId: string, agoMs = 3_600_000): Promise<string> {
  const issued = await issueSession(keyring(loadConfig(env).secrets), videoId, runtime().now() - agoMs);
  if (!issued) throw new Error('test signing keys are not configured');
  return issued.token;
}

let nextAddress = 0;
/** A client address never used before in this file (10.x.y.z). */
export const freshAddress = (): string => {
  const n = ++nextAddress;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/**
 * The address of a beacon that does not name one: one of 16 (192.0.2.0/28, in turn), so tests that count hundreds of
 * views of one video stay far inside the per-address allowance without creating an allowance object per beacon.
 */
let nextPooled = 0;
const pooledAddress = (): string => `192.0.2.${nextPooled++ % 16}`;

/** Each video's creator token, so helpers can read what only the creator may (stats). */
const ownerTokens = new Map<string, string>();

export async function playableVideo(duration: number | null = 120, token?: string): Promise<{ id: string; token: string; creatorId: string }> {
  const creator = token ? { token, creatorId: '' } : await newCreator();
  const { id } = await newVideo(creator.token);
  ownerTokens.set(id, creator.token);
  await moveVideoTo(id, 'READY', { duration });
  return { id, ...creator };
}

/** `GET /v1/videos/:id/stats` as the video's creator (a video made by `playableVideo`): stats are the creator's only. */
export function ownerStats(videoId: string, query = ''): Promise<Response> {
  const token = ownerTokens.get(videoId);
  if (!token) throw new Error(`no creator token recorded for ${videoId}: make it with playableVideo`);
  return api(`/v1/videos/${videoId}/stats${query}`, { token });
}

/**
 * Sends a view beacon. Like a real player, it carries a fresh playback session (unless the body names its own
 * `session`, even null) and comes from one of a pool of client addresses (unless a `CF-Connecting-IP` header is given).
 */
export async function view(videoId: string, body: unknown, init: { token?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const withSession =
    body !== null && typeof body === 'object' && !Array.isArray(body) && !('session' in body)
      ? { ...(body as Record<string, unknown>), session: await sessionFor(videoId) }
      : body;
  const headers = { 'CF-Connecting-IP': pooledAddress(), ...init.headers };
  return api(`/v1/videos/${videoId}/views`, { method: 'POST', json: withSession, ...init, headers });
}

export async function viewJson(videoId: string, body: unknown, init: { token?: string; headers?: Record<string, string> } = {}) {
  const res = await view(videoId, body, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { counted?: boolean; reason?: string } };
}

/** A settable clock through the runtime seam; returns the setter and a restore function. */
export function fakeClock(start: number): { set(ms: number): void; advance(ms: number): void; now(): number; restore(): void } {
  let t = start;
  const restore = setRuntime({ now: () => t });
  return {
    set: (ms) => void (t = ms),
    advance: (ms) => void (t += ms),
    now: () => t,
    restore,
  };
}

export async function viewCount(videoId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT view_count AS n FROM videos WHERE id = ?').bind(videoId).first<{ n: number }>();
  return row?.n ?? -1;
}

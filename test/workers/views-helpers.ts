/** Helpers for the views tests: playable videos with a stored duration, view beacons, a controllable clock. */
import { env } from 'cloudflare:workers';
import { api, newCreator, newVideo } from './helpers';
import { invalidateVideo } from '../../workers/metadata/cache';
import { setRuntime } from '../../workers/shared/runtime';

export async function playableVideo(duration: number | null = 120, token?: string): Promise<{ id: string; token: string; creatorId: string }> {
  const creator = token ? { token, creatorId: '' } : await newCreator();
  const { id } = await newVideo(creator.token);
  await env.DB.prepare("UPDATE videos SET status = 'READY', duration = ? WHERE id = ?").bind(duration, id).run();
  await invalidateVideo(id);
  return { id, ...creator };
}

export function view(videoId: string, body: unknown, init: { token?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return api(`/v1/videos/${videoId}/views`, { method: 'POST', json: body, ...init });
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

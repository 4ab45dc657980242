/** Shared helpers for workerd tests: creators with tokens, JSON requests through the Worker. */
import { exports } from 'cloudflare:workers';
import { env } from 'cloudflare:workers';

export const BASE = 'http://example.com';

export async function api(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers, body }));
}

export async function newCreator(name = 'creator'): Promise<{ creatorId: string; token: string }> {
  const res = await api('/v1/admin/creators', { method: 'POST', token: env.ADMIN_TOKEN, json: { name } });
  if (res.status !== 201) throw new Error(`creating creator failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function newVideo(token: string, title = 'a video'): Promise<{ id: string; status: string }> {
  const res = await api('/v1/videos', { method: 'POST', token, json: { title, description: 'd' } });
  if (res.status !== 201) throw new Error(`creating video failed: ${res.status} ${await res.text()}`);
  return res.json();
}

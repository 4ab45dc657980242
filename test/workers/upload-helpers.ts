/** Helpers for upload tests inside workerd: deterministic bytes, digests, chunk API and tus calls. */
import { api } from './helpers';

export const MiB = 1024 * 1024;
/** The test project's UPLOAD_CHUNK_SIZE (vitest.config.ts). */
export const PART = 5 * MiB;

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function bytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, Math.floor(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < n; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

export async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha1Base64(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-1', data))));
}

export const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

export function putChunk(videoId: string, n: number | string, body: Uint8Array<ArrayBuffer> | string, token: string, headers: Record<string, string> = {}) {
  return api(`/v1/videos/${videoId}/upload/chunks/${n}`, { method: 'PUT', token, body, headers });
}

export function chunkOf(file: Uint8Array<ArrayBuffer>, n: number): Uint8Array<ArrayBuffer> {
  return file.slice(n * PART, Math.min(file.byteLength, (n + 1) * PART));
}

export async function initiate(videoId: string, token: string, json: unknown) {
  return api(`/v1/videos/${videoId}/upload`, { method: 'POST', token, json });
}

export const TUS = { 'Tus-Resumable': '1.0.0' };

export async function tusCreate(token: string, length: number, metadata: Record<string, string>, extra: Record<string, string> = {}) {
  const meta = Object.entries(metadata)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');
  return api('/v1/uploads', { method: 'POST', token, headers: { ...TUS, 'Upload-Length': String(length), 'Upload-Metadata': meta, ...extra } });
}

export function tusPatch(location: string, token: string, offset: number, body: Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}) {
  return api(location, {
    method: 'PATCH',
    token,
    body,
    headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...extra },
  });
}

export function tusHead(location: string, token: string) {
  return api(location, { method: 'HEAD', token, headers: TUS });
}

/**
 * L1: a small per-isolate memory cache in front of the Cache API, for the hottest playback objects.
 *
 * Every viewer of a popular video requests the same playlists and the same first segments. The Cache API is a
 * subrequest per hit; serving those bytes from isolate memory avoids it. What gets in:
 * - playlists as they are generated (a few KB each);
 * - segments and thumbnails on their second request in this isolate (a Cache API hit), when no larger than
 *   `maxEntryBytes`, by copying the cached body beside the response as it streams (never delaying it).
 * Bounded by total bytes (`maxBytes`, least recently used out first) and by age: an entry lives at most `ttlMs`,
 * or its own max-age if shorter (a PROCESSING playlist's 5 s), so a purge in another isolate is honoured within
 * `ttlMs` here. Purges in this isolate delete at once.
 */
export interface HotEntry {
  body: Uint8Array;
  headers: [string, string][];
  expiresAt: number;
}

export interface HotLimits {
  maxBytes: number;
  maxEntryBytes: number;
  ttlMs: number;
}

const entries = new Map<string, HotEntry>();
let totalBytes = 0;

function drop(key: string): void {
  const entry = entries.get(key);
  if (!entry) return;
  totalBytes -= entry.body.byteLength;
  entries.delete(key);
}

export function hotGet(key: string, now: number): HotEntry | undefined {
  const entry = entries.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= now) {
    drop(key);
    return undefined;
  }
  // Map order is insertion order: re-inserting marks the entry most recently used.
  entries.delete(key);
  entries.set(key, entry);
  return entry;
}

function maxAgeMs(headers: Headers): number {
  const m = /(?:^|,)\s*max-age=(\d+)/i.exec(headers.get('Cache-Control') ?? '');
  return m ? Number(m[1]) * 1000 : 0;
}

export function hotPut(key: string, body: Uint8Array, headers: Headers, now: number, limits: HotLimits): void {
  const lifetime = Math.min(limits.ttlMs, maxAgeMs(headers));
  if (body.byteLength > limits.maxEntryBytes || lifetime <= 0) return;
  drop(key);
  while (totalBytes + body.byteLength > limits.maxBytes && entries.size > 0) drop(entries.keys().next().value!);
  entries.set(key, { body, headers: [...headers], expiresAt: now + lifetime });
  totalBytes += body.byteLength;
}

export function hotDelete(key: string): void {
  drop(key);
}

export const hotStats = () => ({ entries: entries.size, bytes: totalBytes });

import { describe, expect, it } from 'vitest';
import { hotDelete, hotGet, hotPut, hotStats } from '../../workers/playback/hot-cache';

const limits = { maxBytes: 1000, maxEntryBytes: 400, ttlMs: 60_000 };
const immutable = new Headers({ 'Cache-Control': 'public, max-age=31536000, immutable' });
const bytes = (n: number) => new Uint8Array(new ArrayBuffer(n));

describe('per-isolate hot cache', () => {
  it('evicts least recently used entries to stay within its byte budget', () => {
    const t = 1_000;
    hotPut('k:a', bytes(400), immutable, t, limits);
    hotPut('k:b', bytes(400), immutable, t, limits);
    expect(hotGet('k:a', t)).toBeDefined(); // a is now the most recently used
    hotPut('k:c', bytes(400), immutable, t, limits); // needs room: b goes
    expect(hotGet('k:b', t)).toBeUndefined();
    expect(hotGet('k:a', t)).toBeDefined();
    expect(hotGet('k:c', t)).toBeDefined();
    expect(hotStats().bytes).toBeLessThanOrEqual(limits.maxBytes);
    hotDelete('k:a');
    hotDelete('k:c');
  });

  it('refuses entries larger than maxEntryBytes and responses without a max-age', () => {
    hotPut('k:big', bytes(401), immutable, 0, limits);
    expect(hotGet('k:big', 0)).toBeUndefined();
    hotPut('k:nostore', bytes(10), new Headers({ 'Cache-Control': 'no-store' }), 0, limits);
    expect(hotGet('k:nostore', 0)).toBeUndefined();
  });

  it('keeps an entry no longer than its own max-age or the TTL, whichever is shorter', () => {
    hotPut('k:processing', bytes(10), new Headers({ 'Cache-Control': 'public, max-age=5' }), 0, limits);
    expect(hotGet('k:processing', 4_999)).toBeDefined();
    expect(hotGet('k:processing', 5_000)).toBeUndefined();
    hotPut('k:ready', bytes(10), immutable, 0, limits);
    expect(hotGet('k:ready', 59_999)).toBeDefined();
    expect(hotGet('k:ready', 60_000)).toBeUndefined();
  });
});

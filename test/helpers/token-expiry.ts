import { expect } from 'vitest';

/**
 * A playback token's expiry is the whole second it was signed in plus the TTL, so it lies between the second of
 * `before` plus the TTL and `after` plus the TTL (`before`/`after`: Date.now() around the request), whatever time
 * the request took.
 */
export function expectExpiry(expires: number, before: number, after: number, ttlSec: number): void {
  expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + ttlSec * 1000);
  expect(expires).toBeLessThanOrEqual(after + ttlSec * 1000);
}

/**
 * The machine figures of `npm test`'s summary (scripts/machine-speed.ts): the speed factor is the reference time over
 * the fixed work's CPU time, and the busy CPU-seconds read from /proc/stat count this process's own work.
 */
import { describe, expect, it } from 'vitest';
import { busyCpuSeconds, busySecondsOf, REFERENCE_MS, speedFactor } from '../../scripts/machine-speed';

describe('machine speed', () => {
  it('gives the fixed work CPU time as a factor of the reference, and counts it among the busy CPU-seconds', () => {
    const busyBefore = busyCpuSeconds();
    const own = process.cpuUsage();
    const { factor, ms } = speedFactor();
    const used = process.cpuUsage(own);
    const ownMs = (used.user + used.system) / 1000;
    const busyAfter = busyCpuSeconds();
    expect(ms).toBeGreaterThan(0);
    expect(factor).toBeCloseTo(REFERENCE_MS / ms, 1);
    // The work ran three times in this process; the busy counters of the whole machine include at least most of it
    // (they advance in 10 ms ticks).
    expect(ownMs).toBeGreaterThanOrEqual(ms * 2);
    expect(busyBefore).not.toBeNull();
    expect(busyAfter! - busyBefore!).toBeGreaterThan((ownMs / 1000) * 0.5);
  });

  it('reads the busy ticks of /proc/stat and refuses text that is not its first line', () => {
    expect(busySecondsOf('cpu  6081325 764375 1064269 4688129 22668 0 47529 3941 0 0\ncpu0 1 2 3 4 5 6 7\n')).toBeCloseTo((6081325 + 764375 + 1064269 + 0 + 47529) / 100, 2);
    expect(busySecondsOf('')).toBeNull();
    expect(busySecondsOf('intr 1 2 3 4 5 6 7')).toBeNull();
    expect(busySecondsOf('cpu  1 2 3')).toBeNull();
    expect(busySecondsOf('cpu  1 x 3 4 5 6 7')).toBeNull();
    expect(busySecondsOf('cpu  1 2 -3 4 5 6 7')).toBeNull();
  });
});

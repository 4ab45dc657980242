/** The one Range parser (workers/shared/range.ts) that playback and the storage gateway share. */
import { describe, expect, it } from 'vitest';
import { contentRange, parseRange, resolveRange, UNSATISFIABLE } from '../../workers/shared/range';

describe('parseRange', () => {
  it('reads one byte range: bounded, open-ended, suffix; whitespace is tolerated', () => {
    expect(parseRange(null)).toEqual({ kind: 'none' });
    expect(parseRange('bytes=2-5')).toEqual({ kind: 'range', range: { start: 2, end: 5 } });
    expect(parseRange('bytes=7-')).toEqual({ kind: 'range', range: { start: 7, end: null } });
    expect(parseRange('bytes=-3')).toEqual({ kind: 'range', range: { suffix: 3 } });
    expect(parseRange(' bytes = 2 - 5 ')).toEqual({ kind: 'range', range: { start: 2, end: 5 } });
  });

  it.each([
    ['garbage', 'lots-of-bytes-please'],
    ['another unit', 'items=0-10'],
    ['reversed bounds', 'bytes=50-10'],
    ['several ranges', 'bytes=0-1,5-9'],
    ['no bounds', 'bytes=-'],
    ['a negative start', 'bytes=--5'],
    ['a 21-digit bound', `bytes=${'9'.repeat(21)}-`],
    ['an over-long header', `bytes=${'0-1,'.repeat(30)}2-3`],
    ['an empty header', ''],
  ])('calls %s malformed', (_what, header) => {
    expect(parseRange(header)).toEqual({ kind: 'malformed' });
  });
});

describe('resolveRange', () => {
  it('clamps to the object and turns a suffix into the last bytes', () => {
    expect(resolveRange({ start: 2, end: 5 }, 10)).toEqual({ kind: 'satisfiable', start: 2, end: 5 });
    expect(resolveRange({ start: 7, end: 999 }, 10)).toEqual({ kind: 'satisfiable', start: 7, end: 9 });
    expect(resolveRange({ start: 7, end: null }, 10)).toEqual({ kind: 'satisfiable', start: 7, end: 9 });
    expect(resolveRange({ suffix: 3 }, 10)).toEqual({ kind: 'satisfiable', start: 7, end: 9 });
    expect(resolveRange({ suffix: 30 }, 10)).toEqual({ kind: 'satisfiable', start: 0, end: 9 });
  });

  it('calls a start at or past the end, a zero suffix and an empty object unsatisfiable', () => {
    expect(resolveRange({ start: 10, end: null }, 10)).toBe(UNSATISFIABLE);
    expect(resolveRange({ start: 1e20, end: null }, 10)).toBe(UNSATISFIABLE);
    expect(resolveRange({ suffix: 0 }, 10)).toBe(UNSATISFIABLE);
    expect(resolveRange({ suffix: 5 }, 0)).toBe(UNSATISFIABLE);
  });

  it('writes Content-Range for 206 and 416', () => {
    expect(contentRange({ kind: 'satisfiable', start: 2, end: 5 }, 10)).toBe('bytes 2-5/10');
    expect(contentRange(UNSATISFIABLE, 10)).toBe('bytes */10');
  });
});

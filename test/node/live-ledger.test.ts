/**
 * The live ingest's pure rules: where a pushed segment goes (duplicates, reconnects, out-of-order), what ffmpeg's
 * playlist says, what is publishable, the probe of real ffmpeg segments, and the live playlist (DVR window,
 * discontinuities, no ENDLIST while live).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRestartPlaylist, parsePushedPlaylist, placeSegment, publishable, segmentNumber, type LedgerRow } from '../../workers/live/ledger';
import { probeSegment } from '../../workers/live/ts-probe';
import { liveLadder, shouldDrop } from '../../workers/live/ladder';
import { loadConfig } from '../../workers/shared/config';
import { buildMediaPlaylist } from '../../workers/playback/manifest';

const row = (seq: number, num: number, duration: number | null = 2, bytes: number | null = 100, connection = 0): LedgerRow => ({ seq, connection, num, duration, bytes, digest: bytes === null ? null : `d${num}` });

describe('placeSegment', () => {
  const rows = [row(0, 0), row(1, 1), row(2, 2)];
  it('continues, repeats idempotently, restarts at 0, refuses a lower number', () => {
    expect(placeSegment(rows, 3, 3, 'd3')).toEqual({ kind: 'store', seq: 3, newConnection: false, newRow: true });
    expect(placeSegment(rows, 1, 3, 'd1')).toEqual({ kind: 'duplicate', seq: 1 });
    expect(placeSegment([row(0, 0), row(1, 1), row(2, 2, null, 100)], 2, 3, 'd2')).toEqual({ kind: 'duplicate', seq: 2 });
    expect(placeSegment([...rows, row(3, 4)], 3, 4, 'x')).toMatchObject({ kind: 'out_of_order' });
    // A restarted ffmpeg pushes index0.ts again, with other bytes.
    expect(placeSegment(rows, 0, 3, 'other')).toEqual({ kind: 'store', seq: 3, newConnection: true, newRow: true });
    expect(placeSegment(rows.slice(1), 0, 3, 'other')).toEqual({ kind: 'store', seq: 3, newConnection: true, newRow: true });
    expect(placeSegment(rows, 1, 3, 'other')).toMatchObject({ kind: 'mismatch' });
  });
  it('fills a row a playlist announced before its bytes came', () => {
    expect(placeSegment([row(0, 0), row(1, 1, 2, null)], 1, 2, 'd1')).toEqual({ kind: 'store', seq: 1, newConnection: false, newRow: false });
  });
  it('tells a restarted broadcaster’s playlist from a stale one', () => {
    expect(isRestartPlaylist(rows, [0])).toBe(true);
    expect(isRestartPlaylist(rows, [0, 1, 2])).toBe(false);
    expect(isRestartPlaylist(rows, [1])).toBe(false);
  });
});

describe('ffmpeg playlists and publishing', () => {
  it('reads EXTINF, segment numbers and ENDLIST', () => {
    const text = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.000000,\nindex0.ts\n#EXTINF:1.5,\nindex1.ts\n#EXT-X-ENDLIST\n';
    expect(parsePushedPlaylist(text)).toEqual({ entries: [{ num: 0, duration: 2 }, { num: 1, duration: 1.5 }], ended: true });
    expect(parsePushedPlaylist('hello')).toBe('the playlist does not start with #EXTM3U');
    expect(parsePushedPlaylist('#EXTM3U\n#EXTINF:2,\n../x.ts\n')).toMatch(/not a name ending in a number/);
    expect(segmentNumber('index12.ts')).toBe(12);
    expect(segmentNumber('index.m3u8')).toBeNull();
  });
  it('publishes the prefix that has both bytes and a duration', () => {
    expect(publishable([row(0, 0), row(1, 1, null), row(2, 2)]).map((r) => r.seq)).toEqual([0]);
    expect(publishable([row(0, 0), row(1, 1, 2, null)]).map((r) => r.seq)).toEqual([0]);
  });
});

describe('live media playlists', () => {
  it('grow without ENDLIST, slide with the DVR window, mark reconnects', () => {
    const live = buildMediaPlaylist({ segmentDurations: [2, 2, 2, 2, 2], complete: false, discontinuities: [2], windowStart: 3 });
    expect(live).not.toContain('#EXT-X-ENDLIST');
    expect(live).not.toContain('PLAYLIST-TYPE');
    expect(live).toContain('#EXT-X-MEDIA-SEQUENCE:3');
    expect(live).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(live.match(/segment_\d+\.ts/g)).toEqual(['segment_0003.ts', 'segment_0004.ts']);
    const whole = buildMediaPlaylist({ segmentDurations: [2, 2, 2, 2], complete: true, discontinuities: [2], windowStart: 3 });
    expect(whole).toContain('#EXT-X-ENDLIST');
    expect(whole).toContain('#EXT-X-MEDIA-SEQUENCE:0');
    expect(whole.split('\n').indexOf('#EXT-X-DISCONTINUITY')).toBe(whole.split('\n').indexOf('segment_0001.ts') + 1);
  });
  it('list a dropped rung\'s later segments as gaps while live, never once complete', () => {
    const lines = buildMediaPlaylist({ segmentDurations: [2, 2, 2, 2, 2], complete: false, windowStart: 1, gapFrom: 3 }).split('\n');
    const gapped = (name: string) => lines[lines.indexOf(name) - 2] === '#EXT-X-GAP';
    expect(['segment_0001.ts', 'segment_0002.ts', 'segment_0003.ts', 'segment_0004.ts'].map(gapped)).toEqual([false, false, true, true]);
    expect(lines.filter((l) => l === '#EXT-X-GAP')).toHaveLength(2);
    expect(buildMediaPlaylist({ segmentDurations: [2, 2, 2], complete: true, gapFrom: 1 })).not.toContain('#EXT-X-GAP');
  });
});

describe('probeSegment on real ffmpeg output', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'live-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reads the picture size and codecs, and refuses what is not H.264 MPEG-TS', () => {
    const out = path.join(dir, 'p.m3u8');
    execFileSync('nice', ['-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=854x480:rate=30', '-f', 'lavfi', '-i', 'sine',
      '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-c:a', 'aac', '-f', 'hls', '-hls_time', '2', out]);
    const seg = new Uint8Array(readFileSync(path.join(dir, 'p0.ts')));
    expect(probeSegment(seg)).toEqual({ ok: true, facts: { width: 854, height: 480, codecs: expect.stringMatching(/^avc1\.6400[0-9a-f]{2},mp4a\.40\.2$/), hasAudio: true } });
    expect(probeSegment(new TextEncoder().encode('#EXTM3U\n'))).toMatchObject({ ok: false });
    expect(probeSegment(new Uint8Array(188 * 4).fill(0x47))).toMatchObject({ ok: false });
    writeFileSync(path.join(dir, 'cut.ts'), seg.subarray(0, 1000));
    expect(probeSegment(new Uint8Array(readFileSync(path.join(dir, 'cut.ts'))))).toMatchObject({ ok: false });
  });
});

describe('the live ladder rules', () => {
  const config = loadConfig({});

  it('transcodes the ladder below the pushed rung, never up, keeping the aspect', () => {
    expect(liveLadder(config, 1280, 720, '720p').map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['240p 426x240', '360p 640x360', '480p 854x480']);
    expect(liveLadder(config, 640, 360, '360p').map((r) => r.name)).toEqual(['240p']);
    // A size between rungs is published under the rung below it, and that rung is not transcoded again.
    expect(liveLadder(config, 1000, 562, '480p').map((r) => r.name)).toEqual(['240p', '360p']);
    expect(liveLadder(config, 720, 1280, '720p').map((r) => `${r.width}x${r.height}`)).toEqual(['240x426', '360x640', '480x854']);
    expect(liveLadder(config, 426, 240, '240p')).toEqual([]);
    expect(liveLadder(loadConfig({ LIVE_LADDER: 'false' }), 1280, 720, '720p')).toEqual([]);
  });

  it('drops a rung when more segments wait than allowed, counting only those newer than the last drop', () => {
    expect(shouldDrop([4, 5], -1, 2)).toBe(false);
    expect(shouldDrop([4, 5, 6], -1, 2)).toBe(true);
    // After a drop with 6 the newest waiting, the same backlog being worked off drops nothing more...
    expect(shouldDrop([5, 6, 7], 6, 2)).toBe(false);
    // ...until more than the allowed number arrive after it.
    expect(shouldDrop([6, 7, 8, 9], 6, 2)).toBe(true);
  });
});

/** The web app's pure browser modules: formatting, upload speed/ETA, the view rule, storyboard parsing, the chart. */
import { describe, expect, it } from 'vitest';
import { axisLabels, hourlyChartSvg, last48Hours, niceMax } from '../../workers/web/client/lib/chart';
import { groupChart, hourlyQoeCharts, percent, seconds } from '../../workers/web/client/lib/qoe-charts';
import { formatBitrate, formatBytes, formatClock, formatEta } from '../../workers/web/client/lib/format';
import { ProgressMeter } from '../../workers/web/client/lib/progress-meter';
import { parseStoryboard, tileAt } from '../../player/src/storyboard';
import { ViewTracker, viewRuleMet } from '../../player/src/view-tracker';
import { defaults } from '../../workers/shared/config';

const rule = { minWatchSeconds: defaults.views.minWatchSeconds, shortVideoSeconds: defaults.views.shortVideoSeconds, shortVideoFraction: defaults.views.shortVideoFraction };

describe('format', () => {
  it('formats sizes, rates, clocks and time left', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.5 MB');
    expect(formatBitrate(1_500_000)).toBe('1.5 Mbit/s');
    expect(formatBitrate(400_000)).toBe('400 kbit/s');
    expect(formatClock(75)).toBe('1:15');
    expect(formatClock(3725)).toBe('1:02:05');
    expect(formatEta(null)).toBe('estimating…');
    expect(formatEta(12.2)).toBe('13 s');
    expect(formatEta(150)).toBe('about 3 min');
  });
});

describe('ProgressMeter', () => {
  it('measures speed over a sliding window and derives time left', () => {
    const meter = new ProgressMeter(100_000_000, 5000);
    expect(meter.update(0, 0).bytesPerSecond).toBeNull();
    const snap = meter.update(10_000_000, 1000);
    expect(snap.bytesPerSecond).toBeCloseTo(10_000_000);
    expect(snap.secondsLeft).toBeCloseTo(9);
    expect(snap.fraction).toBeCloseTo(0.1);
  });

  it('follows a slowdown instead of averaging since the start', () => {
    const meter = new ProgressMeter(1e9, 2000);
    for (let t = 0; t <= 10_000; t += 500) meter.update(t * 10_000, t); // 10 MB/s
    let snap = meter.update(100_000_000, 10_000);
    for (let t = 10_500; t <= 20_000; t += 500) snap = meter.update(100_000_000 + (t - 10_000) * 1000, t); // 1 MB/s
    expect(snap.bytesPerSecond!).toBeGreaterThan(900_000);
    expect(snap.bytesPerSecond!).toBeLessThan(1_100_000);
  });

  it('starts over when a resumed upload reports a lower offset', () => {
    const meter = new ProgressMeter(1000);
    meter.update(500, 0);
    meter.update(600, 1000);
    expect(meter.update(100, 1500).bytesPerSecond).toBeNull();
  });
});

describe('view rule and tracker', () => {
  it('applies the platform rule: 30 s, or half of a video under 60 s', () => {
    expect(viewRuleMet(rule, 30, 600)).toBe(true);
    expect(viewRuleMet(rule, 29.9, 600)).toBe(false);
    expect(viewRuleMet(rule, 5, 10)).toBe(true);
    expect(viewRuleMet(rule, 4.9, 10)).toBe(false);
    expect(viewRuleMet(rule, 29, 60)).toBe(false);
  });

  it('counts watched time, not the playhead: a seek to the end is not a view', () => {
    const tracker = new ViewTracker(rule);
    expect(tracker.progress(0, 0, 1, 10)).toBe(false);
    expect(tracker.progress(0.25, 250, 1, 10)).toBe(false);
    tracker.interrupt(); // seeking
    expect(tracker.progress(9.9, 400, 1, 10)).toBe(false);
    expect(tracker.watchedSeconds).toBeCloseTo(0.25);
  });

  it('reports exactly once when enough has been watched, counting replays', () => {
    const tracker = new ViewTracker(rule);
    const fired: number[] = [];
    let wall = 0;
    for (let pass = 0; pass < 2; pass++) {
      tracker.interrupt();
      for (let pos = 0; pos <= 4; pos += 0.25) {
        if (tracker.progress(pos, wall, 1, 10)) fired.push(tracker.watchedSeconds);
        wall += 250;
      }
    }
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(5);
  });

  it('reports once more at 30 s when the platform found a half-of-a-short-video report too short (a live window)', () => {
    const tracker = new ViewTracker(rule);
    const fired: number[] = [];
    for (let pos = 0; pos <= 40; pos += 0.25) {
      // A live broadcast: the media element's duration is the growing window, 8 s at first.
      if (tracker.progress(pos, pos * 1000, 1, 8 + pos)) {
        fired.push(tracker.watchedSeconds);
        if (fired.length === 1) tracker.refusedAsTooShort();
      }
    }
    expect(fired).toHaveLength(2);
    expect(fired[0]).toBeLessThan(30);
    expect(fired[1]).toBeGreaterThanOrEqual(30);
  });

  it('does not credit a jump larger than the elapsed wall time allows', () => {
    const tracker = new ViewTracker(rule);
    tracker.progress(0, 0, 1, 100);
    tracker.progress(20, 1000, 1, 100); // a seek without a seeking event
    expect(tracker.watchedSeconds).toBe(0);
    tracker.progress(22, 2000, 2, 100); // 2× speed: 2 s of content in 1 s is real playback
    expect(tracker.watchedSeconds).toBe(2);
  });
});

describe('storyboard', () => {
  const vtt = [
    'WEBVTT',
    '',
    '00:00:00.000 --> 00:00:05.000',
    'sprite_0.jpg#xywh=0,0,160,90',
    '',
    '00:00:05.000 --> 00:00:10.000',
    'sprite_0.jpg#xywh=160,0,160,90',
    '',
    '00:01:00.500 --> 00:01:05.000',
    '/v/vid_1/thumbnails/sprite_1.jpg?other=1#xywh=0,90,160,90',
    '',
  ].join('\r\n');

  it('parses tiles and resolves sprites next to a signed storyboard URL, keeping the signature', () => {
    const tiles = parseStoryboard(vtt, 'https://e.example/v/vid_1/thumbnails/storyboard.vtt?sig=abc&exp=1');
    expect(tiles).toHaveLength(3);
    expect(tiles[0]).toEqual({ start: 0, end: 5, image: 'https://e.example/v/vid_1/thumbnails/sprite_0.jpg?sig=abc&exp=1', x: 0, y: 0, w: 160, h: 90 });
    expect(tiles[2]!.start).toBe(60.5);
    expect(tiles[2]!.image).toBe('https://e.example/v/vid_1/thumbnails/sprite_1.jpg?other=1');
  });

  it('keeps a path-embedded token by resolving relatively', () => {
    const tiles = parseStoryboard(vtt, 'https://e.example/s/TOKEN/v/vid_1/thumbnails/storyboard.vtt');
    expect(tiles[0]!.image).toBe('https://e.example/s/TOKEN/v/vid_1/thumbnails/sprite_0.jpg');
  });

  it('finds the tile for a time and ignores malformed input', () => {
    const tiles = parseStoryboard(vtt, 'https://e.example/a/storyboard.vtt');
    expect(tileAt(tiles, 7)?.x).toBe(160);
    expect(tileAt(tiles, 30)).toBeNull();
    expect(tileAt(tiles, 99)?.y).toBe(90);
    expect(parseStoryboard('not a vtt', 'https://e.example/')).toEqual([]);
    expect(parseStoryboard('WEBVTT\n\n00:00.000 --> 00:05.000\nsprite.jpg#xywh=1,2,3\n', 'https://e.example/')).toEqual([]);
  });
});

describe('hourly chart', () => {
  const now = Date.UTC(2026, 3, 20, 15, 42);
  const hour = (h: number) => Date.UTC(2026, 3, 20, h);

  it('fills 48 hourly slots ending at the current hour from any hour format', () => {
    const points = last48Hours(
      [
        { hour: new Date(hour(15)).toISOString(), views: 3, uniqueViewers: 2 },
        { hour: hour(14) / 1000, views: 1 },
        { hour: hour(13), views: 2 },
        { hour: Date.UTC(2026, 3, 10), views: 99 }, // older than 48 h
      ],
      now,
    );
    expect(points).toHaveLength(48);
    expect(points[47]).toEqual({ hourMs: hour(15), views: 3, uniqueViewers: 2 });
    expect(points[46]!.views).toBe(1);
    expect(points[45]!.views).toBe(2);
    expect(points.reduce((s, p) => s + p.views, 0)).toBe(6);
  });

  it('draws one bar per hour with escaped labels and a round axis', () => {
    expect(niceMax(7)).toBe(10);
    expect(niceMax(0)).toBe(1);
    const svg = hourlyChartSvg(last48Hours([{ hour: hour(15), views: 4 }], now), (ms) => `<${new Date(ms).getUTCHours()}h>`);
    expect(svg.match(/<rect /g)).toHaveLength(48);
    expect(svg).toContain('data-views="4"');
    expect(svg).toContain('4 in total');
    expect(svg).not.toContain('<15h>');
    expect(svg).toContain('&#60;15h&#62;');
  });
  it('spaces x-axis labels by their length so none overlap, and always labels the current hour', () => {
    const plot = { left: 40, right: 712, slot: 672 / 48 };
    for (const sample of ['14', '14:00', '02:00 PM', 'Sun 29 Nov, 14:00']) {
      const labels = axisLabels(Array.from({ length: 48 }, () => sample), plot);
      expect(labels.at(-1)).toMatchObject({ index: 47, anchor: 'end', x: 712 });
      expect(labels.length).toBeGreaterThan(1);
      for (let i = 1; i < labels.length; i++) expect(labels[i]!.left, sample).toBeGreaterThanOrEqual(labels[i - 1]!.right + 10);
      for (const l of labels) expect(l.right).toBeLessThanOrEqual(712);
    }
    // The SVG carries exactly those labels.
    const now = Date.UTC(2026, 3, 12, 15, 30);
    const svg = hourlyChartSvg(last48Hours([], now), () => '02:00 PM');
    expect(svg.match(/class="axis">02:00 PM</g)).toHaveLength(axisLabels(Array(48).fill('02:00 PM'), plot).length);
  });
});

describe('QoE charts', () => {
  const figures = { views: 3, startedViews: 3, startupP50Ms: 1234, startupP95Ms: 4000, rebufferRatio: 0.0125, rebufferCount: 1, stalledMs: 250, watchedMs: 20_000, failures: 0, failureRate: 0, exitsBeforeStart: 0, exitBeforeStartRate: null, averageBitrate: 900_000, switches: 0 };
  it('writes seconds and percentages as a creator reads them', () => {
    expect([seconds(1234), seconds(12_345), seconds(null), percent(0.0125), percent(0.5), percent(null)]).toEqual(['1.23 s', '12.3 s', '–', '1.25 %', '50.0 %', '–']);
  });

  it('draws the hourly median startup and rebuffering, and one escaped bar per group', () => {
    const hourly = [{ ...figures, hour: '2026-04-20T14:00:00.000Z' }, { ...figures, views: 0, startupP50Ms: null, rebufferRatio: null, hour: '2026-04-20T15:00:00.000Z' }];
    const charts = hourlyQoeCharts(hourly, (ms) => `${new Date(ms).getUTCHours()}h`);
    expect(charts.startup.match(/<rect /g)).toHaveLength(2);
    expect(charts.startup).toContain('14h: median startup 1.23 s (3 views)');
    expect(charts.rebuffer).toContain('14h: rebuffering 1.25 % (3 views)');
    const groups = groupChart([{ ...figures, key: 'DE' }, { ...figures, key: '<Other> / Linux' }], 'browser');
    expect(groups.match(/<rect /g)).toHaveLength(2);
    expect(groups).toContain('data-key="&#60;Other&#62; / Linux"');
    expect(groups).not.toContain('<Other>');
  });
});


/**
 * The QoE server's pure parts and the embed's: the startup sketch, the User-Agent families, embed options and oEmbed
 * sizes, and the records the player builds (player/src/qoe/collector.ts), which the server's schema accepts.
 */
import { describe, expect, it } from 'vitest';
import { QoeCollector } from '../../player/src/qoe/collector';
import { QoeRecordSchema } from '../../workers/views/qoe/schemas';
import { addSums, bucketValueMs, emptySums, isZero, sessionSums, startupBucket, startupQuantileMs, STARTUP_BUCKETS } from '../../workers/views/qoe/sketch';
import { browserFamily, osFamily } from '../../workers/views/qoe/dimensions';
import { parseEmbedOptions, parseStart } from '../../workers/web/embed/params';
import { fitSize } from '../../workers/web/embed/oembed';

describe('player records', () => {
  it('builds records the server accepts', () => {
    const q = new QoeCollector();
    q.intent(0);
    q.renditionChanged(10, 1_000_000, 480);
    q.playing(700);
    const record = { session: 'k1.x.1.y', seq: 0, ...q.figures(5000) };
    expect(QoeRecordSchema.safeParse(record).success).toBe(true);
    const exited = new QoeCollector();
    exited.intent(0);
    expect(QoeRecordSchema.safeParse({ session: 's', seq: 1, ...exited.figures(10) }).success).toBe(true);
  });
});

describe('startup sketch', () => {
  it('has ordered buckets within ±5 % of their values, and additive, cancellable sums', () => {
    for (const ms of [0, 99, 100, 101, 740, 800, 5000, 60_000, 1e6]) {
      const b = startupBucket(ms);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(STARTUP_BUCKETS);
      if (ms >= 100 && ms < 169_000) expect(Math.abs(bucketValueMs(b) - ms) / ms).toBeLessThan(0.05);
    }
    const values = [120, 300, 300, 900, 4000];
    const sums = values.map((v) => sessionSums({ startupMs: v, exitBeforeStart: false, failure: null, rebufferCount: 0, stalledMs: 0, watchedMs: 1000, averageBitrate: 1e6, switches: 0 }));
    const total = sums.reduce((a, s) => addSums(a, s), emptySums());
    expect(startupQuantileMs(total.startup, 0.5)).toBe(Math.round(bucketValueMs(startupBucket(300))));
    expect(startupQuantileMs(total.startup, 0.95)).toBe(Math.round(bucketValueMs(startupBucket(4000))));
    expect(isZero(sums.reduce((a, s) => addSums(a, s, -1), total))).toBe(true);
  });
});

describe('User-Agent families', () => {
  it.each([
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0', 'Edge', 'Windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0', 'Opera', 'Windows'],
    ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36', 'Samsung Internet', 'Android'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0', 'Firefox', 'macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1', 'Chrome', 'iOS'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari', 'macOS'],
    ['Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari', 'iOS'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome', 'ChromeOS'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36', 'Chrome', 'Linux'],
    ['curl/8.5.0', 'Other', 'Other'],
  ])('%s', (ua, browser, os) => {
    expect([browserFamily(ua), osFamily(ua)]).toEqual([browser, os]);
  });
});

describe('embed options and oEmbed sizes', () => {
  it('reads start times in seconds or h/m/s, and nothing else', () => {
    expect([parseStart('90'), parseStart('12.5'), parseStart('1m30s'), parseStart('1h2m3s'), parseStart('45s')]).toEqual([90, 12.5, 90, 3723, 45]);
    for (const bad of ['', 'abc', '-5', '1m30', '1e3', '5 s']) expect(parseStart(bad), bad).toBeNull();
    expect(parseEmbedOptions(new URLSearchParams('autoplay&muted=0&controls=false'))).toMatchObject({ ok: true, options: { autoplay: true, muted: false, controls: false } });
  });

  it('fits the frame into maxwidth and maxheight in the video’s aspect ratio', () => {
    expect(fitSize(16 / 9, 640)).toEqual({ width: 640, height: 360 });
    expect(fitSize(16 / 9, 640, 300)).toEqual({ width: 300, height: 169 });
    expect(fitSize(9 / 16, 640, undefined, 400)).toEqual({ width: 225, height: 400 });
  });
});

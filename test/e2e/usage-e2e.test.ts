/**
 * Usage figures through the real stack (wrangler dev, the transcoder, R2 and D1 of Miniflare): a creator of its own
 * uploads a video, it is transcoded, and a player fetches its segments through the signed edge URLs. `GET /v1/usage`
 * must then show exactly what the test put in:
 * - minutes stored: the video's duration;
 * - bytes stored: every object under the video's prefixes (its original and every output), listed in R2;
 * - minutes delivered: the durations of the video segments received (200s, a cache HIT again, a range from byte 0),
 *   not the audio rendition's (it plays beside the video), not a HEAD, not a range from a later byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackClient } from '../helpers/local-stack';
import { parseM3u8 } from '../helpers/m3u8';
import { sharedStack } from '../helpers/shared-stack';
import { listObjects, transcodedVideo, type VideoStatus } from '../helpers/transcoding-media';

interface Usage {
  current: { minutesStored: number; bytesStored: number };
  minutesDelivered: number;
  days: { day: string; minutesDelivered: number }[];
}

describe('usage counts exactly what was stored and delivered', () => {
  let stack: StackClient;
  let dir: string;
  let video: VideoStatus;

  const usage = async (): Promise<Usage> => {
    const res = await fetch(`${stack.origin}/v1/usage`, { headers: { Authorization: `Bearer ${stack.token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Usage;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'usage-e2e-'));
    stack = await sharedStack('usage e2e');
    video = await transcodedVideo(stack, 'metered', path.join(dir, 'source.mp4'), { width: 640, height: 360, seconds: 7 });
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the video\'s minutes and the bytes of its objects, and nothing is delivered before anyone plays', async () => {
    const objects = [...(await listObjects(stack, `originals/${video.id}/`)), ...(await listObjects(stack, `videos/${video.id}/`))];
    expect(objects.length).toBeGreaterThan(3);
    const before = await usage();
    expect(before.current.minutesStored).toBeCloseTo(video.duration! / 60, 9);
    expect(before.current.bytesStored).toBe(objects.reduce((sum, o) => sum + o.size, 0));
    expect(before.minutesDelivered).toBe(0);
  });

  it('counts the seconds of the video segments received, and nothing else', async () => {
    const playback = (await (await fetch(`${stack.origin}/v1/videos/${video.id}/playback`)).json()) as { url: string };
    const base = playback.url.slice(0, playback.url.lastIndexOf('/') + 1);
    const master = await (await fetch(playback.url)).text();
    const media = master.split('\n').filter((l) => l.endsWith('playlist.m3u8'));
    const lowest = media.find((l) => !l.startsWith('audio/'))!;
    const audio = (/URI="([^"]*audio[^"]*playlist\.m3u8)"/.exec(master) ?? [])[1];
    expect(lowest).toBeTruthy();
    expect(audio, 'the audio rendition is its own playlist').toBeTruthy();

    const segmentsOf = async (playlist: string) => {
      const text = await (await fetch(new URL(playlist, base))).text();
      const dirUrl = new URL(playlist, base).href.replace(/playlist\.m3u8$/, '');
      return parseM3u8<{ segments: { uri: string; duration: number }[] }>(text).segments.map((s) => ({ url: dirUrl + s.uri, duration: s.duration }));
    };
    const videoSegments = await segmentsOf(lowest);
    const audioSegments = await segmentsOf(audio!);
    expect(videoSegments.length).toBeGreaterThan(1);

    let expected = 0;
    let counted = 0;
    // A viewer plays the whole lowest rung and its audio.
    for (const s of videoSegments) {
      const res = await fetch(s.url);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expected += s.duration;
      counted++;
    }
    for (const s of audioSegments) expect((await fetch(s.url)).status).toBe(200);
    // A second viewer's first segment (a cache HIT now) is a delivery too.
    const again = await fetch(videoSegments[0]!.url);
    await again.arrayBuffer();
    expected += videoSegments[0]!.duration;
    counted++;
    // A range from byte 0 is a delivery; a HEAD and a range from a later byte are not.
    const fromStart = await fetch(videoSegments[1]!.url, { headers: { Range: 'bytes=0-99' } });
    expect(fromStart.status).toBe(206);
    await fromStart.arrayBuffer();
    expected += videoSegments[1]!.duration;
    counted++;
    expect((await fetch(videoSegments[1]!.url, { method: 'HEAD' })).status).toBe(200);
    const later = await fetch(videoSegments[1]!.url, { headers: { Range: 'bytes=100-199' } });
    expect(later.status).toBe(206);
    await later.arrayBuffer();

    // Exact, up to the playlist's EXTINF, which writes each duration with 3 decimals (the meter counts the stored
    // durations), and the answer's rounding to a millionth of a minute.
    const tolerance = counted * 0.0005 + 60e-6;
    const after = await usage();
    expect(Math.abs(after.minutesDelivered * 60 - expected)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(after.days.reduce((sum, d) => sum + d.minutesDelivered, 0) * 60 - expected)).toBeLessThanOrEqual(tolerance);
    // Nothing more arrives later: every delivery was counted once.
    expect((await usage()).minutesDelivered).toBe(after.minutesDelivered);
  });
});

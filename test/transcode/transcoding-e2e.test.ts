/**
 * Transcoding end to end: originals uploaded through the chunk API to the real Worker (wrangler dev on Miniflare),
 * its queue consumer, the real transcoder process and real ffmpeg, then played back through a signed URL. Sources are
 * generated with lavfi; outputs are read back from R2 and checked with ffprobe and a real HLS parser (m3u8-parser).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseM3u8 as parseM3u8As } from '../helpers/m3u8';
import { startStack, type Stack } from '../helpers/local-stack';
import { downloadObject, firstVideoFrame, getObject, getVideo, listObjects, makeSource, uploadOriginal, videoStreamDuration, waitForStatus } from '../helpers/transcoding-media';

const execFileP = promisify(execFile);

interface ParsedManifest {
  targetDuration?: number;
  endList?: boolean;
  playlistType?: string;
  segments: { duration: number; uri: string }[];
  playlists?: { uri: string; attributes: { BANDWIDTH: number; 'AVERAGE-BANDWIDTH'?: string | number; CODECS?: string; RESOLUTION?: { width: number; height: number }; 'FRAME-RATE'?: number } }[];
}
const parseM3u8 = (text: string) => parseM3u8As<ParsedManifest>(text);

const decoder = new TextDecoder();

interface Sources {
  hd: string;
  random: string;
  text: string;
  truncated: string;
  audioOnly: string;
  portrait: string;
  small: string;
  crash: string;
}

/** Every source the file needs, generated concurrently (lavfi; a few seconds of CPU in all). */
async function makeSources(dir: string): Promise<Sources> {
  const at = (name: string) => path.join(dir, name);
  const random = at('random.bin');
  writeFileSync(random, Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919 + 13) % 251)));
  const text = at('notes.txt');
  writeFileSync(text, 'this is not a video\n'.repeat(500));
  const audioOnly = at('audio.m4a');
  const [hd, full, portrait, small, crash] = await Promise.all([
    makeSource(at('1080p.mp4'), { width: 1920, height: 1080, seconds: 12 }),
    makeSource(at('full.mp4'), { width: 320, height: 240, seconds: 4 }),
    // A phone video: stored 640×360 with a 90° display matrix, shown 360×640.
    makeSource(at('portrait.mp4'), { width: 640, height: 360, seconds: 4, audio: false, rotate: 90 }),
    makeSource(at('small.mp4'), { width: 426, height: 240, seconds: 4 }),
    // Two 18 s chunks: its chunk 1 is held mid-encode (the only video here that has one) and the transcoder killed.
    makeSource(at('480p.mp4'), { width: 854, height: 480, seconds: 36 }),
    execFileP('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=48000', '-t', '3', '-c:a', 'aac', audioOnly]),
  ]);
  const truncated = at('truncated.mp4');
  const bytes = readFileSync(full);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2))); // moov is at the end: cut off
  return { hd, random, text, truncated, audioOnly, portrait, small, crash };
}

describe('transcoding pipeline (local stack, real ffmpeg)', () => {
  let stack: Stack;
  let dir: string;
  let sources: Sources;
  /** Videos uploaded in beforeAll, processed concurrently; each test waits for its own. */
  let ids: { hd: string; random: string; text: string; truncated: string; audioOnly: string; portrait: string; small: string; crash: string };
  /** The hd video's upper rung group, held mid-encode until the progressive-availability check has seen 240p alone. */
  const HD_UPPER = 'encode:360p+480p+720p+1080p@0';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'transcode-e2e-'));
    // superfast keeps CI cheap and still encodes High profile (8x8 transforms, CABAC), so the codec strings are the
    // production ones; production uses the benchmarked default preset. Short backoff and lease for the crash test;
    // 18 s chunks, so only the crash video has a chunk 1. Held mid-encode (containers/transcoder/src/hold.ts): the
    // hd video's upper rungs, and the crash video's first chunk-1 unit to start.
    [stack, sources] = await Promise.all([
      startStack({
        transcoder: true,
        vars: { X264_PRESET: 'superfast', TRANSCODE_RETRY_BASE_DELAY_SEC: '1', TRANSCODE_JOB_LEASE_MS: '20000', TRANSCODE_CHUNK_SEC: '18' },
        holdUnits: [HD_UPPER, 'encode:*@1'],
      }),
      makeSources(dir),
    ]);
    // Independent videos go in together through the real chunk API: the queue and the transcoder interleave them
    // while the tests check one after another. The crash test kills the transcoder only once every other video is
    // finished (killing it would redo their jobs too).
    const [hd, random, text, truncated, audioOnly, portrait, small, crash] = await Promise.all(
      [sources.hd, sources.random, sources.text, sources.truncated, sources.audioOnly, sources.portrait, sources.small, sources.crash].map((file) => uploadOriginal(stack, path.basename(file), file)),
    );
    ids = { hd: hd!, random: random!, text: text!, truncated: truncated!, audioOnly: audioOnly!, portrait: portrait!, small: small!, crash: crash! };
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns a 1080p 12 s clip uploaded through the chunk API into 5 keyframe-aligned HLS renditions with thumbnails', async () => {
    const sourceDuration = videoStreamDuration(sources.hd);
    const id = ids.hd;

    // Progressive availability: the lowest rung becomes playable while the upper rungs are still encoding (held).
    const upper = await stack.waitForHeld(id, HD_UPPER);
    const deadline = Date.now() + 300_000;
    let early = await getVideo(stack, id);
    while (early.renditions.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      early = await getVideo(stack, id);
    }
    expect(early.status).toBe('PROCESSING');
    expect(early.renditions.map((r) => r.name)).toEqual(['240p']);
    expect(early.processing.find((p) => p.unit === HD_UPPER)).toMatchObject({ status: 'PROCESSING', attempts: 1 });
    process.kill(upper.pid, 'SIGCONT');
    const video = await waitForStatus(stack, id, ['READY', 'FAILED']);
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-80).join(''));
    expect(video.status).toBe('READY');
    expect(video.processing.find((p) => p.unit === HD_UPPER)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    expect(video).toMatchObject({ width: 1920, height: 1080 });
    expect(video.duration).toBeCloseTo(12, 1);

    const names = video.renditions.map((r) => r.name);
    expect(names).toEqual(['240p', '360p', '480p', '720p', '1080p']);
    expect(video.renditions.map((r) => [r.width, r.height])).toEqual([[426, 240], [640, 360], [854, 480], [1280, 720], [1920, 1080]]);

    // Master copy in R2: codecs, bandwidths, resolutions from the encoded streams.
    const master = parseM3u8(decoder.decode(await getObject(stack, `videos/${id}/master.m3u8`)));
    expect(master.playlists).toHaveLength(5);
    for (const p of master.playlists!) {
      expect(p.attributes.CODECS).toMatch(/^avc1\.(64|4d|42)[0-9a-f]{4},mp4a\.40\.2$/);
      expect(p.attributes.BANDWIDTH).toBeGreaterThan(100_000);
      expect(Number(p.attributes['AVERAGE-BANDWIDTH'])).toBeLessThanOrEqual(p.attributes.BANDWIDTH);
    }
    // 1080p at 30 fps needs level 4.0 (0x28); 240p fits in a lower level: the level is read, not assumed.
    expect(video.renditions.find((r) => r.name === '1080p')!.codecs).toBe('avc1.640028,mp4a.40.2');
    expect(video.renditions.find((r) => r.name === '240p')!.codecs).not.toBe('avc1.640028,mp4a.40.2');

    const boundaries: number[][] = [];
    for (const name of names) {
      const text = decoder.decode(await getObject(stack, `videos/${id}/${name}/playlist.m3u8`));
      const media = parseM3u8(text);
      expect(media.endList).toBe(true);
      expect(media.playlistType).toBe('VOD');
      expect(media.segments.length).toBe(2); // 12 s at 6 s segments
      for (const s of media.segments) expect(Math.round(s.duration)).toBeLessThanOrEqual(media.targetDuration!);
      const total = media.segments.reduce((a, s) => a + s.duration, 0);
      expect(Math.abs(total - sourceDuration)).toBeLessThanOrEqual(1 / 30 + 1e-6);

      const starts: number[] = [];
      for (const seg of media.segments) {
        const file = await downloadObject(stack, `videos/${id}/${name}/${seg.uri}`, path.join(dir, `${name}-${seg.uri}`));
        const frame = firstVideoFrame(file);
        expect(frame.keyFrame, `${name}/${seg.uri} starts with a keyframe`).toBe(true);
        expect(frame.pictType).toBe('I');
        starts.push(frame.ptsTime);
      }
      boundaries.push(starts);
    }
    for (const starts of boundaries.slice(1)) {
      starts.forEach((t, i) => expect(Math.abs(t - boundaries[0]![i]!)).toBeLessThan(0.001));
    }

    const thumbs = await listObjects(stack, `videos/${id}/thumbnails/`);
    const thumbNames = thumbs.map((o) => o.key.split('/').pop());
    expect(thumbNames).toEqual(expect.arrayContaining(['poster.jpg', 'sprite_0.jpg', 'storyboard.vtt']));
    const poster = await getObject(stack, `videos/${id}/thumbnails/poster.jpg`);
    expect([poster[0], poster[1]]).toEqual([0xff, 0xd8]); // JPEG SOI
    const vtt = decoder.decode(await getObject(stack, `videos/${id}/thumbnails/storyboard.vtt`));
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toMatch(/00:00:00\.000 --> 00:00:02\.000\nsprite_0\.jpg#xywh=0,0,160,90/);
    expect((vtt.match(/#xywh=/g) ?? []).length).toBe(6); // one tile every 2 s of 12 s
  });

  it('serves the READY ladder through a signed playback URL: measured master, byte-identical segments, storyboard sprites', async () => {
    const video = await waitForStatus(stack, ids.hd, ['READY', 'FAILED']);
    expect(video.status).toBe('READY');
    const res = await fetch(`${stack.origin}/v1/videos/${ids.hd}/playback`, { headers: { Authorization: `Bearer ${stack.token}` } });
    expect(res.status).toBe(200);
    const playback = (await res.json()) as { url: string; status: string; renditions: string[] };
    expect(playback.status).toBe('READY');
    const masterUrl = new URL(playback.url);
    expect(masterUrl.pathname).toMatch(new RegExp(`^/v/${ids.hd}/t/[^/]+/master\\.m3u8$`));

    // The signed URL is the grant: no token sent from here on.
    const masterRes = await fetch(masterUrl);
    expect(masterRes.status).toBe(200);
    expect(masterRes.headers.get('Content-Type')).toBe('application/vnd.apple.mpegurl');
    const masterText = await masterRes.text();
    // One manifest module: the served master is byte-identical to the copy transcoding wrote to R2.
    expect(masterText).toBe(decoder.decode(await getObject(stack, `videos/${ids.hd}/master.m3u8`)));
    const master = parseM3u8(masterText);
    expect(master.playlists!.map((p) => p.uri)).toEqual(['240p/playlist.m3u8', '360p/playlist.m3u8', '480p/playlist.m3u8', '720p/playlist.m3u8', '1080p/playlist.m3u8']);
    for (const p of master.playlists!) {
      // The transcoder's measurements, as recorded in the renditions rows (and shown by the API).
      const r = video.renditions.find((x) => `${x.name}/playlist.m3u8` === p.uri)!;
      expect(p.attributes.BANDWIDTH).toBe(r.bandwidth);
      expect(Number(p.attributes['AVERAGE-BANDWIDTH'])).toBe(r.averageBandwidth);
      expect(p.attributes.CODECS).toBe(r.codecs);
      expect(p.attributes.RESOLUTION).toEqual({ width: r.width, height: r.height });
      expect(p.attributes['FRAME-RATE']).toBeCloseTo(r.frameRate!, 3);
      expect(r.frameRate).toBeCloseTo(30, 3);
    }

    // A segment through the signed URL, resolved the way a player does, is byte-identical to the R2 object.
    const mediaUrl = new URL('720p/playlist.m3u8', masterUrl);
    const media = parseM3u8(await (await fetch(mediaUrl)).text());
    const segmentUrl = new URL(media.segments[1]!.uri, mediaUrl);
    const segmentRes = await fetch(segmentUrl);
    expect(segmentRes.status).toBe(200);
    expect(segmentRes.headers.get('Content-Type')).toBe('video/mp2t');
    const served = new Uint8Array(await segmentRes.arrayBuffer());
    const stored = await getObject(stack, `videos/${ids.hd}/720p/segment_0001.ts`);
    expect(served.length).toBe(stored.length);
    expect(Buffer.from(served).equals(Buffer.from(stored))).toBe(true);

    // The storyboard through the signed path references sprites that load as JPEGs.
    const vttUrl = new URL('thumbnails/storyboard.vtt', masterUrl);
    const vttRes = await fetch(vttUrl);
    expect(vttRes.status).toBe(200);
    const vtt = await vttRes.text();
    const sprites = [...new Set([...vtt.matchAll(/^(\S+\.jpg)#xywh=/gm)].map((m) => m[1]!))];
    expect(sprites.length).toBeGreaterThan(0);
    for (const sprite of sprites) {
      const spriteRes = await fetch(new URL(sprite, vttUrl));
      expect(spriteRes.status, sprite).toBe(200);
      expect(spriteRes.headers.get('Content-Type')).toBe('image/jpeg');
      const jpeg = new Uint8Array(await spriteRes.arrayBuffer());
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    }
  });

  it('fails undecodable originals with a clear reason and no retries', async () => {
    const cases: [string, RegExp][] = [
      [ids.random, /not a readable video/],
      [ids.text, /not a readable video|text file/],
      [ids.truncated, /not a readable video|truncated/],
      [ids.audioOnly, /only audio/],
    ];
    for (const [id, reason] of cases) {
      const video = await waitForStatus(stack, id, ['FAILED', 'READY'], 120_000);
      expect(video.status).toBe('FAILED');
      expect(video.error).toMatch(reason);
      const analyze = video.processing.find((p) => p.unit === 'analyze')!;
      expect(analyze).toMatchObject({ status: 'FAILED', attempts: 1 });
      expect(video.renditions).toEqual([]);
    }
  });

  it('keeps the aspect ratio of portrait sources and gives a 240p source one rung', async () => {
    const p = await waitForStatus(stack, ids.portrait, ['READY', 'FAILED']);
    expect(p.status).toBe('READY');
    expect(p).toMatchObject({ width: 360, height: 640 });
    // A 360×640 portrait is a 360p source: 240p and 360p rungs, portrait sizes, even dimensions.
    expect(p.renditions.map((r) => [r.name, r.width, r.height])).toEqual([['240p', 240, 426], ['360p', 360, 640]]);
    // No audio in the source: a silent AAC track keeps the codec set uniform.
    expect(p.renditions[0]!.codecs).toMatch(/,mp4a\.40\.2$/);

    const s = await waitForStatus(stack, ids.small, ['READY', 'FAILED']);
    expect(s.status).toBe('READY');
    expect(s.renditions.map((r) => [r.name, r.width, r.height])).toEqual([['240p', 426, 240]]);
  });

  it('redoes a job whose transcoder was killed mid-encode, without duplicate rows or objects', async () => {
    // Every other video finished first: killing the transcoder would redo their jobs too.
    const others = Object.entries(ids).filter(([name]) => name !== 'crash').map(([, id]) => id);
    await Promise.all(others.map((other) => waitForStatus(stack, other, ['READY', 'FAILED'])));
    const id = ids.crash;
    const held = await stack.waitForHeld(id, /^encode:.*@1$/);
    expect((await getVideo(stack, id)).processing.find((j) => j.unit === held.unit)).toMatchObject({ status: 'PROCESSING', attempts: 1 });
    // The held ffmpeg writes under the killed transcoder's work root, which its `finally` will never remove.
    const workRoot = /(\/[^\0]*\/transcoder-\d+)\/job-/.exec(readFileSync(`/proc/${held.pid}/cmdline`, 'utf8'))?.[1];
    expect(workRoot && existsSync(workRoot)).toBe(true);
    // The new process holds nothing: a chunk-1 unit not started yet must not be held in its turn.
    await stack.restartTranscoder({ holdUnits: [] });

    const video = await waitForStatus(stack, id, ['READY', 'FAILED']);
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-60).join(''));
    expect(video.status).toBe('READY');
    const killed = video.processing.find((j) => j.unit === held.unit)!;
    expect(killed.status).toBe('COMPLETED');
    expect(killed.attempts).toBeGreaterThanOrEqual(2);
    // The restarted transcoder removed the killed one's work root when it started.
    expect(existsSync(workRoot!)).toBe(false);
    // One job row per unit, one rendition per rung.
    expect(new Set(video.processing.map((j) => j.unit)).size).toBe(video.processing.length);
    expect(video.renditions.map((r) => r.name)).toEqual(['240p', '360p', '480p']);

    const objects = await listObjects(stack, `videos/${id}/`);
    for (const r of video.renditions) {
      const segs = objects.filter((o) => o.key.startsWith(`videos/${id}/${r.name}/segment_`));
      expect(segs.map((o) => o.key.split('/').pop())).toEqual(Array.from({ length: r.segmentCount }, (_, n) => `segment_${String(n).padStart(4, '0')}.ts`));
    }
  });
});

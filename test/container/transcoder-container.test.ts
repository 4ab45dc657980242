/**
 * The production transcoding path, for real: `wrangler dev --enable-containers` with wrangler.toml's own [vars]
 * (TRANSCODER_URL "container", no PUBLIC_ORIGIN), the transcoder image built from containers/transcoder/Dockerfile
 * and run by the local Docker engine through the TranscoderContainer Durable Object. An upload goes through the
 * queue to the container, which has no route to R2 but the Worker's outbound handler for `storage.internal` (the
 * /internal/storage door does not exist in this configuration). The outputs are checked as in
 * test/transcode/transcoding-e2e.test.ts, read back the way a player reads them: through the signed playback URL.
 * A container killed mid-job is retried, not waited on: the job is held mid-encode first (TRANSCODER_HOLD_UNITS,
 * containers/transcoder/src/hold.ts), so the kill lands mid-encode on a fast machine as on a slow one.
 *
 * Needs the engine and images of scripts/container/setup-docker.sh: run as `npm run test:container`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseM3u8 as parseM3u8As } from '../helpers/m3u8';
import { containerEnv, parseHeldUnits, startStack, type HeldUnit, type Stack } from '../helpers/local-stack';
import { firstVideoFrame, getVideo, internalHeaders, makeSource, uploadOriginal, videoStreamDuration, waitForStatus } from '../helpers/transcoding-media';

interface ParsedManifest {
  endList?: boolean;
  playlistType?: string;
  targetDuration?: number;
  segments: { duration: number; uri: string }[];
  playlists?: { uri: string; attributes: { BANDWIDTH: number; 'AVERAGE-BANDWIDTH'?: string | number; CODECS?: string; RESOLUTION?: { width: number; height: number } } }[];
}
const parseM3u8 = (text: string) => parseM3u8As<ParsedManifest>(text);

const docker = (args: string[]) => execFileSync(containerEnv().WRANGLER_DOCKER_BIN!, args, { encoding: 'utf8' }).trim();

/** Transcoder containers of this run (the egress sidecars are named `…-proxy`). */
function transcoderContainers(): string[] {
  const names = docker(['ps', '--format', '{{.Names}}', '--filter', 'ancestor=' + imageOfRun()]).split('\n').filter(Boolean);
  return names.filter((n) => !n.endsWith('-proxy'));
}
let imageTag = '';
function imageOfRun(): string {
  if (!imageTag) imageTag = docker(['images', '--format', '{{.Repository}}:{{.Tag}}', 'cloudflare-dev/transcodercontainer']).split('\n')[0] ?? '';
  return imageTag;
}

/** Units held in this run's transcoder containers (their `held:` log lines) for the video `videoId`. */
function heldInContainers(videoId: string): HeldUnit[] {
  return transcoderContainers()
    .flatMap((name) => parseHeldUnits(docker(['logs', name])))
    .filter((h) => h.source.startsWith(`originals/${videoId}/`));
}

async function fetchOk(url: URL | string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res;
}

describe('transcoder container (wrangler dev --enable-containers, real image, production vars)', () => {
  let stack: Stack;
  let dir: string;
  let source: string;
  let cmafSource: string;
  let crashSource: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'container-e2e-'));
    [source, cmafSource, crashSource] = await Promise.all([
      makeSource(path.join(dir, '480p.mp4'), { width: 854, height: 480, seconds: 8 }),
      // One 240p rung in each codec: the AV1 encode is the costliest unit a container runs, kept to one small rung.
      makeSource(path.join(dir, '240p.mp4'), { width: 426, height: 240, seconds: 8 }),
      // One upload chunk (about 6 MB); two 12 s chunks, the second of which is held mid-encode and killed.
      makeSource(path.join(dir, 'crash.mp4'), { width: 640, height: 360, seconds: 24 }),
    ]);
    // wrangler.toml's [vars] as deployed, except: the job lease is shortened, so the killed container's unit is
    // taken over (lease expiry: the heartbeats stop) within the test's patience; 12 s chunks, so the crash video has
    // a chunk 1 and the first video (8 s) has none; and the first attempt of every chunk-1 unit is held mid-encode.
    stack = await startStack({ containers: true, vars: { TRANSCODE_JOB_LEASE_MS: '30000', TRANSCODE_CHUNK_SEC: '12' }, holdUnits: ['encode:*@1'] });
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    // workerd keeps a container's networking sidecar warm for the next start; this run's are not needed again.
    const leftovers = docker(['ps', '-a', '--format', '{{.Names}}', '--filter', 'name=workerd-edge-video-TranscoderContainer']).split('\n').filter(Boolean);
    if (leftovers.length) docker(['rm', '-f', ...leftovers]);
  });

  it('runs with the production configuration: no storage door, no bench routes', async () => {
    const storage = await fetch(`${stack.origin}/internal/storage?prefix=videos/vid_x/`, { headers: internalHeaders() });
    expect(storage.status).toBe(404);
    expect((await fetch(`${stack.origin}/internal/bench/discard`, { method: 'POST', headers: internalHeaders(), body: 'x' })).status).toBe(404);
    expect((await fetch(`${stack.origin}/__bench/noop-text`)).status).toBe(404);
  });

  it('transcodes an upload in the container into keyframe-aligned HLS renditions and thumbnails, served by signed URL', async () => {
    const id = await uploadOriginal(stack, 'container e2e', source);
    const video = await waitForStatus(stack, id, ['READY', 'FAILED'], 540_000).catch((err) => {
      process.stderr.write(stack.logs.slice(-120).join(''));
      throw err;
    });
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-120).join(''));
    expect(video.status, JSON.stringify({ error: video.error, processing: video.processing })).toBe('READY');
    expect(video).toMatchObject({ width: 854, height: 480 });
    expect(video.duration).toBeCloseTo(8, 1);
    expect(video.renditions.map((r) => r.name)).toEqual(['240p', '360p', '480p']);
    // 854×480 is not exactly 16:9: the 240p rung keeps the source's aspect ratio at an even width.
    expect(video.renditions.map((r) => [r.width, r.height])).toEqual([[428, 240], [640, 360], [854, 480]]);

    // The signed URL is built from the request's own origin (PUBLIC_ORIGIN is empty in production).
    const res = await fetch(`${stack.origin}/v1/videos/${id}/playback`, { headers: { Authorization: `Bearer ${stack.token}` } });
    expect(res.status).toBe(200);
    const masterUrl = new URL(((await res.json()) as { url: string }).url);
    expect(masterUrl.origin).toBe(stack.origin);

    const master = parseM3u8(await (await fetchOk(masterUrl)).text());
    expect(master.playlists!.map((p) => p.uri)).toEqual(['240p/playlist.m3u8', '360p/playlist.m3u8', '480p/playlist.m3u8']);
    for (const p of master.playlists!) {
      const r = video.renditions.find((x) => `${x.name}/playlist.m3u8` === p.uri)!;
      expect(p.attributes.CODECS).toMatch(/^avc1\.(64|4d|42)[0-9a-f]{4},mp4a\.40\.2$/);
      expect(p.attributes.CODECS).toBe(r.codecs);
      expect(p.attributes.BANDWIDTH).toBe(r.bandwidth);
      expect(p.attributes.BANDWIDTH).toBeGreaterThan(100_000);
      expect(Number(p.attributes['AVERAGE-BANDWIDTH'])).toBeLessThanOrEqual(p.attributes.BANDWIDTH);
      expect(p.attributes.RESOLUTION).toEqual({ width: r.width, height: r.height });
    }

    const sourceDuration = videoStreamDuration(source);
    const boundaries: number[][] = [];
    for (const p of master.playlists!) {
      const mediaUrl = new URL(p.uri, masterUrl);
      const media = parseM3u8(await (await fetchOk(mediaUrl)).text());
      expect(media.endList).toBe(true);
      expect(media.playlistType).toBe('VOD');
      expect(media.segments.length).toBe(2); // 8 s at 6 s segments
      const total = media.segments.reduce((a, s) => a + s.duration, 0);
      expect(Math.abs(total - sourceDuration)).toBeLessThanOrEqual(1 / 30 + 1e-6);
      const starts: number[] = [];
      for (const seg of media.segments) {
        const segRes = await fetchOk(new URL(seg.uri, mediaUrl));
        expect(segRes.headers.get('Content-Type')).toBe('video/mp2t');
        const file = path.join(dir, `${p.uri.split('/')[0]}-${seg.uri}`);
        writeFileSync(file, Buffer.from(await segRes.arrayBuffer()));
        const frame = firstVideoFrame(file);
        expect(frame.keyFrame, `${p.uri} ${seg.uri} starts with a keyframe`).toBe(true);
        expect(frame.pictType).toBe('I');
        starts.push(frame.ptsTime);
      }
      boundaries.push(starts);
    }
    for (const starts of boundaries.slice(1)) starts.forEach((t, i) => expect(Math.abs(t - boundaries[0]![i]!)).toBeLessThan(0.001));

    const vttUrl = new URL('thumbnails/storyboard.vtt', masterUrl);
    const vtt = await (await fetchOk(vttUrl)).text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect((vtt.match(/#xywh=/g) ?? []).length).toBe(4); // one tile every 2 s of 8 s
    const sprites = [...new Set([...vtt.matchAll(/^(\S+\.jpg)#xywh=/gm)].map((m) => m[1]!))];
    for (const sprite of sprites) {
      const jpeg = new Uint8Array(await (await fetchOk(new URL(sprite, vttUrl))).arrayBuffer());
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    }

    // It really ran in Docker: the image wrangler built, joined to its egress sidecar's network namespace.
    const running = transcoderContainers();
    expect(running.length).toBeGreaterThan(0);
    const mode = docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', running[0]!]);
    expect(mode).toMatch(/^container:/);
    expect(docker(['inspect', '-f', '{{.Name}}', mode.slice('container:'.length)])).toMatch(/-proxy$/);
    expect(stack.logs.join('')).toMatch(/"event":"container\.start"/);
  });

  it('encodes a CMAF video with H.264 and AV1 rungs and a per-title ladder in the container, served as HLS and DASH', async () => {
    const id = await uploadOriginal(stack, 'container cmaf', cmafSource, 4, { packaging: 'cmaf', codecs: ['h264', 'av1'], ladderMode: 'per-title' });
    const video = await waitForStatus(stack, id, ['READY', 'FAILED'], 540_000);
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-120).join(''));
    expect(video.status, JSON.stringify({ error: video.error, processing: video.processing })).toBe('READY');
    expect(video.renditions.map((r) => r.name).sort()).toEqual(['240p', '240p-av1']);
    expect(video.ladder).toMatchObject({ mode: 'per-title', crf: { '240p': 21, '240p-av1': expect.any(Number) } });
    for (const r of video.renditions) expect(r.codecs, r.name).toMatch(r.name.endsWith('-av1') ? /^av01\.0\.\d{2}M\.08,mp4a\.40\.2$/ : /^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
    const res = await fetch(`${stack.origin}/v1/videos/${id}/playback`, { headers: { Authorization: `Bearer ${stack.token}` } });
    const { url, dashUrl } = (await res.json()) as { url: string; dashUrl: string };
    const masterUrl = new URL(url);
    const starts: number[][] = [];
    for (const name of ['240p', '240p-av1']) {
      const mediaUrl = new URL(`${name}/playlist.m3u8`, masterUrl);
      const text = await (await fetchOk(mediaUrl)).text();
      expect(text).toContain('#EXT-X-MAP:URI="init.mp4"');
      const init = Buffer.from(await (await fetchOk(new URL('init.mp4', mediaUrl))).arrayBuffer());
      const times: number[] = [];
      for (const seg of parseM3u8(text).segments) {
        expect(seg.uri).toMatch(/^segment_\d{4}\.m4s$/);
        const segRes = await fetchOk(new URL(seg.uri, mediaUrl));
        expect(segRes.headers.get('Content-Type')).toBe('video/mp4');
        const file = path.join(dir, `${name}-${seg.uri}.mp4`);
        writeFileSync(file, Buffer.concat([init, Buffer.from(await segRes.arrayBuffer())]));
        const frame = firstVideoFrame(file);
        expect(frame.keyFrame, `${name} ${seg.uri} starts with a keyframe`).toBe(true);
        times.push(frame.ptsTime);
      }
      starts.push(times);
    }
    starts[1]!.forEach((t, i) => expect(Math.abs(t - starts[0]![i]!)).toBeLessThan(0.001));
    const mpd = await fetchOk(dashUrl);
    expect(mpd.headers.get('Content-Type')).toBe('application/dash+xml');
    expect(await mpd.text()).toContain('media="240p-av1/segment_$Number%04d$.m4s"');
  });

  it('retries a job whose container was killed mid-encode (SIGKILL, as the OOM killer does) instead of hanging', async () => {
    const id = await uploadOriginal(stack, 'container crash', crashSource);
    // Every chunk-1 unit is held in its container once its ffmpeg has written output (or, if it had too little
    // output to be held, has completed); then every transcoder container is killed. Killing as soon as the first
    // one is held would miss a chunk-1 unit whose container was still starting: its first attempt would then be
    // held, heartbeating, for as long as the test waits.
    const deadline = Date.now() + 300_000;
    let held: HeldUnit[] = [];
    for (;;) {
      const v = await getVideo(stack, id);
      expect(v.status).toBe('PROCESSING');
      held = heldInContainers(id);
      const chunkOne = v.processing.filter((p) => /^encode:.+@1$/.test(p.unit));
      const settled = chunkOne.every((p) => p.status === 'COMPLETED' || held.some((h) => h.unit === p.unit));
      if (held.length > 0 && chunkOne.length > 0 && settled) break;
      if (Date.now() > deadline) throw new Error(`the chunk-1 units of ${id} were not all held: ${JSON.stringify({ held: held.map((h) => h.unit), processing: v.processing })}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const during = await getVideo(stack, id);
    for (const h of held) expect(during.processing.find((p) => p.unit === h.unit), h.unit).toMatchObject({ status: 'PROCESSING', attempts: 1 });
    for (const name of transcoderContainers()) docker(['kill', '--signal', 'KILL', name]);

    const video = await waitForStatus(stack, id, ['READY', 'FAILED'], 540_000);
    if (video.status !== 'READY') process.stderr.write(stack.logs.slice(-120).join(''));
    expect(video.status).toBe('READY');
    expect(video.renditions.map((r) => r.name)).toEqual(['240p', '360p']);
    // Every held unit was redone by a later attempt, which is never held.
    for (const h of held) {
      const job = video.processing.find((p) => p.unit === h.unit);
      expect(job?.status, h.unit).toBe('COMPLETED');
      expect(job?.attempts, h.unit).toBeGreaterThan(1);
    }
    expect(stack.logs.join('')).toMatch(/"event":"container\.(stop|error)"/);
  });
});

/**
 * Media helpers for transcoding tests and the benchmark: generated sources (ffmpeg lavfi), uploading an original
 * through the chunk API, reading outputs back from R2, and ffprobe of segments.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { STACK_SECRETS, stackFetch, type StackClient } from './local-stack';
import { transcodedBody, type TranscodedSpec } from './transcoded-body';

const execFileP = promisify(execFile);

export interface SourceSpec {
  width: number;
  height: number;
  seconds: number;
  fps?: number;
  audio?: boolean;
  /** Motion + noise (harder to encode, like real camera footage) instead of plain testsrc2. */
  noisy?: boolean;
  /** Write a rotation display matrix (phone portrait video stored landscape). */
  rotate?: 90 | 270;
}

/** Generates an H.264/AAC MP4 with lavfi (testsrc2 + sine), fast to make, real to decode. */
export async function makeSource(file: string, spec: SourceSpec): Promise<string> {
  const fps = spec.fps ?? 30;
  const video = `testsrc2=size=${spec.width}x${spec.height}:rate=${fps}${spec.noisy ? ',noise=alls=8:allf=t+u,hue=H=2*PI*t/7' : ''}`;
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', video];
  if (spec.audio !== false) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  // Noisy sources are stored like camera footage (~25 Mb/s), not near-lossless: decoding cost stays realistic.
  const rate = spec.noisy ? ['-preset', 'superfast', '-b:v', '25M', '-maxrate', '30M', '-bufsize', '50M'] : ['-preset', 'ultrafast', '-crf', '23'];
  args.push('-t', String(spec.seconds), '-c:v', 'libx264', ...rate, '-pix_fmt', 'yuv420p');
  if (spec.audio !== false) args.push('-c:a', 'aac', '-b:a', '128k', '-shortest');
  if (!spec.rotate) {
    await execFileP('ffmpeg', [...args, file]);
    return file;
  }
  // ffmpeg 5.1 writes the display matrix from the `rotate` tag only when remuxing (-c copy).
  const plain = `${file}.plain.mp4`;
  await execFileP('ffmpeg', [...args, plain]);
  await execFileP('ffmpeg', ['-v', 'error', '-y', '-i', plain, '-c', 'copy', '-metadata:s:v:0', `rotate=${spec.rotate}`, file]);
  return file;
}

export function internalHeaders(): Record<string, string> {
  return { Authorization: `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}` };
}

/** How a video is encoded (POST /v1/videos fields; absent: the platform defaults). */
export interface EncodingFields {
  ladderMode?: 'fixed' | 'per-title';
  packaging?: 'ts' | 'cmaf';
  codecs?: string[];
}

export async function createVideo(stack: StackClient, title: string, encoding: EncodingFields = {}): Promise<string> {
  const res = await fetch(`${stack.origin}/v1/videos`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title, ...encoding }),
  });
  if (res.status !== 201) throw new Error(`create video: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/**
 * Uploads `file` as the video's original through the real chunk API, as a client would: initiate with the size and
 * SHA-256, PUT every chunk (in parallel, at most `inFlight` at a time), complete. Completion verifies the hash and
 * hands the video to transcoding (`startProcessing`), so this covers upload → queue → transcoder.
 */
/**
 * A chunk PUT or the complete POST, sent again (both are idempotent: that is what makes the API resumable) when
 * wrangler dev's proxy answers "503 Your worker restarted mid-request" or drops the connection. That 503 is how
 * wrangler's dev proxy reports any failed hop to the Worker, not only restarts: with four 10 MiB bodies in flight,
 * workerd's loopback hop regularly breaks one (`splice(...): Broken pipe` in its log) as the other three finish.
 * Real clients retry such failures the same way (tus-js-client does). Three tries.
 */
async function sendIdempotent(what: string, url: string, init: RequestInit, ok: (status: number) => boolean): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    try {
      const res = await fetch(url, init);
      if (ok(res.status)) return res;
      failure = `${res.status} ${await res.text()}`;
      if (!(res.status === 503 && /restarted mid-request/.test(failure))) throw new Error(`${what}: ${failure}`);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      failure = `${err.message} (${String(err.cause)})`;
    }
    if (attempt >= 3) throw new Error(`${what}: ${failure} after ${attempt} tries`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

export async function uploadOriginal(stack: StackClient, title: string, file: string, inFlight = 4, encoding: EncodingFields = {}): Promise<string> {
  // Read and hash first: a large file takes seconds, and a connection left idle that long may be closed under it.
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const id = await createVideo(stack, title, encoding);
  const auth = { Authorization: `Bearer ${stack.token}` };
  const base = `${stack.origin}/v1/videos/${id}/upload`;
  const init = await sendIdempotent('initiate upload', base, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ fileSize: bytes.length, sha256 }),
  }, (s) => s === 201);
  const { chunkSize, totalChunks } = (await init.json()) as { chunkSize: number; totalChunks: number };
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < totalChunks; n = next++) {
      await sendIdempotent(`chunk ${n}`, `${base}/chunks/${n}`, { method: 'PUT', headers: auth, body: bytes.subarray(n * chunkSize, (n + 1) * chunkSize) }, (s) => s === 201);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, totalChunks) }, worker));
  await sendIdempotent('complete upload', `${base}/complete`, { method: 'POST', headers: auth }, (s) => s >= 200 && s < 300);
  return id;
}

export interface VideoStatus {
  id: string;
  status: string;
  error?: string;
  duration: number | null;
  width: number | null;
  height: number | null;
  renditions: { name: string; width: number; height: number; codecs: string; bandwidth: number; averageBandwidth: number; frameRate: number | null; segmentCount: number; duration: number; complete?: boolean }[];
  processing: { unit: string; status: string; progress: number; attempts: number; error: string | null; range?: [number, number] }[];
  ladderMode?: 'fixed' | 'per-title';
  packaging?: 'ts' | 'cmaf';
  codecs?: string[];
  ladder?: { mode: 'fixed' | 'per-title'; reason?: string | null; crf?: Record<string, number> } | null;
}

/**
 * Polls read a video again after a dropped connection: wrangler dev's proxy closes idle keep-alive sockets (and
 * restarts its worker when a container dies), and fetch's pool then fails the next request on such a socket with
 * "other side closed". A read is safe to repeat; three tries, a second apart.
 */
export async function getVideo(stack: StackClient, id: string): Promise<VideoStatus> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${stack.origin}/v1/videos/${id}`, { headers: { Authorization: `Bearer ${stack.token}` } });
      if (!res.ok) throw new Error(`get video: ${res.status}`);
      return (await res.json()) as VideoStatus;
    } catch (err) {
      const dropped = err instanceof TypeError && /fetch failed/.test(err.message);
      if (!dropped || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function waitForStatus(stack: StackClient, id: string, statuses: string[], timeoutMs = 240_000): Promise<VideoStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: VideoStatus | null = null;
  while (Date.now() < deadline) {
    last = await getVideo(stack, id);
    if (statuses.includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`video ${id} did not reach ${statuses.join('/')}: ${JSON.stringify(last)}`);
}

export async function listObjects(stack: StackClient, prefix: string): Promise<{ key: string; size: number }[]> {
  const res = await stackFetch(`${stack.origin}/internal/storage?prefix=${encodeURIComponent(prefix)}`, { headers: internalHeaders() });
  if (!res.ok) throw new Error(`list ${prefix}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { objects: { key: string; size: number }[] }).objects;
}

export async function getObject(stack: StackClient, key: string): Promise<Uint8Array> {
  const res = await fetch(`${stack.origin}/internal/storage/${key}`, { headers: internalHeaders() });
  if (!res.ok) throw new Error(`get ${key}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function downloadObject(stack: StackClient, key: string, file: string): Promise<string> {
  writeFileSync(file, await getObject(stack, key));
  return file;
}

/** The first video frame of a segment: presentation time, keyframe flag and picture type. */
export function firstVideoFrame(file: string): { ptsTime: number; keyFrame: boolean; pictType: string } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'frame=pts_time,key_frame,pict_type', '-of', 'json', file], { encoding: 'utf8' });
  const frame = (JSON.parse(out) as { frames: { pts_time: string; key_frame: number; pict_type: string }[] }).frames[0]!;
  return { ptsTime: Number(frame.pts_time), keyFrame: frame.key_frame === 1, pictType: frame.pict_type };
}

/** Duration of the first video stream (seconds) as ffprobe reports it. */
export function videoStreamDuration(file: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(out.trim());
}

/**
 * A READY video made the way a creator makes one: a generated source (`makeSource`) uploaded through the chunk API
 * and transcoded by the stack's transcoder. Throws, with the stack's last output, unless it ends READY.
 */
export async function transcodedVideo(stack: StackClient, title: string, file: string, spec: SourceSpec): Promise<VideoStatus> {
  const id = await uploadOriginal(stack, title, await makeSource(file, spec));
  const video = await waitForStatus(stack, id, ['READY', 'FAILED']);
  if (video.status !== 'READY') throw new Error(`${title} ended ${video.status} (${video.error}); the stack's last output:\n${stack.logs.slice(-60).join('')}`);
  return video;
}

/**
 * Makes the UPLOADING video `videoId` READY from given transcode results (no transcode run) through
 * `/internal/bench/videos/:id/transcoded`: the stack must run with BENCH_ROUTES=1. Rows and playlists only; the
 * segments are not stored.
 */
export async function publishTranscoded(origin: string, videoId: string, spec: TranscodedSpec): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${origin}/internal/bench/videos/${videoId}/transcoded`, {
      method: 'POST',
      headers: { ...internalHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify(transcodedBody(spec)),
    });
    const text = await res.text();
    if (res.status === 200) return;
    // wrangler dev restarted its Worker mid-request: the route finishes what the cut-off call started.
    if (res.status === 503 && text.startsWith('Your worker restarted') && attempt < 3) continue;
    throw new Error(`publishing ${videoId}: ${res.status} ${text}`);
  }
}

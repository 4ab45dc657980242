/**
 * The upload CLI: resumable tus upload from Node with tus-js-client, progress on the terminal, resume across runs
 * (URL storage in a state file keyed by the file's fingerprint), then waits for processing and prints the watch
 * URL. Every failure a creator can cause or meet (no file, no token, a rejected token, a server that is down, a
 * file the platform cannot process) ends with one clear sentence and a non-zero exit code.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { defaults } from '../../workers/shared/config';
import { ArgsError, parseArgs, USAGE, type UploadArgs } from './args';
import { JsonFileUrlStorage, defaultStatePath } from './url-storage';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface VideoJson {
  id: string;
  status: string;
  title: string;
  error?: string;
  renditions: { name: string }[];
  processing: { unit: string; status: string; progress: number; error: string | null }[];
}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** A live-updating status line (TTY) or null to print milestones only. */
  status: ((line: string) => void) | null;
  env: Record<string, string | undefined>;
  cwd: string;
  onInterrupt: (handler: () => void) => void;
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000];
const POLL_MS = 2000;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let args: UploadArgs | 'help';
  try {
    args = parseArgs(argv, io.env);
  } catch (err) {
    if (err instanceof ArgsError) {
      io.err(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args === 'help') {
    io.out(USAGE);
    return 0;
  }
  try {
    return await upload(args, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

/** The local token `npm start` created, when the CLI targets the local platform from this checkout. */
function localDevToken(origin: string): string | null {
  const host = new URL(origin).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') return null;
  const file = path.join(ROOT, '.wrangler', 'dev-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || null : null;
}

async function request(origin: string, token: string, pathname: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(new URL(pathname, origin), { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers } });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new CliError(`cannot reach the platform at ${origin} (${cause}). Is it running? Start it locally with \`npm start\`, or pass --origin.`);
  }
}

async function apiError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `${res.status}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

async function upload(args: UploadArgs, io: Io): Promise<number> {
  const filePath = path.resolve(io.cwd, args.file);
  if (!existsSync(filePath)) throw new CliError(`file not found: ${args.file}`);
  const stat = statSync(filePath);
  if (!stat.isFile()) throw new CliError(`not a file: ${args.file}`);
  if (stat.size === 0) throw new CliError(`the file is empty: ${args.file}`);

  const token = args.token ?? localDevToken(args.origin);
  if (!token) {
    throw new CliError('no API token. Pass --token <token> or set EDGE_VIDEO_TOKEN (for the local platform: `npm run -s dev:token` prints one).', 2);
  }
  const check = await request(args.origin, token, '/v1/videos?limit=1');
  if (check.status === 401) throw new CliError(`the platform at ${args.origin} rejected the token (401): it is unknown, revoked or mistyped.`, 2);
  if (!check.ok) throw new CliError(`the platform at ${args.origin} answered ${check.status}: ${await apiError(check)}`);

  const storage = new JsonFileUrlStorage(args.statePath ?? defaultStatePath(io.env));
  const endpoint = new URL('/v1/uploads', args.origin).toString();
  const baseOptions: tus.UploadOptions = {
    endpoint,
    // Every PATCH but the last is exactly the server's part size (the uploads area's rule for tus clients).
    chunkSize: defaults.uploads.chunkSize,
    retryDelays: RETRY_DELAYS_MS,
    headers: { Authorization: `Bearer ${token}` },
    urlStorage: storage,
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
  };

  // An unfinished upload of this very file whose video still waits for it: continue it.
  const probe = new tus.Upload(createReadStream(filePath), baseOptions);
  let previous: tus.PreviousUpload | null = null;
  let videoId: string | null = null;
  for (const candidate of (await probe.findPreviousUploads()).sort((a, b) => b.creationTime.localeCompare(a.creationTime))) {
    const id = candidate.metadata.videoId;
    const res = id ? await request(args.origin, token, `/v1/videos/${encodeURIComponent(id)}`) : null;
    const video = res?.ok ? ((await res.json()) as VideoJson) : null;
    if (video?.status === 'UPLOADING') {
      previous = candidate;
      videoId = video.id;
      break;
    }
    await storage.removeUpload(candidate.urlStorageKey);
  }

  if (!videoId) {
    const title = args.title ?? path.basename(filePath).replace(/\.[^.]+$/, '');
    const res = await request(args.origin, token, '/v1/videos', { method: 'POST', body: JSON.stringify({ title, description: args.description }) });
    if (!res.ok) throw new CliError(`could not create the video: ${await apiError(res)}`);
    videoId = ((await res.json()) as VideoJson).id;
    io.out(`Created video ${videoId} (“${title}”). Uploading ${formatBytes(stat.size)}…`);
  } else {
    io.out(`Resuming the unfinished upload of this file (video ${videoId}).`);
  }

  const total = stat.size;
  const started = Date.now();
  let firstOffset: number | null = null;
  let lastMilestone = -1;
  const done = await new Promise<boolean>((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(filePath), {
      ...baseOptions,
      metadata: { videoId: videoId!, filename: path.basename(filePath) },
      onProgress: (sent) => {
        firstOffset ??= sent;
        const pct = (sent / total) * 100;
        const elapsed = (Date.now() - started) / 1000;
        const rate = elapsed > 0.3 ? (sent - firstOffset) / elapsed : 0;
        const eta = rate > 0 ? (total - sent) / rate : null;
        const line = `${bar(sent / total)} ${pct.toFixed(1).padStart(5)}%  ${formatBytes(sent)} / ${formatBytes(total)}  ${rate > 0 ? `${((rate * 8) / 1e6).toFixed(1)} Mbit/s` : ''}  ${eta === null ? '' : `${Math.ceil(eta)} s left`}`;
        if (io.status) io.status(line);
        else if (Math.floor(pct / 10) > lastMilestone) {
          lastMilestone = Math.floor(pct / 10);
          io.out(line.trim());
        }
      },
      onChunkComplete: (_size, accepted) => {
        if (!io.status) io.out(`stored ${formatBytes(accepted)} of ${formatBytes(total)}`);
      },
      onError: (err) => {
        const status = err instanceof tus.DetailedError ? (err.originalResponse?.getStatus() ?? 0) : 0;
        if (status === 401) reject(new CliError('the token stopped being accepted (401) during the upload. Run again with a valid token to resume.', 2));
        else reject(new CliError(`upload interrupted: ${err.message.split('\n')[0]}. Run the same command again to resume where it stopped.`));
      },
      onSuccess: () => resolve(true),
    });
    io.onInterrupt(() => {
      void upload.abort().then(() => resolve(false));
    });
    if (previous) upload.resumeFromPreviousUpload(previous);
    upload.start();
  });
  io.status?.('');
  if (!done) {
    io.err('Interrupted. Run the same command again to resume the upload where it stopped.');
    return 130;
  }
  io.out(`Upload complete (${formatBytes(total)}${firstOffset ? `, resumed from ${formatBytes(firstOffset)}` : ''}).`);
  const watchUrl = `${args.origin}/watch/${videoId}`;
  if (!args.wait) {
    io.out(watchUrl);
    return 0;
  }
  return waitForProcessing(args.origin, token, videoId, watchUrl, io);
}

async function waitForProcessing(origin: string, token: string, videoId: string, watchUrl: string, io: Io): Promise<number> {
  io.out('Processing…');
  let lastReport = '';
  let announcedPlayable = false;
  for (;;) {
    const res = await request(origin, token, `/v1/videos/${encodeURIComponent(videoId)}`);
    if (!res.ok) throw new CliError(`could not read the video's status: ${await apiError(res)}`);
    const video = (await res.json()) as VideoJson;
    const report = video.processing.map((u) => `${u.unit} ${u.status === 'COMPLETED' ? 'done' : u.status === 'PROCESSING' ? `${Math.round(u.progress * 100)}%` : u.status.toLowerCase()}`).join(', ');
    if (report && report !== lastReport) {
      if (io.status) io.status(`  ${report}`);
      else io.out(`  ${report}`);
      lastReport = report;
    }
    if (video.status === 'PROCESSING' && video.renditions.length > 0 && !announcedPlayable) {
      announcedPlayable = true;
      io.status?.('');
      io.out(`Playable now (${video.renditions.map((r) => r.name).join(', ')}); still processing the rest.`);
    }
    if (video.status === 'READY') {
      io.status?.('');
      io.out(`Ready: ${video.renditions.map((r) => r.name).join(', ')}.`);
      io.out(`Watch: ${watchUrl}`);
      return 0;
    }
    if (video.status === 'FAILED') {
      io.status?.('');
      throw new CliError(`the platform could not process this file: ${video.error ?? 'unknown reason'}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

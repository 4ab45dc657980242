/**
 * Starts the real local platform for end-to-end tests and benchmarks: the Worker server `wrangler dev` runs
 * (Miniflare; test/helpers/dev-server.ts, without the inspector and file watcher) on a free port with its own state
 * directory, and optionally the transcoder Node process. Everything listens on 127.0.0.1.
 * With `containers`, it runs the production path instead: wrangler.toml's own [vars] (the TRANSCODER container
 * binding, the request's origin) and wrangler's containers, building and running the real image under the local
 * Docker engine (scripts/container/setup-docker.sh must have run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DevServerOptions } from './dev-server';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const DEV_SERVER = path.join(import.meta.dirname, 'dev-server.ts');

export const STACK_SECRETS = {
  SIGNING_KEYS: JSON.stringify({ k1: 'ZTJlLXNpZ25pbmcta2V5LW9uZS0zMi1ieXRlcy1sb25nISE' }),
  SIGNING_KEY_ID: 'k1',
  INTERNAL_TOKEN: 'e2e-internal-token',
  ADMIN_TOKEN: 'e2e-admin-token',
};

/**
 * A port that is free now, for a server started a moment later. Picked at random below the kernel's ephemeral range
 * (ip_local_port_range), never by `listen(0)`: a port from that range, released and bound again later, can be taken
 * in between as the source port of any outgoing connection, and `npm test` runs four test processes side by side,
 * each opening connections by the thousand.
 */
export async function freePort(): Promise<number> {
  const ephemeralLow = (() => {
    try {
      return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
    } catch {
      return 32768;
    }
  })();
  const low = Math.min(20000, ephemeralLow - 2000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (ephemeralLow - low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${low}-${ephemeralLow - 1} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * fetch for requests to a local stack, retried once (`init.body` must be replayable) on two failures of wrangler
 * dev's proxy that never reached the Worker's answer:
 * - its pool closes idle keep-alive sockets, and fetch can send the next request on one just as it closes: "fetch
 *   failed" caused by UND_ERR_SOCKET "other side closed";
 * - it answers "503 Your worker restarted mid-request" for any failed hop to workerd on a request with a body, not
 *   only restarts; a Worker that refuses a body without reading it (413) meets it now and then.
 * Use it for requests whose repeat is harmless (refused, idempotent, or not yet handled).
 */
export async function stackFetch(url: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    const cause = err instanceof TypeError ? (err.cause as { code?: string } | undefined) : undefined;
    if (cause?.code !== 'UND_ERR_SOCKET') throw err;
    return fetch(url, init);
  }
  if (res.status !== 503) return res;
  const text = await res.text();
  if (/restarted mid-request/.test(text)) return fetch(url, init);
  return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
}

export async function waitFor(url: string, timeoutMs = 60_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} was up`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      lastError = new Error(`status ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${url}: ${String(lastError)}`);
}

/** Resolves once 127.0.0.1:port can be bound again (a stopped server's port, still held while it winds down). */
export async function waitForPortFree(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A unit the transcoder holds mid-encode (its `held:` log line; containers/transcoder/src/hold.ts). */
export interface HeldUnit {
  /** `encode:240p@3`, `audio`, `live@2`. */
  unit: string;
  /** The storage key of the video's original (`originals/{videoId}/…`), or of a live broadcast's pushed segment. */
  source: string;
  jobId: string;
  /** The stopped ffmpeg: SIGCONT lets the attempt go on, SIGKILL fails it (it is retried). */
  pid: number;
}

const HELD_LINE = /held: (\S+) of (\S+) \(job (\S+), attempt \d+\): ffmpeg pid (\d+) stopped/g;

/** Every `held:` line in `text`. */
export function parseHeldUnits(text: string): HeldUnit[] {
  return [...text.matchAll(HELD_LINE)].map((m) => ({ unit: m[1]!, source: m[2]!, jobId: m[3]!, pid: Number(m[4]) }));
}

/** What a test needs to talk to a running stack, its own or the shared one (shared-stack.ts). */
export interface StackClient {
  origin: string;
  /** A creator token for a fresh creator. */
  token: string;
  creatorId: string;
  /** The stack's recent output (wrangler dev, the transcoder), for failure messages. */
  logs: string[];
}

export interface Stack extends StackClient {
  transcoderUrl: string | null;
  stateDir: string;
  /** The Worker server (test/helpers/dev-server.ts: what `wrangler dev` runs). */
  wrangler: ChildProcess;
  /**
   * The Worker server's DevTools inspector (`/core:user:<name>` is the Worker's isolate), when the stack was started
   * with `inspector`; else 0.
   */
  inspectorPort: number;
  transcoder: ChildProcess | null;
  /** Units the local transcoder has held so far (`holdUnits`), in order. */
  held: HeldUnit[];
  /** Resolves with the held unit of `videoId` that `unit` matches (a RegExp or the exact unit) once it is held. */
  waitForHeld(videoId: string, unit: string | RegExp, timeoutMs?: number): Promise<HeldUnit>;
  /** Creates another creator, for multi-tenant tests. */
  newCreator(name?: string): Promise<{ creatorId: string; token: string }>;
  /**
   * Restarts wrangler dev on the same port and state (a server restart mid-upload). `whileStopped` runs once the old
   * server is gone and before the new one starts: a test holds its client until then, so it meets the restart.
   */
  restartWorker(whileStopped?: () => void): Promise<void>;
  /** Kills and restarts the transcoder process (a crashed worker); `holdUnits` replaces the new process's holds. */
  restartTranscoder(options?: { holdUnits?: string[] }): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  transcoder?: boolean;
  /** Extra `--var NAME:value` for wrangler dev. */
  vars?: Record<string, string>;
  /** Show child output (default: only on failure, kept in `logs`). */
  verbose?: boolean;
  /**
   * Also append the children's output to this file (the shared stack: its tests run in other processes). Default:
   * a new file in STACK_LOG_DIR when that is set (`npm test` sets it per lane, so a lane stopped for hanging can show
   * what its stack said last), else none.
   */
  logFile?: string;
  /** Serve on this port (default: a free one). */
  port?: number;
  /** The production path: the transcoder image in Docker through the TranscoderContainer binding. */
  containers?: boolean;
  /**
   * Units whose first attempt the transcoder holds mid-encode (TRANSCODER_HOLD_UNITS: the local process's
   * environment, and the Worker var the TranscoderContainer passes on; containers/transcoder/src/hold.ts).
   */
  holdUnits?: string[];
  /** `wrangler dev --test-scheduled`, as `npm start` runs it: crons fired through `/__scheduled` (scripts/local-cron.ts). */
  testScheduled?: boolean;
  /** Serve the DevTools inspector (`inspectorPort`). Off by default: it costs CPU on every request (dev-server.ts). */
  inspector?: boolean;
  /**
   * Use this state directory (created if missing) and keep it on stop, instead of a fresh temporary one that is
   * deleted: a benchmark reuses a video it transcoded in an earlier run (bench/abr-player, ABR_BENCH_STATE).
   */
  stateDir?: string;
}

/** The environment `wrangler dev --enable-containers` needs on a machine with Debian's engine and no Docker Hub. */
export function containerEnv(): Record<string, string> {
  return {
    WRANGLER_DOCKER_BIN: path.join(ROOT, 'scripts', 'container', 'docker.sh'),
    WRANGLER_DOCKER_HOST: process.env.WRANGLER_DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    MINIFLARE_CONTAINER_EGRESS_IMAGE: process.env.MINIFLARE_CONTAINER_EGRESS_IMAGE ?? 'edge-video/egress-sidecar:local',
  };
}

function capture(child: ChildProcess, logs: string[], name: string, verbose: boolean, logFile?: string, onText?: (text: string) => void): void {
  const push = (chunk: Buffer) => {
    const text = chunk.toString();
    onText?.(text);
    logs.push(`[${name}] ${text}`);
    if (logFile) appendFileSync(logFile, `[${name}] ${text}`);
    if (logs.length > 2000) logs.splice(0, logs.length - 2000);
    if (verbose) process.stderr.write(`[${name}] ${text}`);
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
}

// wrangler and tsx are launchers: each runs the real server as a child (wrangler's node, then workerd). Each is
// spawned as the leader of its own process group and stopped as a group, so a SIGKILL after a slow SIGTERM cannot
// leave an orphaned workerd holding the port (which made a later restart on that port exit with "Address already
// in use"). Groups still alive when the test process exits are killed with it.
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

function spawnGroup(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    child.once('exit', () => {
      // The launcher is gone; whatever it left behind in its group goes too.
      killGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
    });
  }
  return child;
}

async function stopChild(child: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGTERM goes to the launcher alone, which shuts its server down in order (wrangler stops its containers);
  // a SIGKILL, or a launcher still there after 5 s, takes the whole group.
  if (signal === 'SIGKILL') killGroup(pid, signal);
  else child.kill(signal);
  const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  // Wait (bounded) until no process of the group is left.
  for (let i = 0; i < 50 && killGroup(pid, 0); i++) await new Promise((r) => setTimeout(r, 100));
}

/** A new creator on the stack at `origin`, through the admin route (ADMIN_TOKEN). */
export async function createCreator(origin: string, name = 'e2e creator'): Promise<{ creatorId: string; token: string }> {
  const res = await fetch(`${origin}/v1/admin/creators`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${STACK_SECRETS.ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating creator failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { creatorId: string; token: string };
}

const MIGRATIONS_TIMEOUT_MS = 120_000;

/**
 * `wrangler d1 migrations apply --local` into `stateDir`, asynchronously and bounded: it runs a workerd of its own,
 * and a synchronous call that hung would block this process's event loop, so not even vitest's hook timeout could
 * end the file. Past MIGRATIONS_TIMEOUT_MS the process group is killed and the command runs once more (applied
 * migrations are recorded, so a second run applies only what is left); a second failure throws with its output.
 */
async function applyMigrations(stateDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const child = spawn(path.join(BIN, 'wrangler'), ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1' },
      detached: true,
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, MIGRATIONS_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    if (code === 0 && !timedOut) return;
    const why = timedOut ? `did not finish within ${MIGRATIONS_TIMEOUT_MS / 1000} s` : `exited with ${code}`;
    if (attempt >= 2) throw new Error(`wrangler d1 migrations apply ${why}: ${output.slice(-2000)}`);
    console.warn(`wrangler d1 migrations apply ${why}; running it once more`);
  }
}

/**
 * A fresh state directory with the D1 migrations applied: a copy of a template that `wrangler d1 migrations apply`
 * wrote once for these migrations, this wrangler.toml and this wrangler version (`.tmp/migrated-state/<hash>/`),
 * instead of running wrangler and a workerd of its own for every stack (about 7 CPU-s and 6 s each). The template is
 * written under a name of its own and renamed into place, so stacks started at the same time in other processes
 * never see half of it.
 */
async function applyMigrationsFromTemplate(stateDir: string): Promise<void> {
  const migrations = path.join(ROOT, 'schema', 'migrations');
  const hash = createHash('sha256');
  for (const file of [path.join(ROOT, 'wrangler.toml'), path.join(ROOT, 'node_modules', 'wrangler', 'package.json')]) hash.update(readFileSync(file));
  for (const name of readdirSync(migrations).filter((n) => n.endsWith('.sql')).sort()) hash.update(name).update(readFileSync(path.join(migrations, name)));
  const template = path.join(ROOT, '.tmp', 'migrated-state', hash.digest('hex').slice(0, 16));
  if (!existsSync(template)) {
    mkdirSync(path.dirname(template), { recursive: true });
    const building = mkdtempSync(`${template}.building-`);
    try {
      await applyMigrations(building);
      renameSync(building, template);
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      // Another process renamed its template into place first: use that one.
      if (!existsSync(template)) throw err;
    }
  }
  cpSync(template, stateDir, { recursive: true });
}

/** `$STACK_LOG_DIR/<time>-<port>.log` when STACK_LOG_DIR is set (the directory is created), else undefined. */
function stackLogFile(port: number): string | undefined {
  const dir = process.env.STACK_LOG_DIR;
  if (!dir) return undefined;
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${port}.log`);
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const verbose = options.verbose ?? process.env.STACK_VERBOSE === '1';
  const keepState = options.stateDir !== undefined;
  const stateDir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'edge-video-state-'));
  if (keepState) mkdirSync(stateDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const transcoderEntry = path.join(ROOT, 'containers', 'transcoder', 'src', 'server.ts');
  const containers = options.containers === true;
  const wantTranscoder = !containers && options.transcoder === true && existsSync(transcoderEntry);
  const transcoderPort = wantTranscoder ? await freePort() : 0;
  const transcoderUrl = wantTranscoder ? `http://127.0.0.1:${transcoderPort}` : null;
  const logs: string[] = [];
  const logFile = options.logFile ?? stackLogFile(port);

  // A kept state directory may hold an older schema: migrate it in place (only what is left is applied).
  if (keepState && readdirSync(stateDir).length > 0) await applyMigrations(stateDir);
  else await applyMigrationsFromTemplate(stateDir);

  const holdUnits = options.holdUnits?.join(',');
  const vars: Record<string, string> = {
    ...STACK_SECRETS,
    ...(containers ? {} : { PUBLIC_ORIGIN: origin, TRANSCODER_URL: transcoderUrl ?? 'http://127.0.0.1:9' }),
    ...(holdUnits ? { TRANSCODER_HOLD_UNITS: holdUnits } : {}),
    ...options.vars,
  };
  const held: HeldUnit[] = [];
  // Held lines arrive whole (one console.log each); kept apart from `logs`, which drops its oldest chunks.
  const onTranscoderText = (text: string) => held.push(...parseHeldUnits(text));
  let transcoderHolds = holdUnits;

  let inspectorPort = 0;
  let nudger: ReturnType<typeof setInterval> | undefined;
  // A restart reuses the port the old wrangler dev just released. On a loaded machine its workerd can still hold
  // it for a moment (or a client's ephemeral port or another test's freePort() takes it), and wrangler then exits 1
  // with "Address already in use": wait until the port binds, and try again a few times before giving up.
  const startWrangler = async (): Promise<ChildProcess> => {
    for (let attempt = 1; ; attempt++) {
      await waitForPortFree(port, 20_000);
      try {
        return await spawnWrangler();
      } catch (err) {
        const early = /process exited/.test(String(err));
        const tail = logs.slice(-8).join('').trim();
        if (!early || attempt >= 4) throw new Error(`${String(err)}; wrangler dev's last output:\n${tail}`);
        process.stderr.write(`[local-stack] wrangler dev exited before it was up (attempt ${attempt}), retrying: ${tail.split('\n').filter((l) => /error|in use/i.test(l)).join(' | ')}\n`);
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  };
  const spawnWrangler = async (): Promise<ChildProcess> => {
    inspectorPort = options.inspector ? await freePort() : 0;
    const server: DevServerOptions = {
      port,
      stateDir,
      vars,
      ...(inspectorPort ? { inspectorPort } : {}),
      logLevel: containers ? 'log' : 'warn',
      containers,
      testScheduled: options.testScheduled === true,
    };
    const env = { ...process.env, CI: '1', ...(containers ? containerEnv() : {}) };
    const child = spawnGroup(path.join(BIN, 'tsx'), [DEV_SERVER, JSON.stringify(server)], { cwd: ROOT, env });
    capture(child, logs, 'wrangler', verbose, logFile);
    // With containers, wrangler builds the image before serving (cached layers: seconds; a cold build: minutes).
    await waitFor(`${origin}/healthz`, containers ? 600_000 : 90_000, child);
    return child;
  };

  const startTranscoder = async (): Promise<ChildProcess | null> => {
    if (!wantTranscoder) return null;
    const child = spawnGroup(path.join(BIN, 'tsx'), [transcoderEntry], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(transcoderPort),
        HOST: '127.0.0.1',
        STORAGE_URL: `${origin}/internal/storage`,
        INTERNAL_TOKEN: STACK_SECRETS.INTERNAL_TOKEN,
        ...(transcoderHolds ? { TRANSCODER_HOLD_UNITS: transcoderHolds } : {}),
      },
    });
    capture(child, logs, 'transcoder', verbose, logFile, onTranscoderText);
    await waitFor(`${transcoderUrl}/healthz`, 30_000, child);
    return child;
  };

  const stack: Stack = {
    origin,
    token: '',
    creatorId: '',
    transcoderUrl,
    stateDir,
    wrangler: await startWrangler(),
    get inspectorPort() {
      return inspectorPort;
    },
    transcoder: null,
    logs,
    held,
    async waitForHeld(videoId, unit, timeoutMs = 300_000) {
      const deadline = Date.now() + timeoutMs;
      const wanted = (h: HeldUnit) => (h.source.startsWith(`originals/${videoId}/`) || h.source.startsWith(`videos/${videoId}/`)) && (typeof unit === 'string' ? h.unit === unit : unit.test(h.unit));
      for (;;) {
        const found = held.find(wanted);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no unit ${String(unit)} of ${videoId} was held within ${timeoutMs} ms (held: ${JSON.stringify(held)})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    newCreator: (name) => createCreator(origin, name),
    async restartWorker(whileStopped) {
      await stopChild(stack.wrangler);
      whileStopped?.();
      stack.wrangler = await startWrangler();
    },
    async restartTranscoder(restart = {}) {
      if (restart.holdUnits) transcoderHolds = restart.holdUnits.join(',');
      await stopChild(stack.transcoder, 'SIGKILL');
      stack.transcoder = await startTranscoder();
    },
    async stop() {
      clearInterval(nudger);
      await stopChild(stack.transcoder);
      await stopChild(stack.wrangler);
      if (!keepState) rmSync(stateDir, { recursive: true, force: true });
    },
  };
  try {
    stack.transcoder = await startTranscoder();
    const creator = await stack.newCreator();
    stack.token = creator.token;
    stack.creatorId = creator.creatorId;
  } catch (err) {
    process.stderr.write(logs.join(''));
    await stack.stop();
    throw err;
  }
  // wrangler dev's proxy (4.86, ProxyWorker.ts) puts a GET/HEAD whose forward to the Worker failed (a pooled
  // connection that went stale during a long request) in a retry queue that it drains only when the NEXT request
  // arrives; a test or bench waiting on that lone GET then hangs for minutes. One request every 2 s bounds the
  // hold to 2 s. It is a tiny, bounded loop for the stack's lifetime (stopped by stop()), on loopback only.
  nudger = setInterval(() => void fetch(`${origin}/healthz`).then((r) => r.body?.cancel()).catch(() => undefined), 2000);
  nudger.unref();
  return stack;
}

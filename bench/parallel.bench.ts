/**
 * `npm run bench -- parallel`: chunked (segment-parallel) transcoding through the real local stack (wrangler dev,
 * queue, callbacks) with transcoder processes pinned to single cores (`taskset`), on a generated 3-minute 720p
 * source with motion and noise:
 *   (1) whole file as one job (TRANSCODE_CHUNK_SEC larger than the video): one worker, one core;
 *   (2) chunked (60 s chunks): one worker, one core;
 *   (3) chunked: two workers, one core each, as a pool: each encode goes to a worker with a free slot and waits
 *       for admission while both are busy (workers/transcoding/admission.ts); the audio unit runs beside them.
 * Reports wall and CPU seconds (the transcoders', and the local stack's: wrangler's node and workerd), time to first playable and to READY, SSIM per rung of (3) against (1) and the
 * minimum per-frame SSIM within 1 s of each chunk edge, audio duration and PTS continuity, bytes read per chunk,
 * then a labelled projection for 1…64 instances on a 20-minute 1080p source, and time to first playable of a
 * 1-minute vs a 10-minute source (640×360, stopped as soon as the first rung plays).
 *
 * Sizes: BENCH_SOURCE_SEC (default 180, the smallest size that shows chunking), BENCH_CHUNK_SEC (default 60) and BENCH_FP_LONG_SEC
 * (the long first-playable source, default 600); smaller values only when the machine cannot fit the full run.
 *
 * BENCH_ONLY=first-playable runs only the first-playable phase (BENCH_FP_SHORT_SEC, default 60, vs
 * BENCH_FP_LONG_SEC) and keeps the other numbers of bench/results/parallel.json as they were; each run's unit
 * timeline (relative to upload completion) is recorded. The first-playable runs cap running units at two
 * (BENCH_FP_MAX_RUNNING_UNITS, default 2; 0 keeps wrangler.toml's 50), as production caps them at max_instances. BENCH_PORT_BASE moves the workers' ports (default 9100).
 *
 * Every phase is bounded (BENCH_PHASE_SEC, default 1500 s) and prints progress. The preset is `superfast` unless
 * BENCH_PRESET says otherwise (the machine is shared; this keeps the run near 20 minutes). Numbers depend on the
 * machine's load: the JSON records the load average next to them.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchResult } from './run';
import { stackCpuMeter } from './proc-cpu';
import { ROOT, STACK_SECRETS, startStack, waitFor, type Stack } from '../test/helpers/local-stack';
import { getObject, getVideo, makeSource, uploadOriginal } from '../test/helpers/transcoding-media';

const execFileP = promisify(execFile);
const PHASE_MS = Number(process.env.BENCH_PHASE_SEC ?? 1500) * 1000;
const PRESET = process.env.BENCH_PRESET ?? 'superfast';
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 9100);
const ONLY = process.env.BENCH_ONLY ?? '';
const FP_SHORT_SEC = Number(process.env.BENCH_FP_SHORT_SEC ?? 60);
/**
 * TRANSCODE_MAX_RUNNING_UNITS of the first-playable runs (default 2: two instances, as production caps units at the
 * container max_instances; the audio unit counts as one; 0 keeps wrangler.toml's 50 and leaves the pool to hold
 * encodes back: measured 14.4 / 19.6 s, chunk 0 then shares the two cores with chunk 1 and the audio).
 */
const FP_ADMISSION = Number(process.env.BENCH_FP_MAX_RUNNING_UNITS ?? 2);
/** Sizes (the reference size is a 3-minute 720p source; smaller values are for a loaded machine, and say so). */
const SOURCE_SEC = Number(process.env.BENCH_SOURCE_SEC ?? 180);
const CHUNK_SEC = Number(process.env.BENCH_CHUNK_SEC ?? 60);
const FP_LONG_SEC = Number(process.env.BENCH_FP_LONG_SEC ?? 600);
const SOURCE_FPS = 30;
/**
 * Status polls during the encode runs. Each GET of the video costs the local stack ~40 ms of CPU (measured: 100
 * polls, 4.2 s across wrangler's node and both workerd), taken from the cores the workers encode on; every 2 s
 * bounds READY to ±2 s. The first-playable runs poll every 0.5 s (they stop at the first playable rung).
 */
const POLL_MS = 2000;
let nextPort = PORT_BASE;
const log = (msg: string) => console.log(`[parallel ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const f1 = (n: number) => n.toFixed(1);

interface Worker {
  child: ChildProcess;
  url: string;
  /** Set when the run stops it (its exit is then expected). */
  stopping: boolean;
}

/** A transcoder server pinned to one core; its pid is the server itself (node with the tsx loader, no wrapper). */
async function startWorker(core: number, port: number, origin: string): Promise<Worker> {
  const entry = path.join(ROOT, 'containers', 'transcoder', 'src', 'server.ts');
  const child = spawn('taskset', ['-c', String(core), process.execPath, '--import', 'tsx', entry], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', STORAGE_URL: `${origin}/internal/storage`, INTERNAL_TOKEN: STACK_SECRETS.INTERNAL_TOKEN, TRANSCODER_CONCURRENCY: '1' },
  });
  // The last lines of its stderr are kept, and printed if it exits while a run still needs it.
  const tail: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    tail.push(...d.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  });
  const worker: Worker = { child, url: `http://127.0.0.1:${port}`, stopping: false };
  child.on('exit', (code, signal) => {
    if (!worker.stopping) log(`worker on core ${core} exited (code ${code}, signal ${signal}); its last stderr lines:\n${tail.join('\n')}`);
  });
  await waitFor(`${worker.url}/healthz`, 60_000, child);
  return worker;
}

/** user+system CPU seconds of a process and its reaped children (ffmpeg). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14])) / 100;
}

interface RunOutcome {
  label: string;
  wallSec: number;
  cpuSec: number;
  /** CPU seconds of the local stack (wrangler's node, its workerd: gateway reads, D1, queues, callbacks) over the run. */
  stackCpuSec: number;
  stackCpuByName?: Record<string, number>;
  firstPlayableSec: number | null;
  readySec: number | null;
  status: string;
  units: { unit: string; status?: string; startedAt: number; completedAt: number; result: string | null }[];
  /** Date.now() when the upload completed (the 0 of first playable and READY). */
  t0Wall?: number;
  dir: string;
  rungs: string[];
}

/**
 * The unit rows, read from the local D1 file. wrangler dev holds that SQLite database while it runs, and a read can
 * meet SQLITE_BUSY (a first-playable run lost its timeline to it): a bounded retry, 5 tries 1.5 s apart.
 */
async function d1Jobs(stack: Stack, id: string): Promise<RunOutcome['units']> {
  for (let attempt = 1; ; attempt++) {
    try {
      return d1JobsOnce(stack, id);
    } catch (err) {
      const e = err as { stdout?: unknown; stderr?: unknown };
      if (attempt >= 5 || !/SQLITE_BUSY|database is locked/i.test(`${String(e.stdout ?? '')}${String(e.stderr ?? '')}${String(err)}`)) throw err;
      log(`unit timeline: D1 busy (try ${attempt}); reading again`);
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
}

function d1JobsOnce(stack: Stack, id: string): RunOutcome['units'] {
  const out = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'wrangler'), ['d1', 'execute', 'DB', '--local', '--persist-to', stack.stateDir, '--json', '--command', `SELECT unit, status, started_at AS startedAt, completed_at AS completedAt, result FROM transcode_jobs WHERE video_id = '${id}'`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, CI: '1' } });
  return (JSON.parse(out) as { results: RunOutcome['units'] }[])[0]!.results;
}

/** Downloads every rung's (and the audio's) segments, concatenated per rendition, for the quality checks. */
async function downloadRenditions(stack: Stack, id: string, names: string[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    const text = new TextDecoder().decode(await getObject(stack, `videos/${id}/${name}/playlist.m3u8`));
    const parts: Uint8Array[] = [];
    for (const line of text.split('\n')) if (line.startsWith('segment_')) parts.push(await getObject(stack, `videos/${id}/${name}/${line.trim()}`));
    writeFileSync(path.join(dir, `${name}.ts`), Buffer.concat(parts));
  }
}

/**
 * wrangler dev sometimes restarts its worker mid-request while large chunks arrive in parallel (a 503 that is not
 * retried for PUTs; seen with the 170–280 MB sources here): upload again, one chunk at a time.
 */
async function uploadOnce(stack: Stack, label: string, source: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await uploadOriginal(stack, label, source, attempt === 1 ? 4 : 1);
    } catch (err) {
      if (attempt >= 3 || !/restarted mid-request/.test(String(err))) throw err;
      log(`${label}: upload attempt ${attempt} hit a wrangler dev restart; uploading again`);
    }
  }
}

/** A run that fails (the stack, the upload) is reported as such: the benchmark still finishes and reports. */
async function runConfig(label: string, source: string, cores: number[], chunkSec: number, dir: string, stopAtFirstPlayable = false, vars: Record<string, string> = {}): Promise<RunOutcome> {
  try {
    return await runConfigOnce(label, source, cores, chunkSec, dir, stopAtFirstPlayable, vars);
  } catch (err) {
    log(`${label}: FAILED: ${String(err).slice(0, 200)}`);
    return { label, wallSec: NaN, cpuSec: NaN, stackCpuSec: NaN, firstPlayableSec: null, readySec: null, status: `ERROR: ${String(err).slice(0, 200)}`, units: [], dir, rungs: [] };
  }
}

async function runConfigOnce(label: string, source: string, cores: number[], chunkSec: number, dir: string, stopAtFirstPlayable = false, extraVars: Record<string, string> = {}): Promise<RunOutcome> {
  log(`${label}: starting the stack and ${cores.length} worker(s) on core(s) ${cores.join(',')}`);
  const ports = cores.map(() => nextPort++);
  const stack = await startStack({
    transcoder: false,
    vars: { TRANSCODER_URL: ports.map((p) => `http://127.0.0.1:${p}`).join(','), X264_PRESET: PRESET, TRANSCODE_CHUNK_SEC: String(chunkSec), TRANSCODE_RETRY_BASE_DELAY_SEC: '1', ...extraVars },
  });
  const workers: Worker[] = [];
  try {
    for (const [i, core] of cores.entries()) workers.push(await startWorker(core, ports[i]!, stack.origin));
    const cpu0 = workers.reduce((a, w) => a + cpuOf(w.child.pid!), 0);
    const stackCpu = stackCpuMeter(stack.wrangler.pid!);
    const id = await uploadOnce(stack, label, source);
    const t0 = performance.now();
    const t0Wall = Date.now();
    let firstPlayable: number | null = null;
    let video = await getVideo(stack, id);
    let lastLog = 0;
    while (video.status === 'PROCESSING' || video.status === 'UPLOADING') {
      const now = (performance.now() - t0) / 1000;
      if (firstPlayable === null && video.renditions.length > 0) {
        firstPlayable = now;
        log(`${label}: first playable after ${f1(now)} s (${video.renditions.map((r) => r.name).join(', ')})`);
        if (stopAtFirstPlayable) break;
      }
      if (now - lastLog > 30) {
        lastLog = now;
        const done = video.processing.filter((p) => p.status === 'COMPLETED').length;
        log(`${label}: ${f1(now)} s, ${done}/${video.processing.length} units done`);
      }
      if (now * 1000 > PHASE_MS) {
        log(`${label}: phase bound of ${PHASE_MS / 1000} s reached; stopping`);
        break;
      }
      await new Promise((r) => setTimeout(r, stopAtFirstPlayable ? 500 : POLL_MS));
      video = await getVideo(stack, id);
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = workers.reduce((a, w) => a + cpuOf(w.child.pid!), 0) - cpu0;
    const { total: stackCpuSec, byName: stackCpuByName } = stackCpu();
    const ready = video.status === 'READY' ? wall : null;
    log(`${label}: ${video.status} after ${f1(wall)} s wall, ${f1(cpu)} s transcoder CPU, ${f1(stackCpuSec)} s local-stack CPU (${Object.entries(stackCpuByName).map(([n, c]) => `${n} ${f1(c)}`).join(', ')})`);
    const rungs = video.renditions.map((r) => r.name);
    if (ready !== null) await downloadRenditions(stack, id, [...rungs, 'audio'], dir);
    // Bookkeeping after the measurement: a failure here (a busy local stack) must not lose the numbers above.
    const units = await d1Jobs(stack, id).catch((err: unknown) => (log(`${label}: unit timeline unavailable: ${String(err).slice(0, 120)}`), []));
    if (stopAtFirstPlayable) await fetch(`${stack.origin}/v1/videos/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${stack.token}` } }).catch(() => undefined);
    return { label, wallSec: wall, cpuSec: cpu, stackCpuSec, stackCpuByName, firstPlayableSec: firstPlayable, readySec: ready, status: video.status, units, dir, rungs, t0Wall };
  } finally {
    for (const w of workers) {
      w.stopping = true;
      w.child.kill('SIGTERM');
    }
    await stack.stop();
  }
}

/** Mean and per-frame SSIM of an encoded rendition against the source scaled to its size. */
async function ssimFrames(encoded: string, source: string, width: number, height: number, statsFile: string): Promise<{ mean: number; frames: number[] }> {
  const graph = `[0:v]setpts=PTS-STARTPTS[x];[1:v]setpts=PTS-STARTPTS,scale=${width}:${height}:flags=bicubic[y];[x][y]ssim=stats_file=${statsFile}`;
  const { stderr } = await execFileP('ffmpeg', ['-hide_banner', '-nostdin', '-i', encoded, '-i', source, '-lavfi', graph, '-f', 'null', '-'], { maxBuffer: 64 << 20 });
  const m = /SSIM .*All:([\d.]+)/.exec(stderr);
  const frames = readFileSync(statsFile, 'utf8').split('\n').map((l) => /All:([\d.]+)/.exec(l)?.[1]).filter((x): x is string => Boolean(x)).map(Number);
  return { mean: m ? Number(m[1]) : NaN, frames };
}

function frameSize(file: string): [number, number] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  // MPEG-TS lists its stream once per program: take the first line only.
  const [w, h] = out.trim().split('\n')[0]!.split(',').map(Number);
  return [w!, h!];
}

/**
 * Audio packets of the concatenated segments. JSON, not CSV: in MPEG-TS the first packet of each PES carries side
 * data (the stream id), which CSV prints as an extra empty line; read as a packet at PTS 0, those lines made a 60 s
 * track look 71.4 s long with an 11.4 s "gap" (the first real PTS, 10 s offset + the muxer's 1.4 s delay).
 */
function audioContinuity(file: string): { durationSec: number; maxStepSec: number; minStepSec: number; packets: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'json', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const rows = (JSON.parse(out) as { packets: { pts_time: string; duration_time: string }[] }).packets
    .map((p) => [Number(p.pts_time), Number(p.duration_time)] as [number, number])
    .sort((x, y) => x[0] - y[0]);
  const steps = rows.slice(1).map((r, i) => r[0] - rows[i]![0]);
  return { durationSec: rows.at(-1)![0] + rows.at(-1)![1] - rows[0]![0], maxStepSec: Math.max(...steps), minStepSec: Math.min(...steps), packets: rows.length };
}

/** Run time of each unit on a one-worker run (units run one after another): the gap to the previous completion. */
function unitTimes(run: RunOutcome): { unit: string; sec: number }[] {
  const done = run.units.filter((u) => u.completedAt && u.unit !== 'analyze').sort((a, b) => a.completedAt - b.completedAt);
  const firstStart = Math.min(...done.map((u) => u.startedAt));
  return done.map((u, i) => ({ unit: u.unit, sec: (u.completedAt - (i === 0 ? firstStart : done[i - 1]!.completedAt)) / 1000 }));
}

/** Longest-processing-time-first schedule of `units` on `n` instances: the makespan. */
function makespan(units: number[], n: number): number {
  const load = Array(n).fill(0) as number[];
  for (const u of [...units].sort((a, b) => b - a)) { const i = load.indexOf(Math.min(...load)); load[i] = load[i]! + u; }
  return Math.max(...load);
}

/** Each unit's start and end in seconds after the upload completed (null: not started / not finished). */
function timeline(run: RunOutcome): { unit: string; status?: string; startSec: number | null; endSec: number | null; timing: unknown }[] {
  const rel = (t: number | null | undefined) => (t && run.t0Wall ? Math.round((t - run.t0Wall) / 100) / 10 : null);
  // Encodes: where the transcoder's time went (EncodeResult.timing: probe, ffmpeg wall/CPU/run-queue wait, uploads).
  const timing = (result: string | null | undefined) => (result ? ((JSON.parse(result) as { timing?: unknown }).timing ?? null) : null);
  return [...run.units]
    .sort((a, b) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity))
    .map((u) => ({ unit: u.unit, status: u.status, startSec: rel(u.startedAt), endSec: rel(u.completedAt), timing: timing(u.result) }));
}

/**
 * Time to first playable of a short vs a long 640×360 source (two workers, stopped as soon as a rung is listed):
 * the target is the long one within 1.5× of the short one.
 */
async function firstPlayablePhase(dir: string) {
  log(`first playable: ${FP_SHORT_SEC} s vs ${FP_LONG_SEC} s source (640x360, two workers, stopped at first playable)`);
  const shortSrc = await makeSource(path.join(dir, 'short.mp4'), { width: 640, height: 360, seconds: FP_SHORT_SEC });
  const longSrc = await makeSource(path.join(dir, 'long.mp4'), { width: 640, height: 360, seconds: FP_LONG_SEC });
  const load = [os.loadavg()];
  // As in production, where TRANSCODE_MAX_RUNNING_UNITS = the container max_instances: two instances here, the
  // audio unit on one (the pool sends it to an idle worker) and chunk 0 of the lowest rung on the other.
  const vars: Record<string, string> = FP_ADMISSION > 0 ? { TRANSCODE_MAX_RUNNING_UNITS: String(FP_ADMISSION) } : {};
  const short = await runConfig(`first playable, ${FP_SHORT_SEC} s`, shortSrc, [0, 1], CHUNK_SEC, path.join(dir, 'fs'), true, vars);
  load.push(os.loadavg());
  const long = await runConfig(`first playable, ${FP_LONG_SEC} s`, longSrc, [0, 1], CHUNK_SEC, path.join(dir, 'fl'), true, vars);
  load.push(os.loadavg());
  const ratio = short.firstPlayableSec && long.firstPlayableSec ? long.firstPlayableSec / short.firstPlayableSec : null;
  for (const r of [short, long]) log(`${r.label}: units ${timeline(r).map((u) => `${u.unit} ${u.startSec ?? '-'}→${u.endSec ?? '-'}`).join(', ')}`);
  const data = {
    ranAt: new Date().toISOString(),
    shortSourceSec: FP_SHORT_SEC,
    shortSec: short.firstPlayableSec,
    longSourceSec: FP_LONG_SEC,
    longSec: long.firstPlayableSec,
    ratio,
    resolution: '640x360',
    chunkSec: CHUNK_SEC,
    maxRunningUnits: FP_ADMISSION > 0 ? FP_ADMISSION : 'default (wrangler.toml)',
    loadAverage: load,
    timelines: { short: timeline(short), long: timeline(long) },
  };
  return { short, long, ratio, data };
}

/** BENCH_ONLY=first-playable: that phase alone; the other numbers of the results file are kept as they were. */
async function firstPlayableOnly(dir: string): Promise<BenchResult> {
  const fp = await firstPlayablePhase(dir);
  let previous: Record<string, unknown> = {};
  try {
    const { name: _n, ranAt: _r, seconds: _s, targetMet: _t, ...rest } = JSON.parse(readFileSync(path.join(ROOT, 'bench', 'results', 'parallel.json'), 'utf8')) as Record<string, unknown>;
    previous = rest;
  } catch {
    // no earlier full run
  }
  const ok = fp.ratio !== null && fp.ratio <= 1.5;
  return {
    targetMet: false,
    summary: [
      `first playable only (BENCH_ONLY=first-playable; the other numbers in the JSON are from the last full run): ${FP_SHORT_SEC} s source ${fp.short.firstPlayableSec === null ? '-' : f1(fp.short.firstPlayableSec)} s, ${FP_LONG_SEC} s source ${fp.long.firstPlayableSec === null ? '-' : f1(fp.long.firstPlayableSec)} s (ratio ${fp.ratio === null ? '-' : fp.ratio.toFixed(2)}, target ≤ 1.5: ${ok ? 'met' : 'NOT met'}); load average ${fp.data.loadAverage.map((l) => l.map(f1).join(' ')).join(' → ')}`,
    ],
    data: { ...previous, firstPlayable: { ...fp.data, targetMet: ok, measuredAlone: true } },
  };
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-parallel-'));
  const loadAtStart = os.loadavg();
  if (ONLY === 'first-playable') {
    try {
      return await firstPlayableOnly(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (ONLY) throw new Error(`BENCH_ONLY=${ONLY}: only "first-playable" is known`);
  try {
    log(`generating a ${SOURCE_SEC} s 1280x720 source with motion and noise (cores: ${os.cpus().length}, load ${loadAtStart.map(f1).join(' ')})`);
    const source = await makeSource(path.join(dir, 'source.mp4'), { width: 1280, height: 720, seconds: SOURCE_SEC, noisy: true });
    const sourceBytes = statSync(source).size;

    const whole = await runConfig('(1) whole file, 1 worker', source, [0], 100_000, path.join(dir, 'r1'));
    const chunked1 = await runConfig('(2) chunked, 1 worker', source, [0], CHUNK_SEC, path.join(dir, 'r2'));
    const chunked2 = await runConfig('(3) chunked, 2 workers', source, [0, 1], CHUNK_SEC, path.join(dir, 'r3'));

    log('quality: SSIM of (3) against (1) per rung, and per frame within 1 s of each chunk edge');
    const quality: { rung: string; whole: number; chunked: number; delta: number; minEdgeChunked: number; minEdgeDelta: number }[] = [];
    if (whole.readySec !== null && chunked2.readySec !== null) {
      for (const rung of whole.rungs) {
        const a = path.join(whole.dir, `${rung}.ts`);
        const [w, h] = frameSize(a);
        const s1 = await ssimFrames(a, source, w, h, path.join(dir, `ssim1-${rung}.log`));
        const s3 = await ssimFrames(path.join(chunked2.dir, `${rung}.ts`), source, w, h, path.join(dir, `ssim3-${rung}.log`));
        const edges = Array.from({ length: Math.ceil(SOURCE_SEC / CHUNK_SEC) - 1 }, (_, k) => (k + 1) * CHUNK_SEC);
        const near = s3.frames.map((_, i) => i).filter((i) => edges.some((e) => Math.abs(i / SOURCE_FPS - e) <= 1));
        const q = {
          rung,
          whole: s1.mean,
          chunked: s3.mean,
          delta: s3.mean - s1.mean,
          minEdgeChunked: Math.min(...near.map((i) => s3.frames[i]!)),
          minEdgeDelta: Math.min(...near.map((i) => s3.frames[i]! - (s1.frames[i] ?? 0))),
        };
        quality.push(q);
        log(`  ${rung}: SSIM vs source (1) ${q.whole.toFixed(4)} (3) ${q.chunked.toFixed(4)}; within 1 s of edges min ${q.minEdgeChunked.toFixed(4)}, min Δ vs (1) ${q.minEdgeDelta.toFixed(4)}`);
      }
    }
    const audio = chunked2.readySec !== null ? audioContinuity(path.join(chunked2.dir, 'audio.ts')) : null;
    const bytesRead = chunked2.units
      .filter((u) => u.unit.startsWith('encode:') && u.result)
      .map((u) => ({ unit: u.unit, bytesRead: (JSON.parse(u.result!) as { bytesRead: number | null }).bytesRead, ofOriginal: sourceBytes }));

    // Projection (a model, not a measurement): unit times from run (2), scaled from this 720p ladder to the 1080p
    // ladder by pixels per second, for a 20-minute source in CHUNK_SEC chunks; plus the measured fixed overheads.
    const times = unitTimes(chunked1);
    const low = times.filter((t) => /^encode:240p@/.test(t.unit)).map((t) => t.sec);
    const high = times.filter((t) => /^encode:.*\+/.test(t.unit)).map((t) => t.sec);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    const px = (rungs: [number, number][]) => rungs.reduce((a, [w, h]) => a + w * h, 0);
    const scaleHigh = px([[640, 360], [854, 480], [1280, 720], [1920, 1080]]) / px([[640, 360], [854, 480], [1280, 720]]);
    const chunks20 = Math.ceil(1200 / CHUNK_SEC);
    const unitsModel = [...Array(chunks20).fill(mean(low)), ...Array(chunks20).fill(mean(high) * scaleHigh)];
    const audioSec = (times.find((t) => t.unit === 'audio')?.sec ?? 0) * (1200 / SOURCE_SEC);
    const fixed = Math.max(0, (chunked1.readySec ?? 0) - times.reduce((a, t) => a + t.sec, 0));
    const projection = [1, 2, 4, 8, 16, 32, 64].map((n) => ({ instances: n, readySec: Math.round(fixed + makespan([...unitsModel, audioSec], n)) }));

    // BENCH_FP_LONG_SEC=0 skips the first-playable phase (a run that measures encode speed only).
    const skipped: RunOutcome = { label: 'skipped (BENCH_FP_LONG_SEC=0)', wallSec: NaN, cpuSec: NaN, stackCpuSec: NaN, firstPlayableSec: null, readySec: null, status: 'SKIPPED', units: [], dir, rungs: [] };
    const fp = FP_LONG_SEC > 0 ? await firstPlayablePhase(dir) : { short: skipped, long: skipped, ratio: null, data: { skipped: true } };
    const { short: fpShort, long: fpLong } = fp;

    const r21 = chunked1.wallSec / whole.wallSec;
    const r31 = chunked2.wallSec / whole.wallSec;
    const fpRatio = fp.ratio;
    const qualityOk = quality.length > 0 && quality.every((q) => Math.abs(q.delta) <= 0.002);
    const loadAtEnd = os.loadavg();
    const row = (r: RunOutcome) => `wall ${f1(r.wallSec)} s, transcoder cpu ${f1(r.cpuSec)} s, local-stack cpu ${f1(r.stackCpuSec)} s, first playable ${r.firstPlayableSec === null ? '-' : f1(r.firstPlayableSec)} s, ready ${r.readySec === null ? r.status : `${f1(r.readySec)} s`}`;
    return {
      targetMet: r21 <= 1.1 && r31 <= 0.55 && qualityOk && fpRatio !== null && fpRatio <= 1.5,
      summary: [
        `source: 1280x720 ${SOURCE_SEC} s, motion + noise (${(sourceBytes / 1e6).toFixed(1)} MB); preset ${PRESET}; ${os.cpus().length} cores SHARED with other work: load average ${loadAtStart.map(f1).join(' ')} at start, ${loadAtEnd.map(f1).join(' ')} at end`,
        `(1) whole file, 1 worker, 1 core:   ${row(whole)}`,
        `(2) chunked ${CHUNK_SEC} s, 1 worker, 1 core: ${row(chunked1)}`,
        `(3) chunked ${CHUNK_SEC} s, 2 workers:        ${row(chunked2)}`,
        `ratios: (2)/(1) wall ${r21.toFixed(2)} (target ≤ 1.10), (3)/(1) wall ${r31.toFixed(2)} (target ≤ 0.55)`,
        // The two workers of (3) take both cores, so the local stack's CPU (gateway reads, D1, queue, callbacks) runs
        // on theirs; in (1) and (2) it has the other core to itself. The CPU floor of (3) makes that visible.
        `(3) CPU floor: (transcoder + local-stack CPU) / 2 cores = ${f1((chunked2.cpuSec + chunked2.stackCpuSec) / 2)} s = ${((chunked2.cpuSec + chunked2.stackCpuSec) / 2 / whole.wallSec).toFixed(2)} of (1)'s wall`,
        `SSIM vs source, (1) → (3): ${quality.map((q) => `${q.rung} ${q.whole.toFixed(4)}→${q.chunked.toFixed(4)} (Δ ${q.delta.toFixed(4)}; ±1 s of chunk edges: min ${q.minEdgeChunked.toFixed(4)}, min Δ ${q.minEdgeDelta.toFixed(4)})`).join(', ') || 'n/a'} (target |Δ| ≤ 0.002)`,
        `audio of (3): ${audio ? `${audio.durationSec.toFixed(3)} s in ${audio.packets} packets, PTS steps ${audio.minStepSec.toFixed(5)}–${audio.maxStepSec.toFixed(5)} s (1024/48000 = 0.02133)` : 'n/a'}`,
        `bytes read per chunk (of ${(sourceBytes / 1e6).toFixed(1)} MB): ${bytesRead.map((b) => `${b.unit} ${b.bytesRead === null ? '?' : (b.bytesRead / 1e6).toFixed(1)} MB`).join(', ')}`,
        `PROJECTION (model from run (2)'s unit times, 720p→1080p ladder by pixels, 20-min source, ${CHUNK_SEC} s chunks): ${projection.map((p) => `${p.instances}: ${Math.round(p.readySec / 60)} min`).join(', ')} — vs the 15-min queue-consumer limit the old single job ran into`,
        `first playable: ${FP_SHORT_SEC} s source ${fpShort.firstPlayableSec === null ? '-' : f1(fpShort.firstPlayableSec)} s, ${FP_LONG_SEC} s source ${fpLong.firstPlayableSec === null ? '-' : f1(fpLong.firstPlayableSec)} s (ratio ${fpRatio === null ? '-' : fpRatio.toFixed(2)}, target ≤ 1.5; 640x360 sources)`,
      ],
      data: {
        machineDependent: true,
        cores: os.cpus().length,
        loadAverage: { start: loadAtStart, end: loadAtEnd },
        preset: PRESET,
        chunkSec: CHUNK_SEC,
        sourceSec: SOURCE_SEC,
        sourceBytes,
        // Per unit: claim → completion, and (encodes) where the transcoder's time went (EncodeResult.timing).
        runs: [whole, chunked1, chunked2].map(({ dir: _d, units, ...r }) => ({ ...r, units: units.map(({ result, ...u }) => ({ ...u, timing: result ? ((JSON.parse(result) as { timing?: unknown }).timing ?? null) : null })) })),
        ratios: { chunkedOneWorker: r21, chunkedTwoWorkers: r31, twoWorkersCpuFloor: (chunked2.cpuSec + chunked2.stackCpuSec) / 2 / whole.wallSec },
        ssim: quality,
        audio,
        bytesRead,
        unitTimesRun2: times,
        projection: { label: 'PROJECTION, not measured', model: 'LPT schedule of 20 low-rung + 20 ladder units (1080p-scaled) + audio, plus run (2) fixed overhead', fixedOverheadSec: fixed, perInstances: projection },
        firstPlayable: fp.data,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

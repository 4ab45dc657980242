/**
 * `npm run bench -- abr-player`: the ABR controllers in the real player. Headless Chromium plays a READY multi-rung
 * video from the real local stack (wrangler dev + the transcoder: a generated 720p source uploaded through the chunk
 * API and transcoded by the pipeline) through hls.js, once with hls.js's own ABR and once with the platform
 * controller, while the downlink follows a bandwidth trace (shaping-proxy.ts: a forward proxy on 127.0.0.1 whose
 * rate follows the trace, integrated exactly). QoE_lin comes from the player's own events (qoe.ts); next to it, the
 * simulator's prediction for the same trace (predictRun: the real segment sizes from R2 for the downloads, the
 * measured TTFB, the same 30 s buffer, started at the player's first fragment request). Each run is a fresh browser
 * context (a first-time viewer; Chromium's navigator.connection.downlink is whatever the browser reports and is
 * recorded). The JSON keeps each run's raw events (requests with buffer and estimate, loads, aborts, media events),
 * the re-fetches of buffered segments (see `refetches`) and the load average before and after playback.
 *
 * The two players of a trace play at the same time, each in its own Chromium behind its own shaping proxy (its own
 * bottleneck link following the same trace from the same instant): the same machine conditions for both, and half
 * the wall time, so the playback phase fits in the bench lock's 15 minutes.
 *
 * Env: ABR_TRACES (default ../shared/traces), ABR_BENCH_TRACES (comma-separated trace names relative to it),
 * ABR_BENCH_SECONDS (video length, default 62), ABR_BENCH_PORT (first of the two proxy ports, default 9700).
 * ABR_BENCH_STATE=DIR keeps the local stack's state there and reuses the READY video from an earlier run (recorded in
 * DIR/abr-bench-video.json), so the transcode (minutes on a loaded machine) can be done ahead, in its own bench-lock
 * hold, with ABR_BENCH_PREPARE_ONLY=1; the timed run then only plays.
 * ABR_BENCH_STARTUP_REPS (default 3): runs per trace and pair in the startup phase; ABR_BENCH_ONLY=startup or =qoe runs
 * one phase.
 * Bounded: transcode ≤ 25 min, each playback ≤ 3 × the video length + 60 s, printing progress throughout.
 *
 * The startup phase (abr-player/startup.ts) compares the time to first frame of the embed page and of the watch page
 * with plain hls.js on every trace: pairs side by side, medians over the runs, and where the time goes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { BenchResult } from './run';
import { bundlePageScript, launchChromium } from '../test/helpers/chromium';
import { ROOT, startStack, type Stack } from '../test/helpers/local-stack';
import { getVideo, listObjects, uploadOriginal, type VideoStatus } from '../test/helpers/transcoding-media';
import { LADDER, defaults } from '../workers/shared/config';
import { CONTROLLERS } from '../abr/lab/controllers';
import { createPlatformController } from '../abr/platform';
import type { AbrController } from '../abr/types';
import { REBUFFER_PENALTY, simulateRun } from '../abr/lab/sim/simulator';
import { loadTraceDir, type Trace } from '../abr/lab/sim/traces';
import { PAGE_ENTRY, PAGE_HTML, type PlayerRun } from './abr-player/page';
import { playerQoe, type PlayerQoe } from './abr-player/qoe';
import { startShapingProxy } from './abr-player/shaping-proxy';
import { HLSJS_STARTUP_ENTRY, runStartup, type StartupMode, type StartupPages, type StartupRun } from './abr-player/startup';

const DEFAULT_TRACES = [
  'fcc/trace_797466_http---www.amazon.com',
  'hsdpa/bus.ljansbakken-oslo-report.2010-09-28_1407CEST.log',
  'hsdpa/ferry.nesoddtangen-oslo-report.2010-09-20_1542CEST.log',
  'oboe/oboe_trace_344.txt',
  'puffer/traceDXkBvbKIkhCptoc4-qN3EmWsNZRJVgNl+kaTemhHt1A=_0',
  'lte4g/report_train_0001.json',
];
const MODES = ['hlsjs', 'platform'] as const;
const execFileP = promisify(execFile);
type Mode = (typeof MODES)[number];

const log = (line: string): void => console.log(`[abr-player ${new Date().toISOString().slice(11, 19)}] ${line}`);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : 0;
}

export async function run(): Promise<BenchResult> {
  const seconds = Number(process.env.ABR_BENCH_SECONDS ?? 62);
  const traceRoot = process.env.ABR_TRACES ?? path.resolve(ROOT, '../shared/traces');
  const wanted = process.env.ABR_BENCH_TRACES ? process.env.ABR_BENCH_TRACES.split(',') : DEFAULT_TRACES;
  if (!existsSync(traceRoot)) throw new Error(`traces not found at ${traceRoot} (set ABR_TRACES)`);
  const all = loadTraceDir(traceRoot).traces;
  const traces = wanted.map((name) => {
    const t = all.find((x) => x.name === name);
    if (!t) throw new Error(`trace ${name} not in ${traceRoot}`);
    return t;
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-abr-player-'));
  const stateDir = process.env.ABR_BENCH_STATE ? path.resolve(process.env.ABR_BENCH_STATE) : undefined;
  const prepareOnly = process.env.ABR_BENCH_PREPARE_ONLY === '1';
  const cacheFile = stateDir ? path.join(stateDir, 'abr-bench-video.json') : null;
  let stack: Stack | null = null;
  const browsers: Browser[] = [];
  const port = Number(process.env.ABR_BENCH_PORT ?? 9700);
  const proxies = prepareOnly ? [] : [await startShapingProxy(port), await startShapingProxy(port + 1)];
  try {
    log(`phase 1/4: ${seconds} s 1280x720 source, local stack with the transcoder (machine shared with other work: timings are loaded-machine timings)`);
    stack = await startStack({ transcoder: true, stateDir });
    const cached = cacheFile && existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as { id: string; token: string; seconds: number }) : null;
    let id: string;
    if (cached && cached.seconds === seconds) {
      // The video's owner: a creator made by the earlier run (this stack's own new creator owns nothing).
      stack.token = cached.token;
      id = cached.id;
      log(`reusing video ${id} from ${cacheFile}`);
    } else {
      // A modest-bitrate source (≈ 2.5 Mbit/s, ~20 MB for 66 s): a larger one made wrangler dev restart its worker
      // mid-upload on this loaded machine. Uploaded one chunk at a time for the same reason.
      const source = path.join(dir, 'source.mp4');
      await execFileP('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2500k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-shortest', source]);
      id = await uploadOriginal(stack, 'abr bench', source, 1);
    }
    const t0 = Date.now();
    const video = await waitWithTranscoder(stack, id, 1_500_000);
    if (video.status !== 'READY') throw new Error(`transcode failed: ${video.error ?? video.status}`);
    log(`READY${cached ? '' : ` in ${((Date.now() - t0) / 1000).toFixed(0)} s`}: ${video.renditions.map((r) => r.name).join(', ')}`);
    if (cacheFile) writeFileSync(cacheFile, JSON.stringify({ id, token: stack.token, seconds }) + '\n');
    if (prepareOnly) return { summary: [`prepared video ${id} in ${stateDir ?? '(temporary state)'}; run again without ABR_BENCH_PREPARE_ONLY to play`], data: { prepared: id } };
    const rungs = LADDER.filter((r) => video.renditions.some((v) => v.name === r.name));
    const nominal = rungs.map((r) => r.bitrate);
    const sizes: number[][] = [];
    for (const r of rungs) {
      const objects = (await listObjects(stack, `videos/${id}/${r.name}/`)).filter((o) => /segment_\d+\.ts$/.test(o.key)).sort((a, b) => a.key.localeCompare(b.key));
      sizes.push(objects.map((o) => o.size));
    }
    const segmentCount = Math.min(...sizes.map((s) => s.length));
    const measuredBps = sizes.map((s) => Math.round((s.reduce((a, b) => a + b, 0) * 8) / (s.length * defaults.transcoding.segmentDurationSec)));
    log(`${segmentCount} segments; rungs ${rungs.map((r, i) => `${r.name} nominal ${r.bitrate / 1e6} / actual ${(measuredBps[i]! / 1e6).toFixed(2)} Mbit/s`).join(', ')}`);
    const playback = await fetch(`${stack.origin}/v1/videos/${id}/playback`, { headers: { Authorization: `Bearer ${stack.token}` } });
    if (!playback.ok) throw new Error(`playback: ${playback.status} ${await playback.text()}`);
    const masterUrl = ((await playback.json()) as { url: string }).url;

    log('phase 2/4: bundling hls.js + the platform controller, starting Chromium behind the shaping proxy');
    const js = await bundlePageScript(PAGE_ENTRY);
    for (const proxy of proxies) {
      browsers.push(await launchChromium([`--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>']));
    }
    const only = process.env.ABR_BENCH_ONLY;
    const startup = only === 'qoe' ? null : await startupPhase(browsers, proxies, stack, id, masterUrl, traces);
    if (only === 'startup' && startup) return { summary: startup.summary, data: { startup: startup.data }, targetMet: startup.targetMet };

    const loadBefore = os.loadavg();
    log(`phase 3/4: ${traces.length} traces × ${MODES.length} players (side by side, one link each), each ≤ ${3 * seconds + 60} s; load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
    const rows: Array<{
      trace: string;
      family: string;
      traceMeanMbps: number;
      player: Record<Mode, PlayerQoe & { downlinkMbps: number | null; ttfbMedianSec: number; firstRequestSec: number; refetches: number; refetchSec: number; reason: string; fatal: string[]; events: PlayerEvents }>;
      sim: Record<Mode, SimRow>;
      playerWinner: Mode | 'tie';
      simWinner: Mode | 'tie';
    }> = [];
    const playOnce = async (trace: Trace, mode: Mode, slot: number) => {
      const browser = browsers[slot]!;
      const proxy = proxies[slot]!;
      const context = await browser.newContext();
      const page = await context.newPage();
      const benchUrl = new URL('/__abr_bench', stack!.origin).href;
      await page.route(benchUrl, (route) => route.fulfill({ contentType: 'text/html', body: PAGE_HTML }));
      await page.route(new URL('/__abr_bench.js', stack!.origin).href, (route) => route.fulfill({ contentType: 'text/javascript', body: js }));
      await page.goto(benchUrl);
      const downlinkMbps = await page.evaluate(() => (navigator as unknown as { connection?: { downlink?: number } }).connection?.downlink ?? null);
      proxy.shape(trace);
      const started = Date.now();
      const timeoutMs = (3 * seconds + 60) * 1000;
      const result = (await page.evaluate(
        ([u, m, t]) => (window as unknown as { play: (u: string, m: string, t: number) => Promise<unknown> }).play(u, m, t),
        [masterUrl, mode, timeoutMs] as const,
      )) as PlayerRun;
      proxy.shape(null);
      await context.close();
      return { result, downlinkMbps, wallSec: (Date.now() - started) / 1000 };
    };
    for (const [ti, trace] of traces.entries()) {
      const player = {} as (typeof rows)[number]['player'];
      const runs = await Promise.all(MODES.map((mode, slot) => playOnce(trace, mode, slot)));
      for (const [slot, mode] of MODES.entries()) {
        const { result, downlinkMbps, wallSec } = runs[slot]!;
        const qoe = playerQoe(result, nominal, segmentCount);
        const ttfbMedianSec = median(result.loaded.map((f) => Math.max(0, f.first - f.start)));
        const firstRequestSec = result.loading[0]?.t ?? result.loaded[0]?.start ?? 0;
        const refetch = refetches(result);
        const events: PlayerEvents = { loading: result.loading, loaded: result.loaded, aborts: result.aborts, other: result.other, media: result.media, errors: result.errors, bitrates: result.bitrates, averageBitrates: result.averageBitrates };
        player[mode] = { ...qoe, downlinkMbps, ttfbMedianSec, firstRequestSec, refetches: refetch.count, refetchSec: refetch.sec, reason: result.reason, fatal: result.errors.filter((e) => e.fatal).map((e) => e.details), events };
        log(
          `[${ti + 1}/${traces.length}] ${trace.name} ${mode}: ${result.reason} in ${wallSec.toFixed(0)} s; QoE_lin ${qoe.qoeLin.toFixed(1)}, ` +
            `startup ${qoe.startupSec.toFixed(2)} s, stall ${qoe.rebufferSec.toFixed(2)} s, ${qoe.avgBitrateMbps.toFixed(2)} Mbit/s, rungs ${qoe.levels.join('')}, ` +
            `TTFB ${(ttfbMedianSec * 1000).toFixed(0)} ms, first request at ${firstRequestSec.toFixed(2)} s, aborts ${result.aborts.length}, ` +
            `re-fetches of a buffered segment ${refetch.count} (${refetch.sec.toFixed(1)} s), downlink ${downlinkMbps ?? '-'}`,
        );
      }
      const rttSec = median([player.hlsjs.ttfbMedianSec, player.platform.ttfbMedianSec]);
      const sim = {} as Record<Mode, SimRow>;
      for (const mode of MODES) sim[mode] = predictRun(mode, trace, nominal, sizes, segmentCount, rttSec, player[mode].firstRequestSec, player.platform.downlinkMbps);
      log(`[${ti + 1}/${traces.length}] sim: hlsjs ${sim.hlsjs.qoeLin.toFixed(1)} rungs ${sim.hlsjs.levels.join('')}, platform ${sim.platform.qoeLin.toFixed(1)} rungs ${sim.platform.levels.join('')}`);
      const winner = (a: number, b: number): Mode | 'tie' => (Math.abs(a - b) < 1e-9 ? 'tie' : a > b ? 'platform' : 'hlsjs');
      rows.push({
        trace: trace.name,
        family: trace.family,
        traceMeanMbps: meanMbps(trace, seconds * 2),
        player,
        sim,
        playerWinner: winner(player.platform.qoeLin, player.hlsjs.qoeLin),
        simWinner: winner(sim.platform.qoeLin, sim.hlsjs.qoeLin),
      });
    }

    const loadAfter = os.loadavg();
    log(`phase 4/4: summary; load average ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`);
    const mean = (pick: (r: (typeof rows)[number]) => number): number => rows.reduce((s, r) => s + pick(r), 0) / rows.length;
    const means = {
      player: { hlsjs: mean((r) => r.player.hlsjs.qoeLin), platform: mean((r) => r.player.platform.qoeLin) },
      sim: { hlsjs: mean((r) => r.sim.hlsjs.qoeLin), platform: mean((r) => r.sim.platform.qoeLin) },
    };
    const agree = rows.filter((r) => r.playerWinner === r.simWinner).length;
    const summary = [
      `Machine shared with other helpers (2 cores): load average (1/5/15 min) ${loadBefore.map((l) => l.toFixed(1)).join('/')} before playback, ${loadAfter.map((l) => l.toFixed(1)).join('/')} after; player timings include that load.`,
      `video: ${seconds} s, ${segmentCount} × ${defaults.transcoding.segmentDurationSec} s segments, rungs ${rungs.map((r) => r.name).join('/')}; max buffer 30 s both players`,
      'Player cells: QoE_lin (startup s / stall s / rung of each played segment / re-fetches of a buffered segment). Sim cells: QoE_lin (startup s / stall s / rungs).',
      '| trace | Mbit/s (first 124 s) | player hls.js | player platform | sim hls.js | sim platform | player winner | sim winner |',
      '|---|---:|---|---|---|---|---|---|',
      ...rows.map((r) => {
        const p = (q: (typeof r.player)['hlsjs']): string => `${q.qoeLin.toFixed(1)} (${q.startupSec.toFixed(2)} / ${q.rebufferSec.toFixed(2)} / ${q.levels.join('')} / ${q.refetches})`;
        const m = (q: SimRow): string => `${q.qoeLin.toFixed(1)} (${q.startupSec.toFixed(2)} / ${q.rebufferSec.toFixed(2)} / ${q.levels.join('')})`;
        return `| ${r.trace.slice(0, 40)} | ${r.traceMeanMbps.toFixed(2)} | ${p(r.player.hlsjs)} | ${p(r.player.platform)} | ${m(r.sim.hlsjs)} | ${m(r.sim.platform)} | ${r.playerWinner} | ${r.simWinner} |`;
      }),
      `| **mean** | | **${means.player.hlsjs.toFixed(1)}** | **${means.player.platform.toFixed(1)}** | ${means.sim.hlsjs.toFixed(1)} | ${means.sim.platform.toFixed(1)} | | |`,
      `ranking agreement (sim vs player, platform vs hls.js): ${agree}/${rows.length} traces`,
    ];
    return {
      summary: [...summary, ...(startup?.summary ?? [])],
      data: { loadAverage: { before: loadBefore, after: loadAfter }, seconds, segmentCount, rungs: rungs.map((r, i) => ({ name: r.name, nominalBps: r.bitrate, measuredBps: measuredBps[i] })), segmentSizesBytes: sizes, means, rankingAgreement: { agree, of: rows.length }, rows, startup: startup?.data ?? null },
      targetMet: means.player.platform > means.player.hlsjs && (startup?.targetMet ?? true),
    };
  } finally {
    for (const browser of browsers) await browser.close().catch(() => {});
    for (const proxy of proxies) await proxy.close();
    await stack?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Startup: per trace, pairs side by side (plain hls.js next to the embed page, then next to the watch page), each pair
 * `ABR_BENCH_STARTUP_REPS` times with the two Chromiums swapped every other run; compared by medians.
 */
async function startupPhase(browsers: Browser[], proxies: Awaited<ReturnType<typeof startShapingProxy>>[], stack: Stack, id: string, masterUrl: string, traces: Trace[]) {
  const reps = Number(process.env.ABR_BENCH_STARTUP_REPS ?? 3);
  const token = /\/t\/([^/]+)\/master\.m3u8$/.exec(new URL(masterUrl).pathname)?.[1] ?? '';
  const pages: StartupPages = {
    origin: stack.origin,
    masterUrl,
    embedUrl: `${stack.origin}/embed/${id}?autoplay=1&muted=1&token=${token}`,
    watchUrl: `${stack.origin}/watch/${id}`,
    plainJs: await bundlePageScript(HLSJS_STARTUP_ENTRY, { hls: 'full' }),
  };
  const load = os.loadavg();
  log(`startup phase: ${traces.length} traces × (hls.js vs embed, hls.js vs watch) × ${reps}; load average ${load.map((l) => l.toFixed(1)).join(' ')}`);
  const rows: Array<{ trace: string; runs: StartupRun[] }> = [];
  for (const trace of traces) {
    const runs: StartupRun[] = [];
    for (const other of ['embed', 'watch'] as const) {
      for (let rep = 0; rep < reps; rep++) {
        const modes: [StartupMode, StartupMode] = rep % 2 === 0 ? ['hlsjs', other] : [other, 'hlsjs'];
        const pair = await Promise.all(modes.map((mode, slot) => runStartup(browsers[slot]!, proxies[slot]!, mode, pages, trace, 60_000)));
        runs.push(...pair.map((r) => ({ ...r, pairedWith: other })));
      }
    }
    rows.push({ trace: trace.name, runs });
    const m = (mode: StartupMode, pairedWith?: string) => median(runs.filter((r) => r.mode === mode && (pairedWith === undefined || (r as { pairedWith?: string }).pairedWith === pairedWith)).map((r) => r.ttffSec));
    log(`startup ${trace.name}: hls.js ${m('hlsjs', 'embed').toFixed(2)} vs embed ${m('embed').toFixed(2)} s; hls.js ${m('hlsjs', 'watch').toFixed(2)} vs watch ${m('watch').toFixed(2)} s`);
  }
  const loadAfter = os.loadavg();
  const cell = (runs: StartupRun[], mode: StartupMode, pairedWith?: string) => median(runs.filter((r) => r.mode === mode && (pairedWith === undefined || (r as { pairedWith?: string }).pairedWith === pairedWith)).map((r) => r.ttffSec));
  const table = rows.map((r) => ({
    trace: r.trace,
    hlsjsVsEmbed: cell(r.runs, 'hlsjs', 'embed'),
    embed: cell(r.runs, 'embed'),
    hlsjsVsWatch: cell(r.runs, 'hlsjs', 'watch'),
    watch: cell(r.runs, 'watch'),
    intent: { hlsjs: cell(r.runs.map((x) => ({ ...x, ttffSec: x.intentSec })), 'hlsjs'), embed: cell(r.runs.map((x) => ({ ...x, ttffSec: x.intentSec })), 'embed'), watch: cell(r.runs.map((x) => ({ ...x, ttffSec: x.intentSec })), 'watch') },
  }));
  const met = table.every((t) => t.embed <= t.hlsjsVsEmbed && t.watch <= t.hlsjsVsWatch);
  const where = (mode: StartupMode) => {
    const run = rows[0]?.runs.find((r) => r.mode === mode);
    return run ? run.timeline.filter(([name]) => !name.startsWith('/assets') && !name.startsWith('/__')).slice(0, 8).map(([name, a, b]) => `${name} ${a.toFixed(2)}–${b.toFixed(2)}`).join(', ') : '';
  };
  const summary = [
    `Startup (play intent → first frame, median of ${reps} side-by-side runs per pair; links at loopback speed until the intent, then the trace). Load average ${load.map((l) => l.toFixed(1)).join('/')} before, ${loadAfter.map((l) => l.toFixed(1)).join('/')} after.`,
    '| trace | hls.js | embed | hls.js | watch page | navigation → intent (hls.js / embed / watch) |',
    '|---|---:|---:|---:|---:|---|',
    ...table.map((t) => `| ${t.trace.slice(0, 40)} | ${t.hlsjsVsEmbed.toFixed(2)} | ${t.embed.toFixed(2)} | ${t.hlsjsVsWatch.toFixed(2)} | ${t.watch.toFixed(2)} | ${t.intent.hlsjs.toFixed(2)} / ${t.intent.embed.toFixed(2)} / ${t.intent.watch.toFixed(2)} |`),
    `embed and watch page no later than plain hls.js on every trace: ${met ? 'yes' : 'NO'}`,
    `where the time goes (${rows[0]?.trace ?? ''}, s from the intent): hls.js: ${where('hlsjs')}; embed: ${where('embed')}; watch: ${where('watch')}`,
  ];
  return { summary, data: { reps, loadAverage: { before: load, after: loadAfter }, table, rows }, targetMet: met };
}

interface SimRow {
  qoeLin: number;
  startupSec: number;
  rebufferSec: number;
  avgBitrateMbps: number;
  switches: number;
  levels: number[];
  /** Trace time at which the simulated run starts: the player's first fragment request. */
  offsetSec: number;
}

type PlayerEvents = Pick<PlayerRun, 'loading' | 'loaded' | 'aborts' | 'other' | 'media' | 'errors' | 'bitrates' | 'averageBitrates'>;

/**
 * The simulator's prediction for one player on the same trace, video and RTT, made to know what that player knew:
 * - it starts at the trace time of the player's first fragment request (the link follows the trace from the moment
 *   the page calls play, and the master and media playlists come first: 0.1–0.5 s, in which a trace like Puffer's
 *   swings from 0.06 to 8 Mbit/s), and that time is added to its startup (and so to its QoE's stall term);
 * - the controller is not told the real segment sizes (the simulator can pass them; hls.js cannot, so the adapter
 *   never does): its plans use bitrate × duration, while the downloads take the real sizes;
 * - the platform controller is given the `navigator.connection.downlink` its player saw (what it knows before the
 *   first byte in Chromium), as the adapter passes it; hls.js's rule does not read it.
 */
function predictRun(mode: Mode, trace: Trace, nominal: number[], sizes: number[][], segmentCount: number, rttSec: number, offsetSec: number, downlinkMbps: number | null): SimRow {
  const stream = { bitrates: nominal, segmentDurationSec: defaults.transcoding.segmentDurationSec, maxBufferSec: 30 };
  const options = { stream, segmentCount, rttSec, progressIntervalSec: 0.1, segmentBits: (level: number, index: number) => (sizes[level]?.[index] ?? 0) * 8 };
  const inner = mode === 'platform' ? createPlatformController(stream, { downlinkBps: downlinkMbps ? downlinkMbps * 1e6 : null }) : CONTROLLERS.find((c) => c.name === mode)!.create(stream);
  const controller: AbrController = {
    name: inner.name,
    chooseLevel: (decision) => inner.chooseLevel({ ...decision, segmentBits: undefined }),
    onDownloaded: (sample) => inner.onDownloaded(sample),
    onProgress: inner.onProgress ? (progress) => inner.onProgress!(progress) : undefined,
    bandwidthEstimate: () => inner.bandwidthEstimate(),
  };
  const r = simulateRun(shiftTrace(trace, offsetSec), controller, options);
  const startupSec = r.metrics.startupSec + offsetSec;
  return {
    qoeLin: r.metrics.qoeLin - REBUFFER_PENALTY * offsetSec,
    startupSec,
    rebufferSec: r.metrics.rebufferSec,
    avgBitrateMbps: r.metrics.avgBitrateMbps,
    switches: r.metrics.switches,
    levels: r.levels,
    offsetSec,
  };
}

/** The trace as seen from `offsetSec` on (it loops, so the cut-off head is appended at the end). */
function shiftTrace(trace: Trace, offsetSec: number): Trace {
  if (!(offsetSec > 0)) return trace;
  const total = trace.durationsSec.reduce((a, b) => a + b, 0);
  let skip = offsetSec % total;
  const durationsSec: number[] = [];
  const bps: number[] = [];
  const head: Array<[number, number]> = [];
  for (let i = 0; i < trace.durationsSec.length; i++) {
    const d = trace.durationsSec[i]!;
    const b = trace.bps[i]!;
    if (skip >= d) {
      head.push([d, b]);
      skip -= d;
    } else if (skip > 0) {
      head.push([skip, b]);
      durationsSec.push(d - skip);
      bps.push(b);
      skip = 0;
    } else {
      durationsSec.push(d);
      bps.push(b);
    }
  }
  for (const [d, b] of head) {
    durationsSec.push(d);
    bps.push(b);
  }
  return { ...trace, durationsSec, bps };
}

/**
 * Waits for READY or FAILED, restarting the local transcoder process if it has exited: on this loaded machine wrangler
 * dev sometimes drops a connection mid-callback and the transcoder process dies on the unhandled rejection. The job it held is retried by the pipeline once its lease lapses.
 */
async function waitWithTranscoder(stack: Stack, id: string, timeoutMs: number): Promise<VideoStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: VideoStatus | null = null;
  while (Date.now() < deadline) {
    const child = stack.transcoder;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      log(`transcoder exited (${child.exitCode ?? child.signalCode}); restarting it, the job is retried when its lease lapses`);
      await stack.restartTranscoder();
    }
    last = await getVideo(stack, id);
    if (last.status === 'READY' || last.status === 'FAILED') return last;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`video ${id} not READY after ${timeoutMs / 1000} s: ${JSON.stringify(last)}`);
}

/**
 * hls.js 1.7 requests a segment it has already buffered again, at the new level, when it switches to a level whose
 * playlist timing was updated by an earlier parse: the media's buffered end (Chromium reports microseconds; with
 * B-frames the fragment's end DTS is below its end PTS, so findFragmentByPTS's rounding fix does not apply) lies a
 * hair inside that level's copy of the segment just buffered, and the lookup matches it. Counted here: requests for a
 * sequence number that had already loaded completely and that no emergency abort preceded; and their download time.
 */
function refetches(run: PlayerRun): { count: number; sec: number } {
  const done = new Set<number>();
  let count = 0;
  let sec = 0;
  for (const f of run.loaded) {
    if (done.has(f.sn)) {
      count++;
      sec += f.end - f.start;
    }
    done.add(f.sn);
  }
  return { count, sec };
}

function meanMbps(trace: Trace, seconds: number): number {
  let t = 0;
  let bits = 0;
  for (let i = 0; t < seconds && i < trace.durationsSec.length * 100; i++) {
    const k = i % trace.durationsSec.length;
    const d = Math.min(trace.durationsSec[k]!, seconds - t);
    bits += d * trace.bps[k]!;
    t += d;
  }
  return t > 0 ? bits / t / 1e6 : 0;
}

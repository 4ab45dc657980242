/**
 * `npm test`: the typecheck and the four test projects of vitest.config.ts (`workers`, `node`, `transcode`, `e2e`)
 * side by side, one vitest process per project (two for `node`: LANES). Inside one process vitest runs every project that allows one file at a time in a
 * single queue, one file after another, so the end-to-end projects would not overlap at all; as separate processes
 * each keeps its own one-file-at-a-time rule and they wait on ffmpeg, browsers and stacks at the same time.
 *
 * Each line of output is prefixed with its lane's name; at the end a summary gives each project's exit status,
 * time and test counts, and how fast the machine ran (busy CPU-seconds and a speed factor: scripts/machine-speed.ts,
 * so a slow run can be told apart: a slower machine or more work), and the exit status is non-zero if any project failed.
 * A project that prints nothing for SILENT_LIMIT_MS (no file finishing for that long: far past any file's own
 * time limits, so something blocks the vitest process itself) is stopped and fails, after printing what was
 * running (`ps`) and the end of what its newest local stack printed (every stack a lane starts writes its output to
 * `.tmp/stack-logs/<lane>/`, STACK_LOG_DIR), instead of holding CI until its global limit.
 * With arguments (`npm test -- test/node/foo.test.ts -t name`) it runs the typecheck, then one plain
 * `vitest run <arguments>` instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyCpuSeconds, speedFactor } from './machine-speed';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VITEST = path.join(ROOT, 'node_modules', '.bin', 'vitest');
/**
 * One vitest process each. The `node` project is two lanes: its end-to-end files (`*-e2e.test.ts`, each with a stack
 * of its own) and the rest, so neither half waits for the other's stacks. The typecheck (`npm run typecheck`, one
 * core for about half a minute) is a lane of its own, beside them, not a step before them.
 */
interface Lane {
  name: string;
  args: string[];
  /** The program, when not `vitest run`. */
  command?: string;
}
const TYPECHECK: Lane = { name: 'typecheck', command: 'npm', args: ['run', '-s', 'typecheck'] };
const LANES: Lane[] = [
  TYPECHECK,
  { name: 'workers', args: ['--project', 'workers'] },
  { name: 'node', args: ['--project', 'node', '--exclude', 'test/node/*-e2e.test.ts'] },
  { name: 'node-e2e', args: ['--project', 'node', 'e2e.test.ts'] },
  { name: 'transcode', args: ['--project', 'transcode'] },
  { name: 'e2e', args: ['--project', 'e2e'] },
];
const SILENT_LIMIT_MS = 12 * 60_000;
/** How many failed tests the closing summary names per lane (the full reports are above it). */
const MAX_FAILURES_LISTED = 10;

interface LaneResult {
  lane: string;
  code: number;
  seconds: number;
  summary: string[];
  /** Each failed test's `FAIL` line and the first line of its error, so the summary at the end names them. */
  failures: string[];
}

/** Where a lane's local stacks write their output (test/helpers/local-stack.ts, STACK_LOG_DIR). */
const stackLogDir = (lane: string) => path.join(ROOT, '.tmp', 'stack-logs', lane);

/** The last `lines` lines of the newest stack log of a lane, or a note that there is none. */
function newestStackLogTail(lane: string, lines = 150): string {
  const dir = stackLogDir(lane);
  const files = existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs) : [];
  if (files.length === 0) return '(no stack log)';
  return `${files[0]}:\n${readFileSync(files[0]!, 'utf8').split('\n').slice(-lines).join('\n')}`;
}

// eslint-disable-next-line no-control-regex
const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '');

/** The running lanes: each is a process group of its own (for the watchdog), so Ctrl-C is passed on by hand. */
const lanes = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of lanes) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

function runLane({ name: lane, args, command }: Lane): Promise<LaneResult> {
  const started = Date.now();
  const summary: string[] = [];
  const failures: string[] = [];
  let awaitingError = false;
  rmSync(stackLogDir(lane), { recursive: true, force: true });
  const env = { ...process.env, STACK_LOG_DIR: stackLogDir(lane) };
  const [program, argv] = command ? [command, args] : [VITEST, ['run', ...args]];
  const child = spawn(program, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let lastOutput = Date.now();
  let stopped = false;
  const watchdog = setInterval(() => {
    if (Date.now() - lastOutput < SILENT_LIMIT_MS) return;
    clearInterval(watchdog);
    stopped = true;
    console.error(`[${lane}] no output for ${SILENT_LIMIT_MS / 60_000} minutes: stopping it. Running processes:`);
    console.error(spawnSync('ps', ['-eo', 'pid,ppid,pcpu,etime,args', '--forest'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => !/\[[^\]]+\]$/.test(l.trim())).map((l) => l.slice(0, 220)).join('\n'));
    console.error(`[${lane}] the end of its newest stack's output, ${newestStackLogTail(lane)}`);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 30_000);
  const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      lastOutput = Date.now();
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const text = plain(line).trim();
        if (/^(Test Files|Tests|Duration)\s/.test(text)) summary.push(text);
        if (/^\S+\(\d+,\d+\): error TS\d+/.test(text) && failures.length < MAX_FAILURES_LISTED) failures.push(text.slice(0, 300));
        if (/^FAIL\s/.test(text) && failures.length < MAX_FAILURES_LISTED) {
          failures.push(text.slice(0, 300));
          awaitingError = true;
        } else if (awaitingError && /^[\w.]*(Error|Exception)\b/.test(text)) {
          failures.push(`  ${text.slice(0, 300)}`);
          awaitingError = false;
        }
        out.write(`[${lane}] ${line}\n`);
      }
    });
    stream.on('end', () => rest && out.write(`[${lane}] ${rest}\n`));
  };
  relay(child.stdout!, process.stdout);
  relay(child.stderr!, process.stderr);
  lanes.add(child);
  return new Promise((resolve) => {
    let finished = false;
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      lanes.delete(child);
      if (stopped) summary.push(`stopped after ${SILENT_LIMIT_MS / 60_000} minutes without output`);
      resolve({ lane, code: stopped ? 1 : (code ?? (signal ? 1 : 0)), seconds: Math.round((Date.now() - started) / 1000), summary, failures });
    };
    // 'close' (the output read to its end) normally; a stopped lane's stray grandchildren (a stack's wrangler) may
    // keep its pipes open, so it ends at 'exit'.
    child.on('close', done);
    child.on('exit', (code, signal) => stopped && done(code, signal));
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length > 0) {
    const run = (command: string, argv: string[]) =>
      new Promise<number>((resolve) => spawn(command, argv, { cwd: ROOT, stdio: 'inherit' }).on('close', (code) => resolve(code ?? 1)));
    const typecheck = await run(TYPECHECK.command!, TYPECHECK.args);
    return typecheck !== 0 ? typecheck : run(VITEST, ['run', ...args]);
  }
  const before = speedFactor();
  const busyBefore = busyCpuSeconds();
  const started = Date.now();
  const results = await Promise.all(LANES.map(runLane));
  const seconds = Math.round((Date.now() - started) / 1000);
  const busyAfter = busyCpuSeconds();
  const after = speedFactor();
  console.log(`\nnpm test: ${seconds} s, the projects side by side`);
  const busy = busyBefore !== null && busyAfter !== null ? `${Math.round(busyAfter - busyBefore)} busy CPU-seconds on ${os.availableParallelism()} cores, ` : '';
  console.log(`  the machine: ${busy}speed ${before.factor.toFixed(2)} before the run and ${after.factor.toFixed(2)} after (a fixed workload took ${before.ms} and ${after.ms} ms of CPU; 1.00 is the speed the README's times were measured at: scripts/machine-speed.ts)`);
  for (const r of results) console.log(`  ${r.code === 0 ? 'passed' : 'FAILED'}  ${r.lane.padEnd(10)} ${String(r.seconds).padStart(4)} s  ${r.summary.join(' · ')}`);
  const failed = results.filter((r) => r.failures.length > 0);
  if (failed.length > 0) console.log('\nfailed tests:');
  for (const r of failed) for (const line of r.failures) console.log(`  [${r.lane}] ${line}`);
  return results.some((r) => r.code !== 0) ? 1 : 0;
}

process.exitCode = await main();

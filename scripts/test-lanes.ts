/**
 * `npm test`: the four test projects of vitest.config.ts (`workers`, `node`, `transcode`, `e2e`) side by side, one
 * vitest process per project. Inside one process vitest runs every project that allows one file at a time in a
 * single queue, one file after another, so the end-to-end projects would not overlap at all; as separate processes
 * each keeps its own one-file-at-a-time rule and they wait on ffmpeg, browsers and stacks at the same time.
 *
 * Each line of output is prefixed with its project's name; at the end a summary gives each project's exit status,
 * time and test counts, and the exit status is non-zero if any project failed.
 * With arguments (`npm test -- test/node/foo.test.ts -t name`) it runs one plain `vitest run <arguments>` instead.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VITEST = path.join(ROOT, 'node_modules', '.bin', 'vitest');
const LANES = ['workers', 'node', 'transcode', 'e2e'] as const;

interface LaneResult {
  lane: string;
  code: number;
  seconds: number;
  summary: string[];
}

// eslint-disable-next-line no-control-regex
const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '');

function runLane(lane: string): Promise<LaneResult> {
  const started = Date.now();
  const summary: string[] = [];
  const child = spawn(VITEST, ['run', '--project', lane], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\s*(Test Files|Tests|Duration)\s/.test(plain(line))) summary.push(plain(line).trim());
        out.write(`[${lane}] ${line}\n`);
      }
    });
    stream.on('end', () => rest && out.write(`[${lane}] ${rest}\n`));
  };
  relay(child.stdout!, process.stdout);
  relay(child.stderr!, process.stderr);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ lane, code: code ?? (signal ? 1 : 0), seconds: Math.round((Date.now() - started) / 1000), summary }));
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length > 0) {
    const child = spawn(VITEST, ['run', ...args], { cwd: ROOT, stdio: 'inherit' });
    return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  }
  const started = Date.now();
  const results = await Promise.all(LANES.map(runLane));
  console.log(`\nnpm test: ${Math.round((Date.now() - started) / 1000)} s, the projects side by side`);
  for (const r of results) console.log(`  ${r.code === 0 ? 'passed' : 'FAILED'}  ${r.lane.padEnd(9)} ${String(r.seconds).padStart(4)} s  ${r.summary.join(' · ')}`);
  return results.some((r) => r.code !== 0) ? 1 : 0;
}

process.exitCode = await main();

/**
 * `npm run abr:sim -- [--traces DIR] [--json OUT] [--segments N] [--segment-sizes FILE] [--rtt-ms MS]
 * [--max-buffer S]`: runs every ABR controller over every trace under DIR (recursively, all formats) and prints the
 * table overall and per trace family; `--json` also writes the full report.
 *
 * Bad input: a missing or empty traces dir, or one with no parseable trace, is an error (exit 1, nothing written);
 * an unparseable file among good ones is skipped with a warning on stderr and listed under `skipped` in the JSON, so
 * one stray file does not sink a run over a large folder. Unknown or malformed flags are errors.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AbrStream } from '../../types';
import { formatTable, ORACLE, runAll, type SimReport } from './run';
import type { SimOptions } from './simulator';
import { loadTraceDir, TraceError } from './traces';

export class CliError extends Error {}

export interface CliArgs {
  traces: string;
  json: string | null;
  segments: number;
  segmentSizes: string | null;
  rttMs: number;
  maxBufferSec: number;
}

/** 50 segments of 6 s: a 5-minute video, long enough to pass startup and see each trace's variations. */
export const DEFAULT_SEGMENTS = 50;
export const DEFAULT_RTT_MS = 80;
export const DEFAULT_MAX_BUFFER_SEC = 30;

/**
 * The platform's encoding as the lab simulates it: the ladder's rung names and bitrates, and the segment duration.
 * The caller passes it in (scripts/abr-media.ts reads it from the platform's config), so the lab imports nothing
 * from the Worker.
 */
export interface LabMedia {
  ladder: ReadonlyArray<{ name: string; bitrate: number }>;
  segmentDurationSec: number;
}

/** The simulation every ABR tool uses by default (`abr:sim` without flags): the platform's ladder, 50 segments, 30 s buffer, 80 ms RTT. */
export function defaultSimOptions(media: LabMedia): SimOptions {
  return {
    stream: { bitrates: media.ladder.map((r) => r.bitrate), segmentDurationSec: media.segmentDurationSec, maxBufferSec: DEFAULT_MAX_BUFFER_SEC },
    segmentCount: DEFAULT_SEGMENTS,
    rttSec: DEFAULT_RTT_MS / 1000,
    progressIntervalSec: 0.1,
  };
}

export function parseArgs(argv: string[], repoRoot: string, media: LabMedia): CliArgs {
  const args: CliArgs = {
    traces: path.resolve(repoRoot, '../shared/traces'),
    json: null,
    segments: DEFAULT_SEGMENTS,
    segmentSizes: null,
    rttMs: DEFAULT_RTT_MS,
    maxBufferSec: DEFAULT_MAX_BUFFER_SEC,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new CliError(`${name} needs a value`);
      return v;
    };
    const positive = (): number => {
      const raw = value();
      const n = Number(raw);
      if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
      return n;
    };
    switch (name) {
      case '--traces': args.traces = path.resolve(value()); break;
      case '--json': args.json = path.resolve(value()); break;
      case '--segments': args.segments = Math.floor(positive()); break;
      case '--segment-sizes': args.segmentSizes = path.resolve(value()); break;
      case '--rtt-ms': args.rttMs = positive(); break;
      case '--max-buffer': args.maxBufferSec = positive(); break;
      default: throw new CliError(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (args.maxBufferSec < media.segmentDurationSec) {
    throw new CliError(`--max-buffer must hold at least one ${media.segmentDurationSec} s segment`);
  }
  return args;
}

/**
 * Real segment sizes: a JSON object mapping ladder rung names to arrays of segment sizes in bytes, e.g.
 * `{"240p": [301122, ...], "360p": [...]}` (from `ls -l` of a transcoded clip's rendition folders). The rungs present
 * form the ladder (their nominal bitrates from the ladder); the video is as long as the shortest list.
 */
export function loadSegmentSizes(file: string, ladder: LabMedia['ladder']): { bitrates: number[]; segmentCount: number; bits: (level: number, index: number) => number } {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read segment sizes ${file}: ${(error as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new CliError(`${file}: expected {"<rung>": [bytes, ...]}`);
  const record = data as Record<string, unknown>;
  const rungs = ladder.filter((r) => r.name in record);
  const unknown = Object.keys(record).filter((k) => !ladder.some((r) => r.name === k));
  if (unknown.length) throw new CliError(`${file}: unknown rung(s) ${unknown.join(', ')}; ladder is ${ladder.map((r) => r.name).join(', ')}`);
  if (rungs.length === 0) throw new CliError(`${file}: no ladder rungs`);
  const sizes = rungs.map((r) => {
    const list = record[r.name];
    if (!Array.isArray(list) || list.length === 0 || !list.every((b) => typeof b === 'number' && Number.isFinite(b) && b > 0)) {
      throw new CliError(`${file}: "${r.name}" must be a non-empty array of positive byte counts`);
    }
    return list as number[];
  });
  const segmentCount = Math.min(...sizes.map((s) => s.length));
  return { bitrates: rungs.map((r) => r.bitrate), segmentCount, bits: (level, index) => (sizes[level]?.[index] ?? 0) * 8 };
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const CONSOLE_IO: CliIo = { out: console.log, err: console.error };

/** Returns the exit code. Progress (one line per trace) goes to stderr when run from the command line. */
export function main(argv: string[], repoRoot: string, media: LabMedia, io: CliIo = CONSOLE_IO): number {
  try {
    const args = parseArgs(argv, repoRoot, media);
    const { traces, skipped } = loadTraceDir(args.traces);
    for (const s of skipped) io.err(`warning: skipped ${s.file}: ${s.error}`);
    const sizes = args.segmentSizes ? loadSegmentSizes(args.segmentSizes, media.ladder) : null;
    const stream: AbrStream = {
      bitrates: sizes?.bitrates ?? media.ladder.map((r) => r.bitrate),
      segmentDurationSec: media.segmentDurationSec,
      maxBufferSec: args.maxBufferSec,
    };
    const report: SimReport = {
      ...runAll(traces, {
        stream,
        segmentCount: sizes ? Math.min(sizes.segmentCount, args.segments) : args.segments,
        rttSec: args.rttMs / 1000,
        progressIntervalSec: 0.1,
        segmentBits: sizes?.bits,
      }, undefined, { progress: io === CONSOLE_IO ? (line) => io.err(line) : undefined }),
      skipped,
    };
    printReport(report, traces.length, args, io);
    if (args.json) {
      mkdirSync(path.dirname(args.json), { recursive: true });
      writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
      io.out(`wrote ${args.json}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof CliError || error instanceof TraceError) {
      io.err(`abr:sim: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function printReport(report: SimReport, traceCount: number, args: CliArgs, io: CliIo): void {
  const o = report.options;
  io.out(
    `${traceCount} traces from ${args.traces}; ${o.segmentCount} × ${o.segmentDurationSec} s segments, ` +
      `max buffer ${o.maxBufferSec} s, RTT ${args.rttMs} ms, ${o.realSegmentSizes ? 'real' : 'nominal'} segment sizes. ` +
      'Deterministic: same traces → same numbers on any machine.',
  );
  io.out('\nAll traces (mean per trace; rebuffer % excludes startup; QoE_lin counts startup as stall):');
  io.out(formatTable(report.overall));
  for (const [family, rows] of Object.entries(report.byFamily)) {
    io.out(`\n${family}/ (${rows[0]?.traces ?? 0} traces):`);
    io.out(formatTable(rows));
  }
  const reference = report.overall.find((r) => r.controller === 'reference');
  const platform = report.overall.find((r) => r.controller === 'platform');
  if (reference && platform) {
    const baselines = (rows: SimReport['overall']) => rows.filter((r) => !r.controller.startsWith('platform') && r.controller !== ORACLE);
    const beatsAll = baselines(report.overall).every((r) => platform.meanQoeLin >= r.meanQoeLin);
    const ratio = reference.meanQoeLin > 0 ? platform.meanQoeLin / reference.meanQoeLin : NaN;
    io.out(
      `\nplatform/reference QoE_lin = ${ratio.toFixed(3)}; ≥ every baseline overall: ${beatsAll ? 'yes' : 'no'}; ` +
        `rebuffer ${(platform.rebufferRatio * 100).toFixed(2)} % vs reference ${(reference.rebufferRatio * 100).toFixed(2)} %`,
    );
    const fraction = (f: number | undefined): string => (f === undefined || !Number.isFinite(f) ? 'undefined' : f.toFixed(3));
    const three = (row: SimReport['overall'][number] | undefined): string => {
      const f = row?.fractionOfOracle;
      return f
        ? `${fraction(f.qoeLin)} (headroom ${fraction(f.headroomLin)}, per trace ${fraction(f.perTraceLin)}; ` +
            `startup apart ${fraction(f.qoeLinExStartup)}, headroom ${fraction(f.headroomLinExStartup)})`
        : '-';
    };
    const families = Object.entries(report.byFamily).map(([family, rows]) => {
      const own = rows.find((r) => r.controller === 'platform');
      const best = baselines(rows).reduce((a, b) => (b.meanQoeLin > a.meanQoeLin ? b : a));
      return `${family} ${three(own)}${own && own.meanQoeLin >= best.meanQoeLin ? '' : ` (below ${best.controller})`}`;
    });
    if (platform.fractionOfOracle) {
      io.out(`platform fraction of the oracle, QoE_lin: ratio of means (headroom over always-lowest, mean per-trace ratio where the optimum > 0; QoE_lin with startup apart against its own optimum); target ≥ 0.85:`);
      io.out(`  overall ${three(platform)}`);
      for (const line of families) io.out(`  ${line}`);
    }
  }
}

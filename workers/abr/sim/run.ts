/** Runs every controller over a set of traces and aggregates the metrics (overall and per trace family). */
import { CONTROLLERS } from '../index';
import { createPlatformController } from '../platform';
import type { AbrControllerFactory, AbrStream } from '../types';
import { simulateSession, type SessionMetrics, type SessionResult, type SimOptions } from './simulator';
import type { Trace } from './traces';

export interface ControllerSummary {
  controller: string;
  traces: number;
  meanQoeLin: number;
  meanBitrateMbps: number;
  /** Total stall seconds / total (stall + video) seconds over all sessions. */
  rebufferRatio: number;
  meanSwitches: number;
  meanStartupSec: number;
  meanAbandons: number;
}

export interface SimReport {
  options: { segmentCount: number; segmentDurationSec: number; maxBufferSec: number; rttSec: number; bitratesBps: number[]; realSegmentSizes: boolean };
  overall: ControllerSummary[];
  byFamily: Record<string, ControllerSummary[]>;
  sessions: SessionResult[];
  skipped: Array<{ file: string; error: string }>;
}

/**
 * `platform-returning` is the platform controller for a returning viewer: it starts from the estimate the platform
 * exported at the end of a first session on the same trace. It is reported, not ranked (the others start cold).
 */
export const RETURNING = 'platform-returning';

export function runAll(traces: Trace[], options: SimOptions, controllers = CONTROLLERS, includeReturning = true): SimReport {
  const sessions: SessionResult[] = [];
  for (const trace of traces) {
    for (const { create } of controllers) sessions.push(simulateSession(trace, create(options.stream), options));
    if (includeReturning) sessions.push(simulateReturning(trace, options));
  }
  const names = [...controllers.map((c) => c.name), ...(includeReturning ? [RETURNING] : [])];
  const families = [...new Set(traces.map((t) => t.family))].sort();
  return {
    options: {
      segmentCount: options.segmentCount,
      segmentDurationSec: options.stream.segmentDurationSec,
      maxBufferSec: options.stream.maxBufferSec,
      rttSec: options.rttSec,
      bitratesBps: [...options.stream.bitrates],
      realSegmentSizes: Boolean(options.segmentBits),
    },
    overall: names.map((name) => summarize(name, sessions.filter((s) => s.controller === name), options.stream)),
    byFamily: Object.fromEntries(
      families.map((family) => [family, names.map((name) => summarize(name, sessions.filter((s) => s.controller === name && s.family === family), options.stream))]),
    ),
    sessions,
    skipped: [],
  };
}

function simulateReturning(trace: Trace, options: SimOptions): SessionResult {
  const first = createPlatformController(options.stream);
  simulateSession(trace, first, options);
  const nowMs = 0;
  const returning = createPlatformController(options.stream, { persisted: first.exportState?.(nowMs) ?? null, nowMs });
  const result = simulateSession(trace, returning, options);
  return { ...result, controller: RETURNING };
}

export function summarize(name: string, sessions: SessionResult[], stream: AbrStream): ControllerSummary {
  const n = sessions.length || 1;
  const mean = (pick: (m: SessionMetrics) => number): number => sessions.reduce((sum, s) => sum + pick(s.metrics), 0) / n;
  const stall = sessions.reduce((sum, s) => sum + s.metrics.rebufferSec, 0);
  const video = sessions.reduce((sum, s) => sum + s.levels.length * stream.segmentDurationSec, 0);
  return {
    controller: name,
    traces: sessions.length,
    meanQoeLin: mean((m) => m.qoeLin),
    meanBitrateMbps: mean((m) => m.avgBitrateMbps),
    rebufferRatio: video + stall > 0 ? stall / (video + stall) : 0,
    meanSwitches: mean((m) => m.switches),
    meanStartupSec: mean((m) => m.startupSec),
    meanAbandons: mean((m) => m.abandons),
  };
}

export function formatTable(rows: ControllerSummary[]): string {
  const header = ['controller', 'traces', 'QoE_lin', 'bitrate Mbps', 'rebuffer %', 'switches', 'startup s', 'abandons'];
  const body = rows.map((r) => [
    r.controller,
    String(r.traces),
    r.meanQoeLin.toFixed(1),
    r.meanBitrateMbps.toFixed(2),
    (r.rebufferRatio * 100).toFixed(2),
    r.meanSwitches.toFixed(1),
    r.meanStartupSec.toFixed(2),
    r.meanAbandons.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...body.map(line)].join('\n');
}

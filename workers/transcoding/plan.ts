/**
 * The units of a video's processing, planned in two steps for a per-title ladder:
 *
 * - after analysis: the audio track, the lowest H.264 rung's chunks (they never wait: first playable), the complexity
 *   probe (`ladder`) and the thumbnails; a fixed ladder (or a per-title one that needs no probe) plans every encode
 *   here, exactly as before per-title ladders existed;
 * - after the probe: the other rung groups' chunks, over the same chunk ranges as the lowest rung's rows.
 *
 * Job rows first, then messages: a crash in between re-plans, and the upserts and the claim compare-and-set make a
 * repeated send harmless.
 */
import type { Config } from '../shared/config';
import type { Db } from '../shared/db';
import { planChunks } from './chunks';
import { completedUnits, ensureJobs } from './jobs';
import { awaitsProbe, decisionWithoutProbe, encodeGroups, videoLadder, type LadderSubject } from './ladder';
import { enqueueTranscode, parseEncodeUnit, unitOf, type WorkMessage } from './messages';

export interface PlannedUnit {
  message: WorkMessage;
  range?: { start: number; end: number | null };
}

type Range = { start: number; end: number | null };

/** The rung groups; a per-title ladder always encodes its lowest rung alone (the others wait for the probe). */
const groupsOf = (config: Config, subject: LadderSubject) => encodeGroups(videoLadder(config, subject), config.transcoding.firstRungSeparately || subject.ladderMode === 'per-title');

function encodeUnits(videoId: string, groups: string[][], chunks: { index: number; range: Range }[]): PlannedUnit[] {
  return groups.flatMap((rungs) => chunks.map((c) => ({ message: { type: 'encode' as const, videoId, rungs, chunk: c.index }, range: c.range })));
}

/** What analysis plans, and the per-title decision it can already make (a ladder the probe cannot improve). */
export function planAfterAnalysis(config: Config, videoId: string, subject: LadderSubject, duration: number): { units: PlannedUnit[]; decision: ReturnType<typeof decisionWithoutProbe> } {
  const t = config.transcoding;
  const decision = subject.decision ?? decisionWithoutProbe(config, subject);
  const ready = { ...subject, decision };
  const groups = groupsOf(config, ready);
  const chunks = planChunks(duration, t.chunkSec, t.segmentDurationSec).map((c) => ({ index: c.index, range: { start: c.startSec, end: c.endSec } }));
  const units: PlannedUnit[] = [{ message: { type: 'audio', videoId } }];
  if (awaitsProbe(ready)) {
    units.push(...encodeUnits(videoId, groups.slice(0, 1), chunks), { message: { type: 'ladder', videoId } });
  } else {
    units.push(...encodeUnits(videoId, groups, chunks));
  }
  units.push({ message: { type: 'thumbnails', videoId } });
  return { units, decision };
}

/** The encode units that waited for the probe: every group but the first, over the first group's chunk ranges. */
export function planAfterProbe(config: Config, videoId: string, subject: LadderSubject, rows: { unit: string; rangeStart: number | null; rangeEnd: number | null }[]): PlannedUnit[] {
  const groups = groupsOf(config, subject);
  const first = groups[0]!.join('+');
  const chunks = rows
    .map((r) => ({ unit: parseEncodeUnit(r.unit), r }))
    .filter((x) => x.unit !== null && x.unit.rungs.join('+') === first)
    .map((x) => ({ index: x.unit!.chunk, range: { start: x.r.rangeStart ?? 0, end: x.r.rangeStart === null ? null : x.r.rangeEnd } }))
    .sort((a, b) => a.index - b.index);
  return encodeUnits(videoId, groups.slice(1), chunks);
}

/** Rows for every planned unit, then a message for each one not already completed. */
export async function sendPlanned(env: Env, db: Db, videoId: string, units: PlannedUnit[]): Promise<void> {
  await ensureJobs(db, videoId, units.map((u) => ({ unit: unitOf(u.message), range: u.range })));
  const done = await completedUnits(db, videoId);
  await enqueueTranscode(env, units.filter((u) => !done.has(unitOf(u.message))).map((u) => u.message));
}

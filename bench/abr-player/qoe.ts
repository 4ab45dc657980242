/** QoE_lin of one real playback, computed from the player's own events (page.ts), with the simulator's weights. */
import { linearQoeParts, qoeLin } from '../../abr/lab/sim/simulator';
import type { PlayerRun } from './page';

export interface PlayerQoe {
  qoeLin: number;
  startupSec: number;
  rebufferSec: number;
  stalls: number;
  avgBitrateMbps: number;
  firstBitrateMbps: number;
  switches: number;
  /** Rung (0 = lowest) of each played segment, in order. */
  levels: number[];
  segments: number;
}

/**
 * - Played segments: the level of each fragment the playhead entered (FRAG_CHANGED, last one per sequence number);
 *   a fragment the playhead never reported falls back to the level it was loaded at.
 * - Startup: loadSource → first `playing`. Stalls: every `waiting` → `playing` after that.
 * - Bitrate of a segment: the nominal bitrate of its rung (`nominalBps[rank]`), as in the simulator.
 */
export function playerQoe(run: PlayerRun, nominalBps: readonly number[], segmentCount: number): PlayerQoe {
  // hls level index → rank by bitrate (hls.js keeps the master's order, which may not be ascending).
  const order = run.bitrates.map((_, i) => i).sort((a, b) => (run.bitrates[a] ?? 0) - (run.bitrates[b] ?? 0));
  const rankOf = (level: number): number => Math.max(0, order.indexOf(level));
  const bySn = new Map<number, number>();
  for (const f of run.loaded) bySn.set(f.sn, f.level);
  const playedBySn = new Map<number, number>();
  for (const p of run.played) playedBySn.set(p.sn, p.level);
  const levels: number[] = [];
  for (let sn = 0; sn < segmentCount; sn++) {
    const level = playedBySn.get(sn) ?? bySn.get(sn);
    if (level !== undefined) levels.push(rankOf(level));
  }
  const firstPlaying = run.media.find((m) => m.type === 'playing');
  const startupSec = firstPlaying ? firstPlaying.t : run.end;
  let rebufferSec = 0;
  let stalls = 0;
  let waitingAt: number | null = null;
  for (const m of run.media) {
    if (!firstPlaying || m.t < firstPlaying.t) continue;
    if (m.type === 'waiting' && waitingAt === null) waitingAt = m.t;
    if (m.type === 'playing' && waitingAt !== null) {
      rebufferSec += m.t - waitingAt;
      stalls++;
      waitingAt = null;
    }
  }
  // A stall still open when the run ended (timeout) counts up to the end.
  if (waitingAt !== null && run.reason !== 'ended') rebufferSec += run.end - waitingAt;
  const { mbps, quality, changeSum, switches } = linearQoeParts(levels, nominalBps);
  return {
    qoeLin: qoeLin(quality, changeSum, startupSec, rebufferSec),
    startupSec,
    rebufferSec,
    stalls,
    avgBitrateMbps: mbps.length ? quality / mbps.length : 0,
    firstBitrateMbps: mbps[0] ?? 0,
    switches,
    levels,
    segments: levels.length,
  };
}

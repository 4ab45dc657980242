import { capLevel, type AbrController, type AbrStream } from '../../types';

/**
 * BBA-0 (Huang et al., "A Buffer-Based Approach to Rate Adaptation", SIGCOMM 2014): the rate is a function of the
 * buffer only. Below the reservoir r: lowest rung; above r + cushion c: highest; in between a line from R_min to
 * R_max, with hysteresis (move up only when the map passes the next rung up, down only when it falls below the next
 * rung down). The paper's 240 s buffer used r = 90 s, c = 126 s; scaled to a player that holds `maxBufferSec`:
 * r = max(one segment, 20 % of the buffer), c = 50 % of the buffer (30 s buffer → r = 6 s, c = 15 s).
 */
export function bbaParams(stream: AbrStream): { reservoirSec: number; cushionSec: number } {
  return {
    reservoirSec: Math.max(stream.segmentDurationSec, 0.2 * stream.maxBufferSec),
    cushionSec: 0.5 * stream.maxBufferSec,
  };
}

export function createBbaController(stream: AbrStream): AbrController {
  const { reservoirSec, cushionSec } = bbaParams(stream);
  const rates = stream.bitrates;
  return {
    name: 'bba',
    chooseLevel(decision) {
      const top = capLevel(stream, decision);
      const rMin = rates[0] ?? 0;
      const rMax = rates[top] ?? rMin;
      const b = decision.bufferSec;
      if (b < reservoirSec) return 0;
      if (b >= reservoirSec + cushionSec) return top;
      const mapped = rMin + ((rMax - rMin) * (b - reservoirSec)) / cushionSec;
      const prev = Math.min(Math.max(decision.lastLevel, 0), top);
      const up = Math.min(prev + 1, top);
      const down = Math.max(prev - 1, 0);
      if (mapped >= (rates[up] ?? Infinity) && up !== prev) {
        // max{R_i : R_i < f(B)}
        let level = prev;
        for (let i = top; i > prev; i--) if ((rates[i] ?? Infinity) < mapped) { level = i; break; }
        return level;
      }
      if (mapped <= (rates[down] ?? 0) && down !== prev) {
        // min{R_i : R_i > f(B)}
        for (let i = 0; i < prev; i++) if ((rates[i] ?? 0) > mapped) return i;
        return prev;
      }
      return prev;
    },
    onDownloaded() {},
    bandwidthEstimate: () => null,
  };
}

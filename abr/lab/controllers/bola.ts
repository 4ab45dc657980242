import { capLevel, type AbrController, type AbrStream } from '../../types';

/**
 * BOLA-BASIC (Spiteri, Urgaonkar, Sitaraman, "BOLA: Near-Optimal Bitrate Adaptation for Online Videos", INFOCOM
 * 2016), with V and γ derived from the buffer size the way dash.js's BolaRule does:
 *   utility v_m = ln(R_m / R_0) + 1 (so the lowest rung has utility 1),
 *   bufferTime = max(stableBuffer, 10 s + 2 s × rungs),
 *   γp = (v_max − 1) / (bufferTime / 10 s − 1),  Vp = 10 s / γp,
 * and picks argmax_m (Vp (v_m + γp) − Q) / R_m with Q the buffer in seconds. This makes BOLA prefer the lowest rung
 * at 10 s of buffer and the highest at bufferTime. stableBuffer is the level at which our player requests the next
 * segment (maxBuffer − one segment). Pure buffer rule: throughput is not used (that is BOLA-BASIC, not dash.js's
 * DYNAMIC mix).
 */
export const BOLA_MIN_BUFFER_SEC = 10;
export const BOLA_BUFFER_PER_LEVEL_SEC = 2;

export function bolaParams(stream: AbrStream): { utilities: number[]; vp: number; gp: number } {
  const first = stream.bitrates[0] ?? 1;
  const utilities = stream.bitrates.map((b) => Math.log(b / first) + 1);
  const stableBuffer = stream.maxBufferSec - stream.segmentDurationSec;
  const bufferTime = Math.max(stableBuffer, BOLA_MIN_BUFFER_SEC + BOLA_BUFFER_PER_LEVEL_SEC * stream.bitrates.length);
  const top = utilities[utilities.length - 1] ?? 1;
  const gp = (top - 1) / (bufferTime / BOLA_MIN_BUFFER_SEC - 1);
  const vp = BOLA_MIN_BUFFER_SEC / gp;
  return { utilities, vp, gp };
}

export function createBolaController(stream: AbrStream): AbrController {
  const { utilities, vp, gp } = bolaParams(stream);
  return {
    name: 'bola',
    chooseLevel(decision) {
      const top = capLevel(stream, decision);
      let best = 0;
      let bestScore = -Infinity;
      for (let m = 0; m <= top; m++) {
        const score = (vp * ((utilities[m] ?? 0) + gp) - decision.bufferSec) / (stream.bitrates[m] ?? 1);
        if (score >= bestScore) {
          bestScore = score;
          best = m;
        }
      }
      return best;
    },
    onDownloaded() {},
    bandwidthEstimate: () => null,
  };
}

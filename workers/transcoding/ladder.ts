/**
 * Which rungs a source gets, and their exact output sizes.
 *
 * Business rules:
 * - Never upscale: a rung is kept when its height is at most the source's *short* side. A rung's "height" is the
 *   short side, so a 1080×1920 portrait phone video is a 1080p source and gets 1080p (1080×1920) … 240p (240×426).
 * - A source smaller than the lowest rung (e.g. 200p) still gets one playable rung: the lowest rung's name and
 *   bitrate at the source's own size.
 * - Aspect ratio is kept; both dimensions are even (H.264 4:2:0 needs even sizes).
 * - Rate control is the production design's: -b:v target, -maxrate 1.5×, -bufsize 2×.
 */
import type { Rung } from '../shared/config';
import type { RungSpec } from '../../containers/transcoder/src/protocol';

/** A rung as planned here; the consumer adds its storage prefix to make the transcoder's `RungSpec` (types only). */
export type PlannedRung = Omit<RungSpec, 'outputPrefix'>;

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);
const evenFloor = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

export function planLadder(
  ladder: readonly Rung[],
  sourceWidth: number,
  sourceHeight: number,
  factors: { maxrateFactor: number; bufsizeFactor: number } = { maxrateFactor: 1.5, bufsizeFactor: 2 },
): PlannedRung[] {
  if (ladder.length === 0 || sourceWidth <= 0 || sourceHeight <= 0) return [];
  const portrait = sourceHeight > sourceWidth;
  const short = Math.min(sourceWidth, sourceHeight);
  const long = Math.max(sourceWidth, sourceHeight);
  const sorted = [...ladder].sort((a, b) => a.height - b.height);
  let chosen = sorted.filter((r) => r.height <= short);
  if (chosen.length === 0) chosen = [sorted[0]!];
  return chosen.map((r) => {
    const shortSide = Math.min(r.height, evenFloor(short));
    const longSide = Math.min(even((shortSide * long) / short), evenFloor(long));
    return {
      name: r.name,
      width: portrait ? shortSide : longSide,
      height: portrait ? longSide : shortSide,
      bitrate: r.bitrate,
      maxrate: Math.round(r.bitrate * factors.maxrateFactor),
      bufsize: Math.round(r.bitrate * factors.bufsizeFactor),
    };
  });
}

/** The encode jobs for a plan: the lowest rung alone (fast first playable), then the rest together (one decode). */
export function encodeGroups(plan: PlannedRung[], firstRungSeparately: boolean): string[][] {
  const names = plan.map((r) => r.name);
  if (!firstRungSeparately || names.length <= 1) return [names];
  return [[names[0]!], names.slice(1)];
}

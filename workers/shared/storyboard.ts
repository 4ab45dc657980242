/**
 * The storyboard's time grid: one tile every `intervalSec` (2 s), spread out so a video never has more than
 * `maxTiles` (400). The transcoder's storyboard (transcoding/units.ts) and the frames at any time (workers/frames,
 * which snap their times to it) share it, so the number of points does not grow with the video's length.
 */
export interface StoryboardSpacing {
  intervalSec: number;
  maxTiles: number;
}

export function storyboardIntervalSec(durationSec: number, spacing: StoryboardSpacing): number {
  return Math.max(spacing.intervalSec, Math.ceil(durationSec / spacing.maxTiles));
}

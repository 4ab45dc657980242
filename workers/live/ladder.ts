/**
 * The live ladder's rules, pure: which lower rungs a broadcast gets, and when the encoder has fallen so far behind
 * that the top rung goes.
 *
 * A broadcast plays the pushed rung as it is (the source rung, never re-encoded) and, below it, the file ladder's
 * rungs (`config.transcoding.ladder`, the same sizes and bitrates, never upscaled), each made from every pushed
 * segment by the transcoder (containers/transcoder/src/live.ts) under the same segment numbers.
 *
 * Keeping up: the segments published but not yet encoded are the backlog. When more than `maxBacklogSegments` of
 * them are newer than the last drop, the top transcoded rung still encoding is dropped, for the rest of the
 * broadcast: its playlist goes on listing every segment from that one as `EXT-X-GAP` (a player on it switches to
 * another rung at the next segment, without a failed request), and the recording leaves it out. One drop per episode of falling behind: the next drop counts only segments
 * published after this one, so a backlog that the cheaper ladder then works off costs one rung, not all of them.
 * The source rung is never dropped: the stream plays whatever the transcoder does.
 */
import type { Config } from '../shared/config';
import { planLadder, type PlannedRung } from '../transcoding/ladder';

/** The transcoded rungs of a broadcast of `width`×`height` published as `sourceRung`: the ladder below it. */
export function liveLadder(config: Config, width: number, height: number, sourceRung: string): PlannedRung[] {
  if (!config.live.ladder.enabled) return [];
  const short = Math.min(width, height);
  return planLadder(config.transcoding.ladder, width, height, config.transcoding).filter((r) => r.name !== sourceRung && Math.min(r.width, r.height) < short);
}

/**
 * Whether to drop the top rung before encoding the oldest pending segment: `pending` are the published segments
 * not encoded yet (seq numbers), `lastDrop` the newest seq that was pending when a rung was last dropped (-1: none).
 */
export function shouldDrop(pending: readonly number[], lastDrop: number, maxBacklog: number): boolean {
  return pending.filter((seq) => seq > lastDrop).length > maxBacklog;
}

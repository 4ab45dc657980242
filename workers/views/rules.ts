/**
 * What counts as a view. Pure functions: the route parses and validates, the shard deduplicates.
 *
 * Business rule (the seed's `isValidView`): a view counts when the viewer watched at least 30 s, or at least 50% of
 * a video shorter than 60 s. For a video of 60 s or more, 50% is already ≥ 30 s, so the threshold is
 * min(30 s, 50% of the duration). The duration used is the one ffprobe stored for the video when known: the client's
 * `videoDuration` is only trusted for videos not yet analysed, and a client duration that disagrees with the stored
 * one is refused (400), since lowering it would turn a 16 s peek at a 10 min video into a "50%" view.
 * A watch longer than the video plus slack (seek-backs, buffering) is not a real watch and is refused too.
 */
import type { Config } from '../shared/config';
import { badRequest } from '../shared/errors';

export interface ViewEvent {
  /** From the body, or the first-party `evv` cookie; null when neither was given. */
  viewerId: string | null;
  watchDuration: number;
  videoDuration: number | null;
}

export type ViewVerdict = { valid: true; duration: number | null } | { valid: false; reason: 'too_short' };

const VIEWER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const FIELDS = new Set(['viewerId', 'watchDuration', 'videoDuration']);

export const isValidViewerId = (value: string): boolean => VIEWER_ID.test(value);

/** Validates the shape of a view event body; 400 with the reason otherwise. */
export function parseViewEvent(body: Record<string, unknown>): ViewEvent {
  const extra = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (extra.length) throw badRequest(`unknown field(s): ${extra.join(', ')}`);
  let viewerId: string | null = null;
  if (body.viewerId !== undefined && body.viewerId !== null) {
    if (typeof body.viewerId !== 'string' || !isValidViewerId(body.viewerId)) {
      throw badRequest('viewerId must be 1-128 characters of letters, digits and _ . : @ -');
    }
    viewerId = body.viewerId;
  }
  const watch = body.watchDuration;
  if (typeof watch !== 'number' || !Number.isFinite(watch) || watch < 0) {
    throw badRequest('watchDuration must be a finite number of seconds ≥ 0');
  }
  let videoDuration: number | null = null;
  if (body.videoDuration !== undefined && body.videoDuration !== null) {
    const d = body.videoDuration;
    if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) {
      throw badRequest('videoDuration must be a finite number of seconds > 0');
    }
    videoDuration = d;
  }
  return { viewerId, watchDuration: watch, videoDuration };
}

/** The duration to judge against: stored beats client; a client value far from the stored one is a 400. */
export function effectiveDuration(event: ViewEvent, storedDuration: number | null, config: Config): number | null {
  if (storedDuration === null || !(storedDuration > 0)) return event.videoDuration;
  if (event.videoDuration !== null) {
    const tolerance = Math.max(config.views.durationToleranceSeconds, storedDuration * config.views.durationToleranceFraction);
    if (Math.abs(event.videoDuration - storedDuration) > tolerance) {
      throw badRequest(`videoDuration ${event.videoDuration} does not match the video's duration ${storedDuration}`);
    }
  }
  return storedDuration;
}

/** Refuses watch durations that cannot be real (400); otherwise judges the view by the seed's rule. */
export function judgeView(event: ViewEvent, duration: number | null, config: Config): ViewVerdict {
  const v = config.views;
  const maxWatch =
    duration === null ? v.maxWatchSeconds : duration + Math.max(v.watchSlackSeconds, duration * v.watchSlackFraction);
  if (event.watchDuration > maxWatch) {
    throw badRequest(`watchDuration ${event.watchDuration} is longer than the video allows (${Math.floor(maxWatch)} s)`);
  }
  const threshold =
    duration !== null && duration < v.shortVideoSeconds
      ? Math.min(v.minWatchSeconds, duration * v.shortVideoFraction)
      : v.minWatchSeconds;
  return event.watchDuration >= threshold ? { valid: true, duration } : { valid: false, reason: 'too_short' };
}

/**
 * What counts as a view. Pure functions: the route validates the body (schemas.ts), the shard deduplicates.
 *
 * Business rule (views are evidence of playback): a beacon counts only with a valid playback session for this
 * video (playback-session.ts), a claimed watch no longer than the time since that session started (plus
 * `sessionSkewSec`: nobody watches 30 s in 2 s), a video that has something playable (READY or PROCESSING with a
 * finished rendition) and a stored duration, and a session that has not counted a view yet (the shard enforces
 * that, next to the per-viewer 30-minute dedup). Without a stored duration nothing has been analysed, so nothing
 * can have been played: the client's `videoDuration` alone is never trusted.
 *
 * The view rule (the production design's `isValidView`): a view counts when the viewer watched at least 30 s, or at least 50% of
 * a video shorter than 60 s. For a video of 60 s or more, 50% is already ≥ 30 s, so the threshold is
 * min(30 s, 50% of the duration). The duration used is the one ffprobe stored for the video when known: the client's
 * `videoDuration` is only trusted for videos not yet analysed, and a client duration that disagrees with the stored
 * one is refused (400), since lowering it would turn a 16 s peek at a 10 min video into a "50%" view.
 * A watch longer than the video plus slack (seek-backs, buffering) is not a real watch and is refused too.
 *
 * A live broadcast (a video recording a live input, PROCESSING while it is live) has no duration yet: it is
 * playable once its rung has a segment, and a view counts after 30 s of watching; the session's age bounds the
 * watch, and the client's `videoDuration` (the live window) is not used.
 */
import type { Config } from '../shared/config';
import { badRequest } from '../shared/errors';

/** A viewer id as clients send it (or the `evv` cookie holds it). */
export const VIEWER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

export interface ViewEvent {
  /** From the body, or the first-party `evv` cookie; null when neither was given. */
  viewerId: string | null;
  watchDuration: number;
  videoDuration: number | null;
  /** The playback session token from `GET /v1/videos/:id/playback`; null when the beacon has none. */
  session: string | null;
}

export type ViewVerdict = { valid: true; duration: number | null } | { valid: false; reason: 'too_short' };

export const isValidViewerId = (value: string): boolean => VIEWER_ID.test(value);

/** Something is playable: READY, or PROCESSING with at least one finished rendition, and a stored duration. */
export function hasPlayable(status: string, renditionCount: number, storedDuration: number | null): storedDuration is number {
  if (storedDuration === null || !(storedDuration > 0)) return false;
  return status === 'READY' || (status === 'PROCESSING' && renditionCount > 0);
}

/** A claim of more watching than the session has existed for (plus skew) is not a real watch. */
export function watchFitsSession(watchDuration: number, sessionStartMs: number, nowMs: number, skewSec: number): boolean {
  return watchDuration <= (nowMs - sessionStartMs) / 1000 + skewSec;
}

/** What a beacon's video is judged against: not playable, or playable with the duration to use (null: live). */
export type PlayableFacts = { playable: false } | { playable: true; duration: number | null };

export function playableFacts(
  video: { status: string; duration: number | null; liveInputId: string | null },
  renditionCount: number,
  event: ViewEvent,
  config: Config,
): PlayableFacts {
  if (video.liveInputId !== null && video.status === 'PROCESSING') return renditionCount > 0 ? { playable: true, duration: null } : { playable: false };
  if (!hasPlayable(video.status, renditionCount, video.duration)) return { playable: false };
  return { playable: true, duration: effectiveDuration(event, video.duration, config) };
}

/** The duration to judge against: the stored one; a client value far from it is a 400. */
export function effectiveDuration(event: ViewEvent, storedDuration: number, config: Config): number {
  if (event.videoDuration !== null) {
    const tolerance = Math.max(config.views.durationToleranceSeconds, storedDuration * config.views.durationToleranceFraction);
    if (Math.abs(event.videoDuration - storedDuration) > tolerance) {
      throw badRequest(`videoDuration ${event.videoDuration} does not match the video's duration ${storedDuration}`);
    }
  }
  return storedDuration;
}

/** Refuses watch durations that cannot be real (400); otherwise judges the view by the view rule. */
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

/**
 * Which videos the transcode units work on: those PROCESSING, and one unit after READY, a live recording's
 * storyboard. A recording is READY as soon as its broadcast ends (its rungs are the live segments, nothing to
 * encode); its storyboard sprites are then made from its lowest rung (units.ts), and it plays meanwhile.
 * The consumer, the callback route and the sweeper all ask here, so the rule has one place.
 */
import { and, eq, isNotNull, or, type SQL } from 'drizzle-orm';
import { schema } from '../shared/db';
import type { VideoRow } from '../metadata/serialize';

/** The one unit that runs after READY, and only for a live recording. */
const AFTER_READY_UNIT = 'thumbnails';

export function isWorkedOn(video: Pick<VideoRow, 'status' | 'liveInputId'>, unit: string): boolean {
  return video.status === 'PROCESSING' || (video.status === 'READY' && video.liveInputId !== null && unit === AFTER_READY_UNIT);
}

/** `isWorkedOn` as a condition over `videos` joined with `transcode_jobs`. */
export function workedOnCondition(): SQL {
  return or(
    eq(schema.videos.status, 'PROCESSING'),
    and(eq(schema.videos.status, 'READY'), isNotNull(schema.videos.liveInputId), eq(schema.transcodeJobs.unit, AFTER_READY_UNIT)),
  )!;
}

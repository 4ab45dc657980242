/**
 * Retention of uploaded originals (ORIGINAL_RETENTION_DAYS; unset: kept while the video lives). The 5-minute cron
 * deletes the original of every uploaded video that has been READY longer than the retention, at most
 * `originals.deletedPerRun` per run. What plays stays: the rungs, audio, captions, thumbnails, downloads and
 * everything cut from segments (frames, clips, MP4 downloads remuxed from the segments). What needs the original is
 * refused from then on: re-encoding a rendition (`POST …/renditions/:name/retry`, 409 `original_deleted`); an MP4
 * download whose remux fails has no encode to fall back to. Clips and live recordings have no original of their own.
 *
 * Order: the row is marked first (a compare-and-set on READY, so a retry that took the video back to PROCESSING
 * keeps its original; the state machine's `reprocess` move in turn refuses a marked video, so a retry cannot win
 * after the mark), then the bytes are deleted; a failed deletion unmarks the row and the next run tries again.
 */
import { and, asc, eq, isNull, lte } from 'drizzle-orm';
import type { Config } from '../shared/config';
import { schema, type Db } from '../shared/db';
import { logEvent } from '../shared/log';
import { deleteOriginalFile } from '../shared/original';
import { recountStoredBytes } from '../usage/stored';
import { invalidateVideo } from '../metadata/cache';
import { markOriginalsDeleted, unmarkOriginalDeleted } from '../metadata/repo';

const videos = schema.videos;

/** The cron's part: deletes the originals whose retention is over; returns how many. */
export async function deleteExpiredOriginals(env: Pick<Env, 'MEDIA'>, db: Db, config: Config, now: number): Promise<number> {
  const retentionMs = config.originals.retentionMs;
  if (retentionMs === null) return 0;
  const due = await db
    .select({ id: videos.id })
    .from(videos)
    .where(and(isNull(videos.originalDeletedAt), eq(videos.status, 'READY'), lte(videos.readyAt, now - retentionMs), isNull(videos.clipOf), isNull(videos.liveInputId)))
    .orderBy(asc(videos.readyAt))
    .limit(config.originals.deletedPerRun)
    .all();
  const marked = await markOriginalsDeleted(db, due.map((v) => v.id), now);
  let deleted = 0;
  for (const id of marked) {
    await invalidateVideo(id);
    try {
      await deleteOriginalFile(env.MEDIA, id);
      await recountStoredBytes(env, db, id);
      deleted++;
    } catch (err) {
      await unmarkOriginalDeleted(db, id);
      await invalidateVideo(id);
      logEvent('warn', 'original.retention_failed', { videoId: id, error: String(err) });
    }
  }
  if (deleted > 0) logEvent('info', 'original.retention', { deleted, retentionDays: retentionMs / 86_400_000 });
  return deleted;
}

/**
 * The leased-work state machine shared by transcode units and MP4 downloads (workers/shared/leased-work.ts),
 * through each table's own repository: a lapsed lease is taken over, a run that was taken over can no longer
 * heartbeat, release or complete, and a deleted video's unfinished rows are cancelled.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../workers/shared/leased-work';
import { openDb } from '../../workers/shared/db';
import { setRuntime } from '../../workers/shared/runtime';
import { cancelJobsOfVideo, claimJob, completeClaim, getJob, releaseJob, reportProgress } from '../../workers/transcoding/jobs';
import { cancelDownloadsOfVideo, claimDownload, completeDownload, getDownload, requestDownload } from '../../workers/downloads/repo';
import { newCreator, newVideo } from './helpers';

const LEASE = 60_000;

async function freshVideo(): Promise<string> {
  const { token } = await newCreator();
  return (await newVideo(token)).id;
}

describe('leased work', () => {
  it('a lapsed lease is taken over; the old run can no longer heartbeat, release or complete', async () => {
    const db = openDb(env.DB);
    const id = await freshVideo();
    let now = 1_000_000;
    const restore = setRuntime({ now: () => now });
    try {
      const first = await claimJob(db, id, 'audio', LEASE);
      expect(first.status).toBe('claimed');
      const busy = await claimJob(db, id, 'audio', LEASE);
      expect(busy).toEqual({ status: 'busy', leaseRemainingMs: LEASE });

      now += LEASE + 1; // the first run's worker died: its heartbeats stopped
      const second = await claimJob(db, id, 'audio', LEASE);
      expect(second.status).toBe('claimed');
      if (first.status !== 'claimed' || second.status !== 'claimed') throw new Error('unreachable');
      expect(second.job.attempts).toBe(2);

      expect(await reportProgress(db, first.job, 0.5, LEASE)).toBe(false);
      await releaseJob(db, first.job, 'late error of the old run');
      expect(await completeClaim(db, first.job, { late: true })).toBe(false);
      expect((await getJob(db, id, 'audio'))!.status).toBe('PROCESSING');

      expect(await reportProgress(db, second.job, 0.5, LEASE)).toBe(true);
      expect(await completeClaim(db, second.job, { segmentDurations: [6] })).toBe(true);
      expect(await completeClaim(db, second.job, { segmentDurations: [6] })).toBe(false); // counted once
      const done = (await getJob(db, id, 'audio'))!;
      expect(done).toMatchObject({ status: 'COMPLETED', progress: 1, error: null });
      expect(JSON.parse(done.result!)).toEqual({ segmentDurations: [6] });
      expect(await claimJob(db, id, 'audio', LEASE)).toEqual({ status: 'completed' });
    } finally {
      restore();
    }
  });

  it('downloads share the discipline: a taken-over run cannot complete', async () => {
    const db = openDb(env.DB);
    const id = await freshVideo();
    let now = 2_000_000;
    const restore = setRuntime({ now: () => now });
    try {
      await requestDownload(db, id, '360p');
      const first = await claimDownload(db, id, '360p', LEASE);
      now += LEASE + 1;
      const second = await claimDownload(db, id, '360p', LEASE);
      if (first.status !== 'claimed' || second.status !== 'claimed') throw new Error(`claims: ${first.status}, ${second.status}`);
      expect(await completeDownload(db, first.row, { method: 'remux', size: 1, duration: 1 })).toBe(false);
      expect(await completeDownload(db, second.row, { method: 'remux', size: 10, duration: 8 })).toBe(true);
      expect(await getDownload(db, id, '360p')).toMatchObject({ status: 'COMPLETED', size: 10, attempts: 2 });
    } finally {
      restore();
    }
  });

  it('cancelling a deleted video ends its unfinished rows and leaves finished ones', async () => {
    const db = openDb(env.DB);
    const id = await freshVideo();
    const running = await claimJob(db, id, 'encode:240p@0', LEASE);
    await claimJob(db, id, 'audio', LEASE).then((c) => (c.status === 'claimed' ? completeClaim(db, c.job, {}) : null));
    await requestDownload(db, id, '240p');
    expect(running.status).toBe('claimed');
    expect(await cancelJobsOfVideo(db, id)).toBe(1);
    expect(await cancelDownloadsOfVideo(db, id)).toBe(1);
    expect((await getJob(db, id, 'encode:240p@0'))!).toMatchObject({ status: 'CANCELLED', leaseUntil: null });
    expect((await getJob(db, id, 'audio'))!.status).toBe('COMPLETED');
    expect((await getDownload(db, id, '240p'))!.status).toBe('CANCELLED');
    // A cancelled row is never claimed again.
    expect(await claimJob(db, id, 'encode:240p@0', LEASE)).toEqual({ status: 'failed' });
  });

  it('backoff doubles from the base and stops at the ceiling', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffSeconds(a, 5, 60))).toEqual([5, 10, 20, 40, 60]);
    expect(backoffSeconds(0, 5, 60)).toBe(5);
  });
});

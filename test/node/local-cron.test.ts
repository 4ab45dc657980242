/**
 * `npm start`'s cron firing, for real: `wrangler dev --test-scheduled` (as scripts/start.ts runs it, with the
 * [assets] section of wrangler.toml) and scripts/local-cron.ts. The hourly cron must flush a view-counter shard whose
 * own end-of-hour alarm never ran (its pending row is aged in D1: wrangler dev's `/__scheduled` cannot run the
 * cron at another time, and the Worker's clock is the machine's). The old way (`/cdn-cgi/handler/scheduled`) answers
 * 500 with [assets]. The 5-minute cron deletes originals past their retention (ORIGINAL_RETENTION_DAYS=0 here).
 */
import { execFile, execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRONS, fireCron } from '../../scripts/local-cron';
import { ROOT, stackFetch, startStack, type Stack } from '../helpers/local-stack';
import { createVideo, listObjects, publishTranscoded } from '../helpers/transcoding-media';

/**
 * Puts an object into the stack's local R2 bucket, as wrangler's own CLI does. Asynchronous: a blocked event loop
 * would not see wrangler dev close the test's idle keep-alive sockets, and the next request would meet a dead one.
 */
async function r2Put(stack: Stack, key: string, file: string): Promise<void> {
  await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'wrangler'), ['r2', 'object', 'put', `edge-video-media/${key}`, '--local', '--persist-to', stack.stateDir, '--file', file], {
    cwd: ROOT,
    env: { ...process.env, CI: '1' },
  });
}

function d1(stack: Stack, sql: string): Record<string, unknown>[] {
  const out = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'wrangler'), ['d1', 'execute', 'DB', '--local', '--persist-to', stack.stateDir, '--json', '--command', sql], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as { results: Record<string, unknown>[] }[])[0]!.results;
}

describe('local cron triggers (npm start)', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A view needs a playback session and at least this much watching (docs/views.md); 1 s keeps the test short.
    // BENCH_ROUTES: the video is made READY through /internal/bench/videos/:id/transcoded.
    // ORIGINAL_RETENTION_DAYS=0: the 5-minute cron deletes the original of every READY video.
    stack = await startStack({ testScheduled: true, vars: { VIEWS_MIN_WATCH_SECONDS: '1', BENCH_ROUTES: '1', ORIGINAL_RETENTION_DAYS: '0' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('runs both schedules through the Worker’s own scheduled handler', async () => {
    for (const cron of CRONS) await expect(fireCron(stack.origin, cron.expr)).resolves.toBeUndefined();
    // What the previous local firing used: broken with [assets] in this wrangler version, hence the route above.
    expect((await fetch(`${stack.origin}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('0 * * * *')}`)).status).toBe(500);
  });

  it('deletes the original of a READY video past its retention, and the video still plays', async () => {
    const id = await createVideo(stack, 'cron retention');
    await publishTranscoded(stack.origin, id, { width: 426, height: 240, duration: 12, segmentSec: 4 });
    const file = path.join(os.tmpdir(), `cron-original-${process.pid}.bin`);
    writeFileSync(file, new Uint8Array(4096));
    try {
      await r2Put(stack, `originals/${id}/original`, file);
    } finally {
      rmSync(file, { force: true });
    }
    expect((await listObjects(stack, `originals/${id}/`)).map((o) => o.key)).toEqual([`originals/${id}/original`]);
    await fireCron(stack.origin, '*/5 * * * *');
    expect(await listObjects(stack, `originals/${id}/`)).toEqual([]);
    expect(d1(stack, `SELECT status, original_deleted_at IS NOT NULL AS deleted FROM videos WHERE id = '${id}'`)[0]).toEqual({ status: 'READY', deleted: 1 });
    expect((await stackFetch(`${stack.origin}/v1/videos/${id}/playback`)).status).toBe(200);
  });

  it('flushes a view-counter shard whose end-of-hour alarm never ran', async () => {
    const id = await createVideo(stack, 'cron flush');
    // Playable without a transcode: READY from given transcode results, through the platform's own writers.
    await publishTranscoded(stack.origin, id, { width: 426, height: 240, duration: 120, segmentSec: 4 });
    // The view must not be made in the last minute of an hour: its shard's own alarm (end of the hour, plus up to a
    // minute of jitter) would flush it during the test. Near the end of an hour, the test waits for the next one.
    const leftInHour = 3_600_000 - (Date.now() % 3_600_000);
    if (leftInHour < 60_000) await new Promise((r) => setTimeout(r, leftInHour + 1000));
    const playback = await fetch(`${stack.origin}/v1/videos/${id}/playback`);
    expect(playback.status).toBe(200);
    const { session } = (await playback.json()) as { session: string };
    await new Promise((r) => setTimeout(r, 1500)); // watched 1.5 s of the session's life: a view at the 1 s rule
    const view = await fetch(`${stack.origin}/v1/videos/${id}/views`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ viewerId: 'viewer-cron-1', watchDuration: 1.5, videoDuration: 120, session }),
    });
    expect(await view.json()).toMatchObject({ counted: true });
    // The video's count and its pending shards, in one query (each `wrangler d1 execute` is a process of its own).
    const counts = () => d1(stack, `SELECT view_count, (SELECT COUNT(*) FROM view_pending_shards WHERE video_id = '${id}') AS pending FROM videos WHERE id = '${id}'`)[0];
    // Not counted yet; the shard registered its pending delta, and its alarm is an hour away: a cron run now leaves it alone.
    expect(counts()).toEqual({ view_count: 0, pending: 1 });
    await fireCron(stack.origin, '0 * * * *');
    expect(counts()).toEqual({ view_count: 0, pending: 1 });

    // Pretend its hour ended long ago and its alarm kept failing: the next run flushes it.
    d1(stack, `UPDATE view_pending_shards SET pending_since = 0 WHERE video_id = '${id}'`);
    await fireCron(stack.origin, '0 * * * *');
    expect(counts()).toEqual({ view_count: 1, pending: 0 });
  });
});

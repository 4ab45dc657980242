/**
 * Retention of uploaded originals (ORIGINAL_RETENTION_DAYS): the cron's pass deletes the original of a video READY
 * for longer than the retention (either shape: an object, or a composite's manifest and parts) and nothing else (the
 * rungs, an extra audio track's file), records when, recounts the stored bytes, and leaves alone what is not due,
 * or not READY, and everything under the default (kept); a deletion R2 refuses is tried again by the next run. A
 * rendition retry of such a video is refused with its own code.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/shared/config';
import { openDb, schema } from '../../workers/shared/db';
import { setRuntime } from '../../workers/shared/runtime';
import { writeCompositeOriginal } from '../../workers/shared/original';
import { recordSourceFacts } from '../../workers/metadata/repo';
import { reprocessVideo } from '../../workers/metadata/video-state';
import { deleteExpiredOriginals } from '../../workers/uploads/original-retention';
import { api, moveVideoTo, newCreator, newVideo } from './helpers';

const DAY = 86_400_000;
let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

type VideoBody = { originalDeletedAt: string | null };
type ErrorBody = { error: { code: string; message: string } };

const keysUnder = async (prefix: string) => (await env.MEDIA.list({ prefix })).objects.map((o) => o.key).sort();

/** A video that became READY at `readyAt`, with an original of `size` bytes, a segment and an extra audio track's file. */
async function readyVideo(token: string, readyAt: number, original: 'object' | 'composite' = 'object') {
  const { id } = await newVideo(token);
  if (original === 'object') await env.MEDIA.put(`originals/${id}/original`, new Uint8Array(1000));
  else {
    const parts = [`uploads/${id}p1/n1/data`, `uploads/${id}p2/n2/data`];
    for (const key of parts) await env.MEDIA.put(key, new Uint8Array(500));
    await writeCompositeOriginal(env.MEDIA, id, { version: 1, uploadId: 'etag', size: 1000, contentType: 'video/mp4', parts: parts.map((key) => ({ key, size: 500 })) });
  }
  await env.MEDIA.put(`originals/${id}/audio_fr`, new Uint8Array(200));
  await env.MEDIA.put(`videos/${id}/240p/segment_0000.ts`, new Uint8Array(300));
  await recordSourceFacts(openDb(env.DB), id, { duration: 12, width: 1280, height: 720, rotation: 0, frameRate: 30, hasAudio: true, videoCodec: 'h264', audioCodec: 'aac' });
  restore = setRuntime({ now: () => readyAt });
  await moveVideoTo(id, 'READY');
  restore();
  restore = null;
  return id;
}

describe('retention of originals', () => {
  it('deletes the originals READY longer than the retention, records when, and keeps everything else', async () => {
    const { token } = await newCreator();
    const t0 = Date.now();
    const old = await readyVideo(token, t0 - 31 * DAY);
    const composite = await readyVideo(token, t0 - 40 * DAY, 'composite');
    const recent = await readyVideo(token, t0 - 29 * DAY);
    const processing = (await newVideo(token)).id;
    await env.MEDIA.put(`originals/${processing}/original`, new Uint8Array(1000));
    await moveVideoTo(processing, 'PROCESSING');
    const db = openDb(env.DB);
    const config = loadConfig({ ...env, ORIGINAL_RETENTION_DAYS: '30' });

    // Read once before: the video object is cached, and the deletion must show through the cache.
    const shown = async (id: string) => (await (await api(`/v1/videos/${id}`, { token })).json<VideoBody>()).originalDeletedAt;
    expect(await shown(old)).toBeNull();

    expect(await deleteExpiredOriginals(env, db, config, t0)).toBe(2);
    // The original's own bytes went (the composite's parts and manifest too); the rungs and the audio file stayed.
    expect(await keysUnder(`originals/${old}/`)).toEqual([`originals/${old}/audio_fr`]);
    expect(await keysUnder(`originals/${composite}/`)).toEqual([`originals/${composite}/audio_fr`]);
    expect(await keysUnder(`uploads/${composite}`)).toEqual([]);
    expect(await keysUnder(`videos/${old}/`)).toEqual([`videos/${old}/240p/segment_0000.ts`]);
    // Not due, not READY: untouched.
    expect(await keysUnder(`originals/${recent}/`)).toEqual([`originals/${recent}/audio_fr`, `originals/${recent}/original`]);
    expect(await keysUnder(`originals/${processing}/`)).toEqual([`originals/${processing}/original`]);

    expect(await shown(old)).toBe(new Date(t0).toISOString());
    expect(await shown(recent)).toBeNull();
    // The stored bytes are counted again: the audio file and the segment.
    const stored = await db.select({ id: schema.videos.id, bytes: schema.videos.storedBytes }).from(schema.videos).all();
    expect(stored.find((v) => v.id === old)?.bytes).toBe(500);

    // Nothing more is due now; the recent one goes once its own retention is over.
    expect(await deleteExpiredOriginals(env, db, config, t0)).toBe(0);
    expect(await deleteExpiredOriginals(env, db, config, t0 + 2 * DAY)).toBe(1);
    expect(await keysUnder(`originals/${recent}/`)).toEqual([`originals/${recent}/audio_fr`]);
  });

  it('a deletion that fails leaves the original kept and unmarked, and the next run deletes it', async () => {
    const { token } = await newCreator();
    const t0 = Date.now();
    const id = await readyVideo(token, t0 - 3 * DAY);
    const db = openDb(env.DB);
    const config = loadConfig({ ...env, ORIGINAL_RETENTION_DAYS: '2' });
    // R2 refuses the delete (every other call goes through).
    const failing = new Proxy(env.MEDIA, {
      get(target, prop) {
        if (prop === 'delete') return async () => Promise.reject(new Error('R2 is unavailable'));
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    expect(await deleteExpiredOriginals({ MEDIA: failing }, db, config, t0)).toBe(0);
    expect(await keysUnder(`originals/${id}/`)).toContain(`originals/${id}/original`);
    expect((await (await api(`/v1/videos/${id}`, { token })).json<VideoBody>()).originalDeletedAt).toBeNull();
    expect(await deleteExpiredOriginals(env, db, config, t0)).toBeGreaterThanOrEqual(1);
    expect(await keysUnder(`originals/${id}/`)).toEqual([`originals/${id}/audio_fr`]);
  });

  it('keeps every original when no retention is configured', async () => {
    const { token } = await newCreator();
    const t0 = Date.now();
    const old = await readyVideo(token, t0 - 400 * DAY);
    expect(await deleteExpiredOriginals(env, openDb(env.DB), loadConfig(env), t0)).toBe(0);
    expect(await keysUnder(`originals/${old}/`)).toContain(`originals/${old}/original`);
    expect((await (await api(`/v1/videos/${old}`, { token })).json<VideoBody>()).originalDeletedAt).toBeNull();
  });

  it('a rendition retry of a video whose original was deleted is refused with original_deleted, and nothing is queued', async () => {
    const { token } = await newCreator();
    const t0 = Date.now();
    const id = await readyVideo(token, t0 - 2 * DAY);
    const db = openDb(env.DB);
    const jobsBefore = await env.DB.prepare('SELECT COUNT(*) AS n FROM transcode_jobs WHERE video_id = ?').bind(id).first<{ n: number }>();
    await deleteExpiredOriginals(env, db, loadConfig({ ...env, ORIGINAL_RETENTION_DAYS: '1' }), t0);
    for (const name of ['720p', 'thumbnails']) {
      const res = await api(`/v1/videos/${id}/renditions/${name}/retry`, { method: 'POST', token });
      expect(res.status).toBe(409);
      const body = await res.json<ErrorBody>();
      expect(body.error.code).toBe('original_deleted');
      expect(body.error.message).toMatch(/original was deleted on .*upload the file again/);
    }
    // The state machine refuses the move itself, so a retry that read the row just before the mark cannot win.
    expect(await reprocessVideo(env, db, id)).toBe(false);
    const jobsAfter = await env.DB.prepare('SELECT COUNT(*) AS n FROM transcode_jobs WHERE video_id = ?').bind(id).first<{ n: number }>();
    expect(jobsAfter!.n).toBe(jobsBefore!.n);
    expect((await (await api(`/v1/videos/${id}`, { token })).json<{ status: string }>()).status).toBe('READY');
  });
});

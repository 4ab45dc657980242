/**
 * The video state machine (workers/metadata/video-state.ts) inside workerd: each legal move with its columns and its
 * lifecycle event, illegal moves refused without a write or an event, and a repeated or concurrent move applied
 * once (one winner, one cache invalidation, one event). Events are observed through spies on the composed webhook
 * hooks (they still run); the metadata cache through loads counted by `getVideoRecord`.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { VideoStatus } from '../../schema/schema';
import type { LifecycleEvent, VideoHook } from '../../workers/lifecycle';
import { lifecycleHooks } from '../../workers/lifecycle-hooks';
import { getVideoRecord } from '../../workers/metadata/cache';
import { loadVideoRecord } from '../../workers/metadata/repo';
import {
  failVideo,
  markDeleted,
  markReady,
  markUploadCompleted,
  markUploadEmpty,
  nextVideoState,
  reprocessVideo,
  TRANSITIONS,
  type TransitionName,
} from '../../workers/metadata/video-state';
import { loadConfig } from '../../workers/shared/config';
import { openDb, schema } from '../../workers/shared/db';
import { newId } from '../../workers/shared/runtime';

const config = loadConfig({});

const db = openDb(env.DB);
/** The status moves' events (each has a webhook hook to observe). */
type StatusEvent = Exclude<LifecycleEvent, 'video.updated' | `live_input.${string}`>;
const EVENTS: StatusEvent[] = ['upload.completed', 'video.ready', 'video.failed', 'video.deleted'];
let spies: Record<StatusEvent, MockInstance<VideoHook>>;

beforeEach(() => {
  const spy = (e: StatusEvent) => vi.spyOn(lifecycleHooks.events[e], 'webhook');
  spies = { 'upload.completed': spy('upload.completed'), 'video.ready': spy('video.ready'), 'video.failed': spy('video.failed'), 'video.deleted': spy('video.deleted') };
  // Deletion schedules a purge sweep on the transcode queue: kept in the test.
  vi.spyOn(env.TRANSCODE_QUEUE, 'send').mockResolvedValue(undefined as never);
});
afterEach(() => vi.restoreAllMocks());

/** The events emitted for `videoId` so far, in order. */
function emittedFor(videoId: string): StatusEvent[] {
  return EVENTS.flatMap((e) => spies[e].mock.calls.filter(([, v]) => v === videoId).map(() => e));
}

async function videoIn(status: VideoStatus): Promise<string> {
  const creatorId = newId('cr');
  await db.insert(schema.creators).values({ id: creatorId, name: 'c', createdAt: 0 });
  const id = newId('vid');
  await db.insert(schema.videos).values({ id, creatorId, title: 't', status, createdAt: 0, updatedAt: 0 });
  return id;
}

const row = (id: string) => db.select().from(schema.videos).where(eq(schema.videos.id, id)).get();

/** Reads the video through the metadata cache; true when that read had to load from D1 (nothing was cached). */
async function loadedFromD1(id: string): Promise<boolean> {
  let loads = 0;
  await getVideoRecord(id, async (v) => (loads++, loadVideoRecord(db, v)), config);
  return loads > 0;
}

describe('legal moves', () => {
  it('UPLOADING → PROCESSING (upload completed): facts stored, the analysis queued once, upload.completed emitted', async () => {
    const id = await videoIn('UPLOADING');
    let queued = 0;
    expect(await markUploadCompleted(env, db, id, { sourceSize: 123, sourceSha256: 'ab' }, async () => void queued++)).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'PROCESSING', sourceSize: 123, sourceSha256: 'ab', error: null });
    expect(queued).toBe(1);
    expect(emittedFor(id)).toEqual(['upload.completed']);
  });

  it('UPLOADING → FAILED (empty original) with its reason, video.failed emitted', async () => {
    const id = await videoIn('UPLOADING');
    expect(await markUploadEmpty(env, db, id)).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'FAILED', sourceSize: 0, error: expect.stringMatching(/empty \(0 bytes\)/) });
    expect(emittedFor(id)).toEqual(['video.failed']);
  });

  it('PROCESSING → READY with readyAt, video.ready emitted', async () => {
    const id = await videoIn('PROCESSING');
    expect(await markReady(env, db, id)).toBe(true);
    const after = await row(id);
    expect(after).toMatchObject({ status: 'READY', error: null });
    expect(after?.readyAt).toBeGreaterThan(0);
    expect(emittedFor(id)).toEqual(['video.ready']);
  });

  it('PROCESSING → FAILED with the reason (capped at 1000 characters), video.failed emitted', async () => {
    const id = await videoIn('PROCESSING');
    expect(await failVideo(env, db, id, 'x'.repeat(1500))).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'FAILED', error: 'x'.repeat(1000) });
    expect(emittedFor(id)).toEqual(['video.failed']);
  });

  it('FAILED or READY → PROCESSING (a retried rendition): the error is cleared, no event', async () => {
    for (const from of ['FAILED', 'READY'] as const) {
      const id = await videoIn(from);
      await db.update(schema.videos).set({ error: 'old' }).where(eq(schema.videos.id, id));
      expect(await reprocessVideo(env, db, id)).toBe(true);
      expect(await row(id)).toMatchObject({ status: 'PROCESSING', error: null });
      expect(emittedFor(id)).toEqual([]);
    }
  });

  it('every live state → DELETED with deletedAt, video.deleted emitted', async () => {
    for (const from of ['UPLOADING', 'PROCESSING', 'READY', 'FAILED'] as const) {
      const id = await videoIn(from);
      expect(await markDeleted(env, db, id)).toBe(true);
      const after = await row(id);
      expect(after?.status).toBe('DELETED');
      expect(after?.deletedAt).toBeGreaterThan(0);
      expect(emittedFor(id)).toEqual(['video.deleted']);
    }
  });
});

describe('illegal moves', () => {
  it('the table refuses every move out of DELETED, and a move from a state not listed as its source', () => {
    for (const name of Object.keys(TRANSITIONS) as TransitionName[]) expect(nextVideoState('DELETED', name)).toBeNull();
    expect(nextVideoState('READY', 'fail')).toBeNull();
    expect(nextVideoState('UPLOADING', 'ready')).toBeNull();
    expect(nextVideoState('PROCESSING', 'uploadCompleted')).toBeNull();
    expect(nextVideoState('PROCESSING', 'ready')).toBe('READY');
  });

  it('DELETED → READY (and every other move out of DELETED) changes nothing and emits nothing', async () => {
    const id = await videoIn('DELETED');
    let queued = 0;
    expect(await markReady(env, db, id)).toBe(false);
    expect(await failVideo(env, db, id, 'late failure')).toBe(false);
    expect(await reprocessVideo(env, db, id)).toBe(false);
    expect(await markUploadCompleted(env, db, id, { sourceSize: 1, sourceSha256: null }, async () => void queued++)).toBe(false);
    expect(await markDeleted(env, db, id)).toBe(false);
    expect(await row(id)).toMatchObject({ status: 'DELETED', error: null, readyAt: null, sourceSize: null, updatedAt: 0 });
    expect(queued).toBe(0);
    expect(emittedFor(id)).toEqual([]);
  });

  it('a READY video does not fail (it keeps playing), and an UPLOADING one does not become READY', async () => {
    const ready = await videoIn('READY');
    expect(await failVideo(env, db, ready, 'a late chunk failed')).toBe(false);
    expect(await row(ready)).toMatchObject({ status: 'READY', error: null });
    const uploading = await videoIn('UPLOADING');
    expect(await markReady(env, db, uploading)).toBe(false);
    expect((await row(uploading))?.status).toBe('UPLOADING');
    expect([...emittedFor(ready), ...emittedFor(uploading)]).toEqual([]);
  });
});

describe('a move applied twice', () => {
  it('two concurrent callers: one wins; the cache is invalidated and the event emitted once', async () => {
    const moves: [VideoStatus, (id: string) => Promise<boolean>, LifecycleEvent][] = [
      ['PROCESSING', (id) => markReady(env, db, id), 'video.ready'],
      ['PROCESSING', (id) => failVideo(env, db, id, 'boom'), 'video.failed'],
      ['READY', (id) => markDeleted(env, db, id), 'video.deleted'],
    ];
    for (const [from, move, event] of moves) {
      const id = await videoIn(from);
      await loadedFromD1(id); // cached now
      expect(await loadedFromD1(id)).toBe(false);
      const results = await Promise.all([move(id), move(id)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(emittedFor(id)).toEqual([event]);
      // The winner invalidated the cache: the next read loads the new state from D1.
      expect(await loadedFromD1(id)).toBe(true);
      // A third, late call is refused and leaves the cache alone (no invalidation by a caller that moved nothing).
      expect(await move(id)).toBe(false);
      expect(await loadedFromD1(id)).toBe(false);
      expect(emittedFor(id)).toEqual([event]);
    }
  });
});

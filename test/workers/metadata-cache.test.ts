import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { newCreator, newVideo } from './helpers';
import { getVideoRecord, invalidateVideo } from '../../workers/metadata/cache';
import { loadVideoRecord } from '../../workers/metadata/repo';
import { openDb } from '../../workers/shared/db';
import { loadConfig } from '../../workers/shared/config';

const config = loadConfig({});

describe('metadata cache: invalidation during a load', () => {
  it('a load that started before an edit never writes its stale result back', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'before');
    await invalidateVideo(id);
    const db = openDb(env.DB);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowStale = getVideoRecord(
      id,
      async (videoId) => {
        const record = await loadVideoRecord(db, videoId);
        await gate; // the edit lands while this load holds its (now stale) record
        return record;
      },
      config,
    );
    await new Promise((r) => setTimeout(r, 20));
    await env.DB.prepare('UPDATE videos SET title = ? WHERE id = ?').bind('after', id).run();
    await invalidateVideo(id);
    release();
    expect((await slowStale)?.video.title).toBe('before');

    // The stale load was not cached: the next read goes to D1 and sees the edit.
    let loads = 0;
    const fresh = await getVideoRecord(
      id,
      async (videoId) => {
        loads++;
        return loadVideoRecord(db, videoId);
      },
      config,
    );
    expect(loads).toBe(1);
    expect(fresh?.video.title).toBe('after');
  });

  it('a new load started after an invalidation is shared by later readers, not dropped by the old one', async () => {
    const { token } = await newCreator();
    const { id } = await newVideo(token, 'shared');
    await invalidateVideo(id);
    const db = openDb(env.DB);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const loading = new Promise<void>((resolve) => (started = resolve));
    const old = getVideoRecord(
      id,
      async (v) => {
        started();
        await gate;
        return loadVideoRecord(db, v);
      },
      config,
    );
    await loading;
    await invalidateVideo(id);
    let loads = 0;
    const counting = async (v: string) => {
      loads++;
      return loadVideoRecord(db, v);
    };
    let newerStarted!: () => void;
    const newerLoading = new Promise<void>((resolve) => (newerStarted = resolve));
    let releaseNewer!: () => void;
    const newerGate = new Promise<void>((resolve) => (releaseNewer = resolve));
    const newer = getVideoRecord(
      id,
      async (v) => {
        newerStarted();
        await newerGate;
        return counting(v);
      },
      config,
    );
    await newerLoading;
    release();
    await old;
    // The old load finishing must not remove the newer flight: a concurrent reader joins it.
    const joined = getVideoRecord(id, counting, config);
    await new Promise((r) => setTimeout(r, 20));
    releaseNewer();
    expect((await newer)?.video.title).toBe('shared');
    expect((await joined)?.video.title).toBe('shared');
    expect(loads).toBe(1);
  });
});

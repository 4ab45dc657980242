/**
 * Views of a live broadcast: the video recording a live input is PROCESSING with a growing rung and no duration
 * yet; a beacon counts once the viewer has watched 30 s, bounded by the playback session's age like any view.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { newCreator } from './helpers';
import { addRendition } from './playback-fixtures';
import { sessionFor, viewJson } from './views-helpers';
import { openDb } from '../../workers/shared/db';
import { insertLiveVideo } from '../../workers/metadata/video-state';
import { newId } from '../../workers/shared/runtime';

async function liveVideo(segments: number[]): Promise<string> {
  const { creatorId } = await newCreator('broadcaster');
  const id = newId('vid');
  await insertLiveVideo(openDb(env.DB), { id, creatorId, title: 'on air', createdAt: Date.now(), liveInputId: newId('live'), width: 640, height: 360 });
  if (segments.length) await addRendition(id, { name: '360p', height: 360, durations: segments, complete: false });
  return id;
}

describe('views of a live broadcast', () => {
  it('counts a viewer who watched 30 s, not one who watched 20 s, without a stored duration', async () => {
    const id = await liveVideo([2, 2, 2]);
    expect((await viewJson(id, { viewerId: 'brief', watchDuration: 20 })).body).toEqual({ counted: false, reason: 'too_short' });
    expect((await viewJson(id, { viewerId: 'stayed', watchDuration: 31 })).body).toEqual({ counted: true });
    // The live window the player reports as the duration is not the video's: it changes nothing.
    expect((await viewJson(id, { viewerId: 'window', watchDuration: 31, videoDuration: 6 })).body).toEqual({ counted: true });
  });

  it('bounds the watch by the session, and counts nothing before the first segment is published', async () => {
    const id = await liveVideo([2, 2]);
    const young = await sessionFor(id, 10_000);
    expect((await viewJson(id, { viewerId: 'early', watchDuration: 40, session: young })).body).toEqual({ counted: false, reason: 'watch_exceeds_session' });
    const silent = await liveVideo([]);
    expect((await viewJson(silent, { viewerId: 'early', watchDuration: 40 })).body).toEqual({ counted: false, reason: 'not_playable' });
  });
});

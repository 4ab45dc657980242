/**
 * The lifecycle hooks are composed in one place (workers/lifecycle-hooks.ts), not registered by importing a route
 * file: this file imports no route module and no app, and checks what each event runs — by name and function, and by
 * effect for a deletion emitted through the state machine (the upload and the webhook endpoint are set up through
 * the API and D1; the deletion itself goes through `markDeleted`, as a queue consumer or cron would call it).
 */
import { env } from 'cloudflare:workers';
import { and, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { markDirectUploadSpent, refuseOverMaxDuration } from '../../workers/direct-uploads/hooks';
import { deleteClipsOfSource } from '../../workers/clips/hooks';
import { lifecycleHooks } from '../../workers/lifecycle-hooks';
import { markDeleted } from '../../workers/metadata/video-state';
import { cacheUrl } from '../../workers/playback/edge-cache';
import { forgetPlaybackAccess, purgePlaybackCaches } from '../../workers/playback/hooks';
import { purgeChosenPoster } from '../../workers/frames/poster';
import { cancelDownloads } from '../../workers/downloads/hooks';
import { cancelAudioTracks, purgeAudioGroup } from '../../workers/audio-tracks/hooks';
import { cancelImportOfVideo } from '../../workers/imports/hooks';
import { recountStoredOnReady, refuseOverMinutesQuota } from '../../workers/usage/hooks';
import { purgeMediaObjects } from '../../workers/playback/media-purge';
import { openDb, schema } from '../../workers/shared/db';
import { publicPaths } from '../../workers/shared/storage-keys';
import { cancelTranscodeJobs, schedulePurgeSweep } from '../../workers/transcoding/hooks';
import { abortUploadOfVideo } from '../../workers/uploads/hooks';
import { sessionStub } from '../../workers/uploads/upload-ids';
import { newCreator, newVideo } from './helpers';
import { initiate } from './upload-helpers';

const db = openDb(env.DB);
afterEach(() => vi.restoreAllMocks());

describe('the composed hook lists', () => {
  it('name every area hook under its event, and the analysis check', () => {
    const { events, analysisChecks } = lifecycleHooks;
    expect(events['upload.completed']).toEqual({ directUploadSpent: markDirectUploadSpent, webhook: expect.any(Function) });
    expect(events['video.ready']).toEqual({ playbackWarm: expect.any(Function), usageStored: recountStoredOnReady, webhook: expect.any(Function) });
    expect(events['video.failed']).toEqual({ webhook: expect.any(Function) });
    expect(events['video.updated']).toEqual({ playbackAccess: forgetPlaybackAccess, framesPoster: purgeChosenPoster, audioGroup: purgeAudioGroup });
    expect(events['video.deleted']).toEqual({
      playbackPurge: purgePlaybackCaches,
      playbackMediaPurge: purgeMediaObjects,
      uploadAbort: abortUploadOfVideo,
      clipsDelete: deleteClipsOfSource,
      transcodingCancel: cancelTranscodeJobs,
      transcodingPurgeSweep: schedulePurgeSweep,
      downloadsCancel: cancelDownloads,
      audioTracksCancel: cancelAudioTracks,
      importCancel: cancelImportOfVideo,
      webhook: expect.any(Function),
    });
    expect(analysisChecks).toEqual({ directUploadMaxDuration: refuseOverMaxDuration, usageMinutesQuota: refuseOverMinutesQuota });
  });
});

describe('video.deleted, emitted by the state machine', () => {
  it('purges playback caches, aborts the upload, deletes the clips, schedules the purge sweep and enqueues the webhook', async () => {
    const { token, creatorId } = await newCreator();
    const { id } = await newVideo(token);
    const started = await initiate(id, token, { fileSize: 10 * 1024 * 1024 });
    expect(started.status).toBe(201);
    const { uploadId } = await started.json<{ uploadId: string }>();
    expect(await sessionStub(env, id).info(uploadId)).toMatchObject({ status: 'ok' });
    const clipId = `clp_${id.slice(4)}`;
    await db.insert(schema.videos).values({ id: clipId, creatorId, title: 'clip', status: 'READY', clipOf: id, clipStart: 0, clipEnd: 6, createdAt: 0, updatedAt: 0 });
    await db.insert(schema.webhookEndpoints).values({ id: `wh_${id.slice(4)}`, creatorId, url: 'https://hooks.example.com/video', events: '["video.deleted"]', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', createdAt: Date.now() });
    const edge = (caches as unknown as { default: Cache }).default;
    const master = cacheUrl(publicPaths.master(id));
    await edge.put(master, new Response('#EXTM3U', { headers: { 'Cache-Control': 'max-age=3600' } }));
    const transcode: unknown[] = [];
    vi.spyOn(env.TRANSCODE_QUEUE, 'send').mockImplementation(async (body) => {
      transcode.push(body);
      return undefined as never;
    });
    const webhooks: unknown[] = [];
    vi.spyOn(env.WEBHOOK_QUEUE, 'sendBatch').mockImplementation(async (batch) => {
      for (const m of batch) webhooks.push(m.body);
      return undefined as never;
    });

    expect(await markDeleted(env, db, id)).toBe(true);

    expect(await edge.match(master)).toBeUndefined();
    expect(await sessionStub(env, id).info(uploadId)).toMatchObject({ status: 'gone', reason: 'video_deleted' });
    expect((await db.select().from(schema.videos).where(eq(schema.videos.id, clipId)).get())?.status).toBe('DELETED');
    expect(transcode).toEqual(expect.arrayContaining([{ type: 'purge', videoId: id }, { type: 'purge', videoId: clipId }]));
    const delivery = await db
      .select()
      .from(schema.webhookDeliveries)
      .where(and(eq(schema.webhookDeliveries.videoId, id), eq(schema.webhookDeliveries.eventType, 'video.deleted')))
      .get();
    expect(delivery).toBeDefined();
    expect(webhooks).toContainEqual({ deliveryId: delivery!.id, round: 0 });
  });
});

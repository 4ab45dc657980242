/**
 * The one composition point of the lifecycle hooks: which area does what when a video's upload completes, it
 * becomes ready, fails, is edited or is deleted, and which checks may refuse an analysed source. Each area exports
 * its hooks as plain functions; the entry point installs this table (workers/index.ts), so a Worker entry point
 * that never loads the HTTP routes (a queue consumer) runs the same hooks as one that does.
 */
import { markDirectUploadSpent, refuseOverMaxDuration } from './direct-uploads/hooks';
import { deleteClipsOfSource } from './clips/hooks';
import { cancelDownloads } from './downloads/hooks';
import { cancelAudioTracks, purgeAudioGroup } from './audio-tracks/hooks';
import { purgeChosenPoster } from './frames/poster';
import { cancelImportOfVideo } from './imports/hooks';
import type { LifecycleHooks } from './lifecycle';
import { purgeMediaObjects } from './playback/media-purge';
import { forgetPlaybackAccess, purgePlaybackCaches, warmPlaybackCaches } from './playback/hooks';
import { playbackExtensions } from './playback-extensions';
import { cancelTranscodeJobs, schedulePurgeSweep } from './transcoding/hooks';
import { abortUploadOfVideo } from './uploads/hooks';
import { recountStoredOnReady, refuseOverMinutesQuota } from './usage/hooks';
import { webhookHook } from './webhooks/events';

export const lifecycleHooks: LifecycleHooks = {
  events: {
    'upload.completed': {
      directUploadSpent: markDirectUploadSpent,
      webhook: webhookHook('upload.completed'),
    },
    'video.ready': {
      playbackWarm: warmPlaybackCaches(playbackExtensions),
      usageStored: recountStoredOnReady,
      webhook: webhookHook('video.ready'),
    },
    'video.failed': {
      webhook: webhookHook('video.failed'),
    },
    'video.updated': {
      playbackAccess: forgetPlaybackAccess,
      framesPoster: purgeChosenPoster,
      audioGroup: purgeAudioGroup,
    },
    'video.deleted': {
      playbackPurge: purgePlaybackCaches,
      playbackMediaPurge: purgeMediaObjects,
      uploadAbort: abortUploadOfVideo,
      clipsDelete: deleteClipsOfSource,
      transcodingCancel: cancelTranscodeJobs,
      transcodingPurgeSweep: schedulePurgeSweep,
      downloadsCancel: cancelDownloads,
      audioTracksCancel: cancelAudioTracks,
      importCancel: cancelImportOfVideo,
      webhook: webhookHook('video.deleted'),
    },
    'live_input.connected': { webhook: webhookHook('live_input.connected') },
    'live_input.disconnected': { webhook: webhookHook('live_input.disconnected') },
    'live_input.recording.ready': { webhook: webhookHook('live_input.recording.ready') },
  },
  analysisChecks: {
    directUploadMaxDuration: refuseOverMaxDuration,
    usageMinutesQuota: refuseOverMinutesQuota,
  },
};

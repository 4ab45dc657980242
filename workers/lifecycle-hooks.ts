/**
 * The one composition point of the lifecycle hooks: which area does what when a video's upload completes, it
 * becomes ready, fails or is deleted, and which checks may refuse an analysed source. Each area exports its hooks as
 * plain functions; nothing registers itself when a file is imported, so a Worker entry point that never loads the
 * HTTP routes (a queue consumer) runs the same hooks as one that does.
 *
 * Built on first use, not at import: lifecycle.ts imports this file, and some hook modules import (through
 * metadata/delete.ts and the state machine) lifecycle.ts back; reading the hook functions only when an event is
 * emitted keeps that cycle harmless.
 */
import { markDirectUploadSpent, refuseOverMaxDuration } from './direct-uploads/hooks';
import { deleteClipsOfSource } from './clips/hooks';
import type { LifecycleHooks } from './lifecycle';
import { purgeMediaObjects } from './playback/media-purge';
import { purgePlaybackCaches, warmPlaybackCaches } from './playback/hooks';
import { schedulePurgeSweep } from './transcoding/hooks';
import { abortUploadOfVideo } from './uploads/hooks';
import { webhookHook } from './webhooks/events';

let composed: LifecycleHooks | null = null;

export function lifecycleHooks(): LifecycleHooks {
  composed ??= {
    events: {
      'upload.completed': {
        directUploadSpent: markDirectUploadSpent,
        webhook: webhookHook('upload.completed'),
      },
      'video.ready': {
        playbackWarm: warmPlaybackCaches,
        webhook: webhookHook('video.ready'),
      },
      'video.failed': {
        webhook: webhookHook('video.failed'),
      },
      'video.deleted': {
        playbackPurge: purgePlaybackCaches,
        playbackMediaPurge: purgeMediaObjects,
        uploadAbort: abortUploadOfVideo,
        clipsDelete: deleteClipsOfSource,
        transcodingPurgeSweep: schedulePurgeSweep,
        webhook: webhookHook('video.deleted'),
      },
    },
    analysisChecks: {
      directUploadMaxDuration: refuseOverMaxDuration,
    },
  };
  return composed;
}

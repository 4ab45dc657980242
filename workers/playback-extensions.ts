/**
 * The one place that wires the areas above playback into it (workers/playback/extensions.ts): caption tracks,
 * MP4 downloads and frames. Playback imports none of them; the entry points hand it this table (app.ts for the
 * routes, lifecycle-hooks.ts for warming on `video.ready`, scheduled.ts for the trending warm-up).
 */
import { subtitlesRenditions } from './captions/hls';
import { produceCaption } from './captions/objects';
import { produceDownload } from './downloads/objects';
import { frameCacheKey, produceFrameObject, producePoster } from './frames/frame';
import type { PlaybackExtensions } from './playback/extensions';

export const playbackExtensions: PlaybackExtensions = {
  subtitles: subtitlesRenditions,
  caption: produceCaption,
  download: produceDownload,
  frame: produceFrameObject,
  poster: producePoster,
  frameCacheKey,
};

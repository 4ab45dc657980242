/**
 * The edge-cache key of a playback object. Almost always its canonical path, computed from the path alone so a
 * cache hit costs no D1 read. Two kinds need the video's state first (one memoised read per isolate):
 * - `at.jpg` frames: the key holds the frame number, which needs the video's frame rate (workers/frames);
 * - a clip's segments and init segments: they are the source's objects, so they share the source's keys (one cached
 *   copy for the source and all its clips). Clip ids are recognisable by prefix, so ordinary segments never pay for
 *   this.
 */
import type { Config } from '../shared/config';
import { notFound } from '../shared/errors';
import { publicPaths } from '../shared/storage-keys';
import { isClipId } from './clip-window';
import type { PlaybackExtensions } from './extensions';
import { assertPlayable } from './objects';
import { canonicalPath, type PlaybackObject } from './paths';
import type { PlaybackState } from './state';

export async function cacheKeyPath(object: PlaybackObject, loadState: () => Promise<PlaybackState | null>, config: Config, extensions: PlaybackExtensions): Promise<string> {
  if (object.kind === 'frame') return extensions.frameCacheKey(assertPlayable(await loadState()), object, config);
  if (object.kind === 'segment' && isClipId(object.videoId)) {
    const state = assertPlayable(await loadState());
    // The window is checked before the key exists: a cached source segment outside the clip must not be a HIT.
    const rung = state.renditions.get(object.rendition);
    const first = rung?.firstSegment ?? 0;
    if (!rung || rung.packaging !== object.packaging || object.index < first || object.index >= first + rung.segmentDurations.length) {
      throw notFound(`${object.rendition}/segment ${object.index} is not part of this clip`);
    }
    return publicPaths.segment(state.segmentsOf, object.rendition, object.index, object.packaging);
  }
  // A clip's init segment is its source's (one cached copy).
  if (object.kind === 'init' && isClipId(object.videoId)) {
    const state = assertPlayable(await loadState());
    if (state.renditions.get(object.rendition)?.packaging !== 'cmaf') throw notFound(`${object.rendition} has no init segment`);
    return publicPaths.init(state.segmentsOf, object.rendition);
  }
  return canonicalPath(object);
}

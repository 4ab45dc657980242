/**
 * What the areas above playback add to a video's playback objects, handed to playback by the composition root
 * (workers/playback-extensions.ts) rather than imported: caption tracks (subtitles renditions in the master, their
 * playlists and WebVTT), MP4 downloads, and frames (thumbnails at any time and a chosen poster). Playback serves
 * them through the same signed paths and edge cache as playlists and segments.
 */
import type { Config } from '../shared/config';
import type { OriginObject } from './edge-cache';
import type { SubtitlesRendition } from './manifest';
import type { PlaybackObject } from './paths';
import type { PlaybackState } from './state';

type ObjectOf<K extends PlaybackObject['kind']> = Extract<PlaybackObject, { kind: K }>;
type Produce<K extends PlaybackObject['kind']> = (env: Env, config: Config, state: PlaybackState, object: ObjectOf<K>) => Promise<OriginObject>;

export interface PlaybackExtensions {
  /** Renditions the master playlist lists beside the rungs (caption tracks). */
  subtitles(state: PlaybackState): SubtitlesRendition[];
  caption: Produce<'caption'>;
  download: Produce<'download'>;
  /** A frame at any time; `client` (the requesting address's allowance key) pays for a frame cut on request. */
  frame(env: Env, config: Config, state: PlaybackState, object: ObjectOf<'frame'>, client: string): Promise<OriginObject>;
  /** The chosen poster frame, or null when the video has none (the storyboard's `poster.jpg` is served instead). */
  poster(env: Env, config: Config, state: PlaybackState): Promise<OriginObject> | null;
  /** The edge-cache key of a frame, which depends on the video's frame rate (canonical frame number and width). */
  frameCacheKey(state: PlaybackState, object: ObjectOf<'frame'>, config: Config): string;
}

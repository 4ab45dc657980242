/**
 * Origin reads for playback objects: playlists are generated from `renditions` rows, segments and thumbnails are
 * streamed from R2 (never buffered). Each returns the headers the cached copy keeps for its whole life.
 *
 * Cache lifetimes: segments are immutable once their rung's row exists (a rung is only listed when complete).
 * Playlists and thumbnails are immutable once the video is READY; while it is PROCESSING they can still change
 * (new rungs appear in the master), so they get the short `processingCacheControl`.
 */
import { conflict, notFound } from '../shared/errors';
import type { Config } from '../shared/config';
import { keys, segmentFileName } from '../shared/storage-keys';
import { buildDashManifest, DASH_CONTENT_TYPE } from './dash';
import { audioGroup } from './audio-group';
import { toHex } from '../shared/runtime';
import { buildMasterPlaylist, buildMediaPlaylist, HLS_CONTENT_TYPE } from './manifest';
import type { OriginObject } from './edge-cache';
import type { PlaybackExtensions } from './extensions';
import type { PlaybackObject } from './paths';
import type { PlaybackState } from './state';

/** The state gate for signed requests: which videos can be played at all, with the reason when not. */
export function assertPlayable(state: PlaybackState | null): PlaybackState {
  if (!state || state.video.status === 'DELETED') throw notFound('video not found');
  switch (state.video.status) {
    case 'UPLOADING':
      throw conflict('video is still uploading; nothing to play yet');
    case 'FAILED':
      throw conflict('video processing failed; it cannot be played');
    case 'PROCESSING':
    case 'READY':
      if (![...state.renditions.values()].some((r) => r.kind === 'video')) throw conflict('video is processing; no rendition is finished yet');
      return state;
  }
}

export function lifetime(state: PlaybackState, config: Config): string {
  return state.video.status === 'READY' ? config.playback.segmentCacheControl : config.playback.processingCacheControl;
}

/** Playlists: a clip's follow its source's current rungs (workers/clips/resolve.ts), so they are never immutable. */
function playlistLifetime(state: PlaybackState, config: Config): string {
  // A live broadcast's playlists change every segment: cached about half a segment (workers/live).
  if (state.video.liveInputId && state.video.status === 'PROCESSING') return config.live.playlistCacheControl;
  return state.video.clipOf ? config.clips.playlistCacheControl : lifetime(state, config);
}

async function textObject(body: string, contentType: string, cacheControl: string): Promise<OriginObject> {
  const bytes = new TextEncoder().encode(body);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return {
    body,
    headers: new Headers({
      'Content-Type': contentType,
      'Content-Length': String(bytes.byteLength),
      'Cache-Control': cacheControl,
      ETag: `"${toHex(digest.subarray(0, 16))}"`,
    }),
  };
}

function rendition(state: PlaybackState, name: string) {
  const r = state.renditions.get(name);
  if (!r) {
    const available = [...state.renditions.keys()].join(', ') || 'none';
    throw notFound(`rendition ${name} does not exist for this video (available: ${available})`);
  }
  return r;
}

const THUMBNAIL_TYPES: Record<string, string> = { jpg: 'image/jpeg', vtt: 'text/vtt; charset=utf-8' };

async function r2Object(bucket: R2Bucket, key: string, contentType: string, cacheControl: string, what: string, extra: Record<string, string> = {}): Promise<OriginObject> {
  const object = await bucket.get(key);
  if (!object) throw notFound(`${what} not found`);
  return {
    body: object.body,
    headers: new Headers({
      'Content-Type': contentType,
      'Content-Length': String(object.size),
      'Cache-Control': cacheControl,
      ETag: object.httpEtag,
      'Last-Modified': object.uploaded.toUTCString(),
      ...extra,
    }),
  };
}

/**
 * A segment's duration in seconds, kept with its cached copy so a delivery is metered on cache hits too, without
 * reading the video's state (workers/usage/delivered.ts).
 */
export const SEGMENT_DURATION_HEADER = 'X-Segment-Duration';

/**
 * Reads one object from its origin, after checking it exists for this video (404/409 with the reason if not).
 * `client` is the requesting address's allowance key (views/allowances.ts `clientKey`): what costs transcoder time
 * on request (a frame at any time) is charged to it. The platform's own reads (cache warming) never ask for frames.
 */
export async function produceObject(
  env: Env,
  config: Config,
  extensions: PlaybackExtensions,
  state: PlaybackState | null,
  object: PlaybackObject,
  client = 'platform',
): Promise<OriginObject> {
  const playable = assertPlayable(state);
  switch (object.kind) {
    case 'master':
      return textObject(buildMasterPlaylist([...playable.renditions.values()], extensions.subtitles(playable), audioGroup(playable)), HLS_CONTENT_TYPE, playlistLifetime(playable, config));
    case 'dash': {
      const packaging = [...playable.renditions.values()][0]?.packaging;
      if (packaging !== 'cmaf') throw notFound('this video is packaged as MPEG-TS (packaging "ts"): DASH needs CMAF segments; play master.m3u8');
      const text = extensions.subtitles(playable).map((s) => ({ lang: s.language, label: s.name, uri: `captions/${s.language}.vtt` }));
      const mpd = buildDashManifest([...playable.renditions.values()], text, audioGroup(playable));
      if (!mpd) throw conflict('video is processing; DASH lists complete renditions only and none is complete yet (master.m3u8 plays the growing ones)');
      return textObject(mpd, DASH_CONTENT_TYPE, playlistLifetime(playable, config));
    }
    case 'media': {
      const r = rendition(playable, object.rendition);
      return textObject(buildMediaPlaylist(r), HLS_CONTENT_TYPE, playlistLifetime(playable, config));
    }
    case 'init': {
      const r = rendition(playable, object.rendition);
      if (r.packaging !== 'cmaf') throw notFound(`${object.rendition} is packaged as MPEG-TS and has no init segment`);
      return r2Object(env.MEDIA, keys.init(playable.segmentsOf, object.rendition), 'video/mp4', config.playback.segmentCacheControl, 'init segment');
    }
    case 'segment': {
      const r = rendition(playable, object.rendition);
      const name = (n: number) => segmentFileName(n, r.packaging);
      if (r.packaging !== object.packaging) throw notFound(`${segmentFileName(object.index, object.packaging)} does not exist: ${object.rendition} is packaged as ${r.packaging} (${name(object.index)})`);
      const first = r.firstSegment ?? 0;
      const count = r.segmentDurations.length;
      if (object.index >= first + count) {
        throw notFound(`${name(object.index)} is past the end of ${object.rendition} (${first + count} segments)`);
      }
      if (object.index < first) throw notFound(`${name(object.index)} is before this clip's first segment (${name(first)})`);
      if (r.gapFrom !== undefined && object.index >= r.gapFrom) {
        throw notFound(`${name(object.index)} is a gap: the broadcast dropped ${object.rendition} from ${name(r.gapFrom)} on (the transcoder fell behind); play another rendition`);
      }
      // A clip's segments are its source's objects (same numbers).
      const key = keys.segment(playable.segmentsOf, object.rendition, object.index, r.packaging);
      const seconds = r.segmentDurations[object.index - first]!;
      return r2Object(env.MEDIA, key, r.packaging === 'cmaf' ? 'video/mp4' : 'video/mp2t', config.playback.segmentCacheControl, 'segment', { [SEGMENT_DURATION_HEADER]: String(seconds) });
    }
    case 'thumbnail': {
      const poster = object.file === 'poster.jpg' ? extensions.poster(env, config, playable) : null;
      if (poster) return poster;
      if (playable.video.clipOf) throw notFound('clips have no storyboard: use thumbnails/at.jpg');
      const ext = object.file.slice(object.file.lastIndexOf('.') + 1);
      const type = THUMBNAIL_TYPES[ext];
      if (!type) throw notFound('no such thumbnail');
      return r2Object(env.MEDIA, keys.thumbnail(object.videoId, object.file), type, lifetime(playable, config), 'thumbnail');
    }
    case 'frame':
      return extensions.frame(env, config, playable, object, client);
    case 'caption':
      return extensions.caption(env, config, playable, object);
    case 'download':
      return extensions.download(env, config, playable, object);
  }
}

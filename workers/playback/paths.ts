/**
 * Parsing of playback paths. The request path is matched on its raw (still percent-encoded) form, one segment at
 * a time against strict patterns, so `..`, `%2F`, `%2e` and friends can never reach a storage key: they simply do
 * not match and the request is a 404 before any signature check or storage access.
 *
 *   /v/{id}/t/{token}/master.m3u8
 *   /v/{id}/t/{token}/{rendition}/playlist.m3u8
 *   /v/{id}/t/{token}/{rendition}/segment_{nnnn}.ts
 *   /v/{id}/t/{token}/thumbnails/{poster.jpg | sprite_{n}.jpg | storyboard.vtt}
 *
 * The same shapes without `t/{token}/` are the canonical (cache-key) paths; requested directly they are `unsigned`.
 */
import { isSafeId, parseSegmentFileName, publicPaths, segmentFileName } from '../shared/storage-keys';

export type PlaybackObject =
  | { kind: 'master'; videoId: string }
  | { kind: 'media'; videoId: string; rendition: string }
  | { kind: 'segment'; videoId: string; rendition: string; index: number }
  | { kind: 'thumbnail'; videoId: string; file: string };

export type ParsedPath =
  | { status: 'signed'; token: string; object: PlaybackObject }
  | { status: 'unsigned'; object: PlaybackObject }
  | { status: 'invalid'; reason: string };

const TOKEN_SEGMENT = /^[A-Za-z0-9_.-]{1,160}$/;
const THUMBNAIL = /^(poster\.jpg|storyboard\.vtt|sprite_(0|[1-9]\d{0,3})\.jpg)$/;

function parseObject(videoId: string, rest: string[], renditionNames: readonly string[]): PlaybackObject | string {
  if (rest.length === 1 && rest[0] === 'master.m3u8') return { kind: 'master', videoId };
  if (rest.length !== 2) return 'no such playback path';
  const [dir, file] = rest as [string, string];
  if (dir === 'thumbnails') {
    return THUMBNAIL.test(file) ? { kind: 'thumbnail', videoId, file } : `no such thumbnail file ${JSON.stringify(file)}`;
  }
  if (!renditionNames.includes(dir)) return `unknown rendition ${JSON.stringify(dir)}`;
  if (file === 'playlist.m3u8') return { kind: 'media', videoId, rendition: dir };
  const index = parseSegmentFileName(file);
  // Only the canonical spelling, so `segment_00001.ts` cannot alias segment 1 under a second cache key.
  if (index === null || segmentFileName(index) !== file) return `no such file ${JSON.stringify(file)}`;
  return { kind: 'segment', videoId, rendition: dir, index };
}

export function parsePlaybackPath(pathname: string, renditionNames: readonly string[]): ParsedPath {
  const parts = pathname.split('/');
  // ['', 'v', id, ...]
  if (parts[0] !== '' || parts[1] !== 'v' || parts.length < 4) return { status: 'invalid', reason: 'no such playback path' };
  const videoId = parts[2]!;
  if (!isSafeId(videoId)) return { status: 'invalid', reason: 'video not found' };
  if (parts[3] === 't') {
    const token = parts[4] ?? '';
    if (!TOKEN_SEGMENT.test(token)) return { status: 'invalid', reason: 'no such playback path' };
    const object = parseObject(videoId, parts.slice(5), renditionNames);
    return typeof object === 'string' ? { status: 'invalid', reason: object } : { status: 'signed', token, object };
  }
  const object = parseObject(videoId, parts.slice(3), renditionNames);
  return typeof object === 'string' ? { status: 'invalid', reason: object } : { status: 'unsigned', object };
}

/** The canonical public path: the Cache API key (without origin) for this object. */
export function canonicalPath(object: PlaybackObject): string {
  switch (object.kind) {
    case 'master':
      return publicPaths.master(object.videoId);
    case 'media':
      return publicPaths.mediaPlaylist(object.videoId, object.rendition);
    case 'segment':
      return publicPaths.segment(object.videoId, object.rendition, object.index);
    case 'thumbnail':
      return publicPaths.thumbnail(object.videoId, object.file);
  }
}

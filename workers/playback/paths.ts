/**
 * Parsing of playback paths. The request path is matched on its raw (still percent-encoded) form, one segment at
 * a time against strict patterns, so `..`, `%2F`, `%2e` and friends can never reach a storage key: they simply do
 * not match and the request is a 404 before any signature check or storage access.
 *
 *   /v/{id}/t/{token}/master.m3u8
 *   /v/{id}/t/{token}/manifest.mpd                                    (DASH; CMAF videos only)
 *   /v/{id}/t/{token}/{rendition}/playlist.m3u8
 *   /v/{id}/t/{token}/{rendition}/segment_{nnnn}.ts | segment_{nnnn}.m4s | init.mp4
 *   /v/{id}/t/{token}/thumbnails/{poster.jpg | sprite_{n}.jpg | storyboard.vtt}
 *   /v/{id}/t/{token}/thumbnails/at.jpg?time={seconds}&width={px}     (a frame at any time; see workers/frames)
 *   /v/{id}/t/{token}/captions/{lang}.m3u8 | {lang}_hls.vtt | {lang}.vtt   (see workers/captions)
 *   /v/{id}/t/{token}/downloads/{rendition}.mp4 | audio.m4a             (see workers/downloads)
 *   {rendition} is a ladder rung, `audio`, or an extra audio track's `audio_{lang}` (workers/audio-tracks)
 *
 * The same shapes without `t/{token}/` are the canonical (cache-key) paths; requested directly they are `unsigned`.
 */
import { downloadFileName, INIT_FILE_NAME, isSafeId, langOfAudioTrackRendition, parseSegmentFile, publicPaths, segmentFileName } from '../shared/storage-keys';
import type { Packaging } from '../../schema/schema';

export type PlaybackObject =
  | { kind: 'master'; videoId: string }
  | { kind: 'dash'; videoId: string }
  | { kind: 'media'; videoId: string; rendition: string }
  | { kind: 'segment'; videoId: string; rendition: string; index: number; packaging: Packaging }
  /** A CMAF rendition's init segment. */
  | { kind: 'init'; videoId: string; rendition: string }
  | { kind: 'thumbnail'; videoId: string; file: string }
  /** `time` and `width` as asked; the canonical frame and size need the video's frame rate (workers/frames). */
  | { kind: 'frame'; videoId: string; time: number; width: number | null }
  | { kind: 'caption'; videoId: string; lang: string; file: 'playlist' | 'segment' | 'download' }
  | { kind: 'download'; videoId: string; rendition: string };

export type ParsedPath =
  | { status: 'signed'; token: string; object: PlaybackObject }
  | { status: 'unsigned'; object: PlaybackObject }
  | { status: 'invalid'; reason: string }
  /** A real path with an unusable query (`at.jpg` only): 400, not 404. */
  | { status: 'bad_request'; reason: string };

/** A platform HMAC token (about 70 characters) or a signed-key JWT (an RS256 one with rules runs to a few hundred). */
const TOKEN_SEGMENT = /^[A-Za-z0-9_.-]{1,4096}$/;
const THUMBNAIL = /^(poster\.jpg|storyboard\.vtt|sprite_(0|[1-9]\d{0,3})\.jpg)$/;

const CAPTION_FILE = /^([A-Za-z0-9-]{2,35}?)(\.m3u8|_hls\.vtt|\.vtt)$/;
const DOWNLOAD_FILE = /^([A-Za-z0-9_-]{1,16})\.(mp4|m4a)$/;
/** Seconds as a plain decimal (no exponent, no sign games); width as a plain integer. */
const QUERY_TIME = /^\d{1,6}(\.\d{1,6})?$/;
const QUERY_WIDTH = /^[1-9]\d{0,4}$/;

class BadQuery {
  constructor(readonly reason: string) {}
}

function parseFrameQuery(videoId: string, query: URLSearchParams | undefined): PlaybackObject | BadQuery {
  const times = query?.getAll('time') ?? [];
  const widths = query?.getAll('width') ?? [];
  if (times.length !== 1 || !QUERY_TIME.test(times[0]!)) return new BadQuery('at.jpg needs exactly one time=<seconds> (e.g. time=12.5)');
  if (widths.length > 1 || (widths.length === 1 && !QUERY_WIDTH.test(widths[0]!))) return new BadQuery('width must be given at most once, as a positive integer');
  return { kind: 'frame', videoId, time: Number(times[0]), width: widths.length ? Number(widths[0]) : null };
}

function parseObject(videoId: string, rest: string[], renditionNames: readonly string[], query?: URLSearchParams): PlaybackObject | BadQuery | string {
  if (rest.length === 1 && rest[0] === 'master.m3u8') return { kind: 'master', videoId };
  if (rest.length === 1 && rest[0] === 'manifest.mpd') return { kind: 'dash', videoId };
  if (rest.length !== 2) return 'no such playback path';
  const [dir, file] = rest as [string, string];
  if (dir === 'thumbnails' && file === 'at.jpg') return parseFrameQuery(videoId, query);
  if (dir === 'captions') {
    const m = CAPTION_FILE.exec(file);
    if (!m) return `no such caption file ${JSON.stringify(file)}`;
    return { kind: 'caption', videoId, lang: m[1]!, file: m[2] === '.m3u8' ? 'playlist' : m[2] === '_hls.vtt' ? 'segment' : 'download' };
  }
  if (dir === 'downloads') {
    const m = DOWNLOAD_FILE.exec(file);
    // `audio.m4a` is the audio-only download; every other rendition's is `.mp4`.
    if (!m || !renditionNames.includes(m[1]!) || downloadFileName(m[1]!) !== file) return `no such download ${JSON.stringify(file)}`;
    return { kind: 'download', videoId, rendition: m[1]! };
  }
  if (dir === 'thumbnails') {
    return THUMBNAIL.test(file) ? { kind: 'thumbnail', videoId, file } : `no such thumbnail file ${JSON.stringify(file)}`;
  }
  if (!renditionNames.includes(dir) && langOfAudioTrackRendition(dir) === null) return `unknown rendition ${JSON.stringify(dir)}`;
  if (file === 'playlist.m3u8') return { kind: 'media', videoId, rendition: dir };
  if (file === INIT_FILE_NAME) return { kind: 'init', videoId, rendition: dir };
  const segment = parseSegmentFile(file);
  // Only the canonical spelling, so `segment_00001.ts` cannot alias segment 1 under a second cache key.
  if (segment === null || segmentFileName(segment.index, segment.packaging) !== file) return `no such file ${JSON.stringify(file)}`;
  return { kind: 'segment', videoId, rendition: dir, index: segment.index, packaging: segment.packaging };
}

/** `query` is read only for `thumbnails/at.jpg`; every other path ignores it. */
export function parsePlaybackPath(pathname: string, renditionNames: readonly string[], query?: URLSearchParams): ParsedPath {
  const parts = pathname.split('/');
  // ['', 'v', id, ...]
  if (parts[0] !== '' || parts[1] !== 'v' || parts.length < 4) return { status: 'invalid', reason: 'no such playback path' };
  const videoId = parts[2]!;
  if (!isSafeId(videoId)) return { status: 'invalid', reason: 'video not found' };
  if (parts[3] === 't') {
    const token = parts[4] ?? '';
    if (!TOKEN_SEGMENT.test(token)) return { status: 'invalid', reason: 'no such playback path' };
    const object = parseObject(videoId, parts.slice(5), renditionNames, query);
    if (object instanceof BadQuery) return { status: 'bad_request', reason: object.reason };
    return typeof object === 'string' ? { status: 'invalid', reason: object } : { status: 'signed', token, object };
  }
  const object = parseObject(videoId, parts.slice(3), renditionNames, query);
  if (object instanceof BadQuery) return { status: 'bad_request', reason: object.reason };
  return typeof object === 'string' ? { status: 'invalid', reason: object } : { status: 'unsigned', object };
}

/** The canonical public path: the Cache API key (without origin) for this object. */
export function canonicalPath(object: PlaybackObject): string {
  switch (object.kind) {
    case 'master':
      return publicPaths.master(object.videoId);
    case 'dash':
      return publicPaths.dashManifest(object.videoId);
    case 'init':
      return publicPaths.init(object.videoId, object.rendition);
    case 'media':
      return publicPaths.mediaPlaylist(object.videoId, object.rendition);
    case 'segment':
      return publicPaths.segment(object.videoId, object.rendition, object.index, object.packaging);
    case 'thumbnail':
      return publicPaths.thumbnail(object.videoId, object.file);
    case 'caption':
      if (object.file === 'playlist') return publicPaths.captionPlaylist(object.videoId, object.lang);
      return object.file === 'segment' ? publicPaths.captionSegment(object.videoId, object.lang) : publicPaths.captionFile(object.videoId, object.lang);
    case 'download':
      return publicPaths.download(object.videoId, object.rendition);
    case 'frame':
      // Rounded to a frame of the video (frames/frame.ts needs its frame rate): never the raw asked time.
      throw new Error('frame objects are keyed by frames/frame.ts, not canonicalPath');
  }
}

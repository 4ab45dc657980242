/**
 * Every R2 key and public playback path is built here and nowhere else.
 *
 * R2 layout:
 *   originals/{videoId}/original
 *   originals/{videoId}/composite.json                 (instead of `original`: a tus concatenation's parts, see shared/original.ts)
 *   videos/{videoId}/master.m3u8
 *   videos/{videoId}/{rendition}/playlist.m3u8
 *   originals/{videoId}/audio_{lang}                   (the file given for an extra audio track, kept to re-encode)
 *   videos/{videoId}/{rendition}/segment_{nnnn}.ts      ({rendition}: a ladder rung, `audio`, or an extra audio
 *                                                      track's `audio_{lang}`; packaging `ts`)
 *   videos/{videoId}/{rendition}/init.mp4               (packaging `cmaf`: the rendition's init segment, then…)
 *   videos/{videoId}/{rendition}/segment_{nnnn}.m4s     (…its fragmented MP4 segments, for HLS and DASH alike)
 *   videos/{videoId}/thumbnails/{file}
 *   videos/{videoId}/captions/{lang}.vtt                (normalised WebVTT, one per caption track)
 *   videos/{videoId}/frames/f{frame}_w{width}.jpg       (thumbnails at any time, cut on first request)
 *   videos/{videoId}/downloads/{rendition}.mp4          (progressive MP4 downloads)
 *   videos/{videoId}/downloads/audio.m4a                (the audio-only download: the default audio track)
 *   uploads/{videoId}/{uploadNonce}/tail-{endOffset}   (tus bytes staged until they fill an R2 part; temporary)
 *   uploads/{partialId}/{uploadNonce}/data             (a tus partial upload's bytes; temporary until a final upload
 *                                                      makes it a part of a composite original, then the video's)
 *   analytics/view-events/dt={yyyy-mm-dd}/hour={hh}/{batchId}.ndjson
 *   bench/{name}                                      (internal benchmark scratch objects; deleted right after)
 * Public (cache-key) paths mirror the production design's: /v/{videoId}/{rendition}/segment_{nnnn}.ts
 */
import type { Packaging } from '../../schema/schema';

/** Ids and rendition names are restricted so they can never escape their prefix (no `/`, `..`, `%`). */
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LANG_TAG = /^[A-Za-z0-9-]{2,35}$/;
const SAFE_FILE = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9]{1,8})?$/;

export function isSafeId(value: string): boolean {
  return SAFE_ID.test(value);
}

function assertSafe(value: string, what: string, pattern = SAFE_ID): string {
  if (!pattern.test(value)) throw new Error(`unsafe ${what}: ${JSON.stringify(value)}`);
  return value;
}

/** The audio rendition's directory name, beside the ladder's rungs (`videos/{id}/audio/segment_0000.ts`). */
export const AUDIO_RENDITION = 'audio';

/** An extra audio track's rendition directory: `audio_pt-BR` (workers/audio-tracks). */
export const audioTrackRendition = (lang: string): string => `${AUDIO_RENDITION}_${lang}`;
const AUDIO_TRACK_DIR = /^audio_([A-Za-z0-9-]{2,35})$/;

/** The language of an `audio_{lang}` rendition name, or null for any other name. */
export function langOfAudioTrackRendition(name: string): string | null {
  return AUDIO_TRACK_DIR.exec(name)?.[1] ?? null;
}

/** A download's file name: `720p.mp4`, or `audio.m4a` for the audio-only download. */
export const downloadFileName = (rendition: string): string => (rendition === AUDIO_RENDITION ? `${AUDIO_RENDITION}.m4a` : `${rendition}.mp4`);

/** `segment_0007.ts` (packaging `ts`) or `segment_0007.m4s` (`cmaf`). */
export const segmentFileName = (n: number, packaging: Packaging = 'ts'): string => `segment_${String(n).padStart(4, '0')}.${packaging === 'cmaf' ? 'm4s' : 'ts'}`;

/** A CMAF rendition's init segment (`EXT-X-MAP` in HLS, `initialization` in DASH). */
export const INIT_FILE_NAME = 'init.mp4';

/** Parses `segment_0007.ts` or `segment_0007.m4s`; anything else is null. */
export function parseSegmentFile(name: string): { index: number; packaging: Packaging } | null {
  const m = /^segment_(\d{4,6})\.(ts|m4s)$/.exec(name);
  return m ? { index: Number(m[1]), packaging: m[2] === 'm4s' ? 'cmaf' : 'ts' } : null;
}

/** The segment number of `segment_0007.ts` / `segment_0007.m4s`; anything else is null. */
export function parseSegmentFileName(name: string): number | null {
  return parseSegmentFile(name)?.index ?? null;
}

export const keys = {
  original: (videoId: string) => `originals/${assertSafe(videoId, 'video id')}/original`,
  videoPrefix: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/`,
  originalPrefix: (videoId: string) => `originals/${assertSafe(videoId, 'video id')}/`,
  /** A composite original's manifest: the ordered R2 objects (tus partial uploads) whose bytes are the original. */
  originalManifest: (videoId: string) => `originals/${assertSafe(videoId, 'video id')}/composite.json`,
  masterPlaylist: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/master.m3u8`,
  renditionPrefix: (videoId: string, rendition: string) =>
    `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/`,
  mediaPlaylist: (videoId: string, rendition: string) =>
    `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/playlist.m3u8`,
  segment: (videoId: string, rendition: string, n: number, packaging: Packaging = 'ts') =>
    `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/${segmentFileName(n, packaging)}`,
  init: (videoId: string, rendition: string) => `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/${INIT_FILE_NAME}`,
  thumbnailsPrefix: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/thumbnails/`,
  thumbnail: (videoId: string, file: string) =>
    `videos/${assertSafe(videoId, 'video id')}/thumbnails/${assertSafe(file, 'thumbnail file', SAFE_FILE)}`,
  caption: (videoId: string, lang: string) =>
    `videos/${assertSafe(videoId, 'video id')}/captions/${assertSafe(lang, 'language tag', LANG_TAG)}.vtt`,
  framesPrefix: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/frames/`,
  frame: (videoId: string, frame: number, width: number) =>
    `videos/${assertSafe(videoId, 'video id')}/frames/f${Math.trunc(frame)}_w${Math.trunc(width)}.jpg`,
  download: (videoId: string, rendition: string) =>
    `videos/${assertSafe(videoId, 'video id')}/downloads/${downloadFileName(assertSafe(rendition, 'rendition'))}`,
  /** The file given for an extra audio track (under the originals prefix: it goes with the video). */
  audioTrackSource: (videoId: string, lang: string) => `originals/${assertSafe(videoId, 'video id')}/audio_${assertSafe(lang, 'language tag', LANG_TAG)}`,
  /** Everything an in-progress tus upload staged; deleted on completion, expiry, termination or video deletion. */
  uploadStagingPrefix: (videoId: string, uploadNonce: string) =>
    `uploads/${assertSafe(videoId, 'video id')}/${assertSafe(uploadNonce, 'upload nonce')}/`,
  /** A staged partial part ending at `endOffset` of the file: a new key per write, so a failed write never clobbers the committed one. */
  uploadStagedTail: (videoId: string, uploadNonce: string, endOffset: number) =>
    `uploads/${assertSafe(videoId, 'video id')}/${assertSafe(uploadNonce, 'upload nonce')}/tail-${Math.trunc(endOffset)}`,
  uploadStagedTailPrefix: (videoId: string, uploadNonce: string) =>
    `uploads/${assertSafe(videoId, 'video id')}/${assertSafe(uploadNonce, 'upload nonce')}/tail-`,
  /** A tus partial upload's assembled bytes (owner `pt_…`, see UploadKind); under its staging prefix, so expiry takes it. */
  uploadPartialData: (partialOwnerId: string, uploadNonce: string) =>
    `uploads/${assertSafe(partialOwnerId, 'partial owner id')}/${assertSafe(uploadNonce, 'upload nonce')}/data`,
  analyticsViewEventsPrefix: 'analytics/view-events/',
  /** One NDJSON object per consumer batch and event hour. */
  analyticsViewEvents: (date: string, hour: string, batchId: string) =>
    `analytics/view-events/dt=${assertSafe(date, 'date')}/hour=${assertSafe(hour, 'hour')}/${assertSafe(batchId, 'batch id')}.ndjson`,
  /** Scratch object of the internal upload benchmark route (bare R2 put of a body); deleted right after. */
  benchScratch: (name: string) => `bench/${assertSafe(name, 'bench object name')}`,
} as const;

const ORIGINAL_KEY = /^originals\/([A-Za-z0-9_-]{1,64})\/original$/;
const PARTIAL_DATA_KEY = /^(uploads\/[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_-]{1,64}\/)data$/;

/** The video whose original `key` is (`originals/{id}/original`), or null for any other key. */
export function videoIdOfOriginalKey(key: string): string | null {
  return ORIGINAL_KEY.exec(key)?.[1] ?? null;
}

/** The staging prefix of a partial upload's data key (`uploads/{partialId}/{nonce}/`), or null for any other key. */
export function partialPrefixOfDataKey(key: string): string | null {
  return PARTIAL_DATA_KEY.exec(key)?.[1] ?? null;
}

/** Canonical public paths: the Cache API key for playback objects (no signature, no query). */
export const publicPaths = {
  master: (videoId: string) => `/v/${videoId}/master.m3u8`,
  mediaPlaylist: (videoId: string, rendition: string) => `/v/${videoId}/${rendition}/playlist.m3u8`,
  segment: (videoId: string, rendition: string, n: number, packaging: Packaging = 'ts') => `/v/${videoId}/${rendition}/${segmentFileName(n, packaging)}`,
  init: (videoId: string, rendition: string) => `/v/${videoId}/${rendition}/${INIT_FILE_NAME}`,
  /** The DASH manifest of a CMAF video (the same segment files as its HLS playlists). */
  dashManifest: (videoId: string) => `/v/${videoId}/manifest.mpd`,
  thumbnail: (videoId: string, file: string) => `/v/${videoId}/thumbnails/${file}`,
  /** A frame at any time: the canonical key of `thumbnails/at.jpg?time=…&width=…` (time as a frame number). */
  frame: (videoId: string, frame: number, width: number) => `/v/${videoId}/thumbnails/at_f${frame}_w${width}.jpg`,
  captionPlaylist: (videoId: string, lang: string) => `/v/${videoId}/captions/${lang}.m3u8`,
  /** The subtitles rendition's one segment: the track with the HLS `X-TIMESTAMP-MAP` header. */
  captionSegment: (videoId: string, lang: string) => `/v/${videoId}/captions/${lang}_hls.vtt`,
  captionFile: (videoId: string, lang: string) => `/v/${videoId}/captions/${lang}.vtt`,
  download: (videoId: string, rendition: string) => `/v/${videoId}/downloads/${downloadFileName(rendition)}`,
  /**
   * Signed master URL path: the token sits in the path (`/v/{id}/t/{token}/…`) so every relative URI in the
   * playlists and the storyboard resolves under it. Stripping `t/{token}/` gives the canonical path above.
   */
  signedMaster: (videoId: string, token: string) => `/v/${videoId}/t/${token}/master.m3u8`,
  signedDashManifest: (videoId: string, token: string) => `/v/${videoId}/t/${token}/manifest.mpd`,
} as const;

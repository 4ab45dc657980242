/**
 * Every R2 key and public playback path is built here and nowhere else.
 *
 * R2 layout:
 *   originals/{videoId}/original
 *   videos/{videoId}/master.m3u8
 *   videos/{videoId}/{rendition}/playlist.m3u8
 *   videos/{videoId}/{rendition}/segment_{nnnn}.ts      ({rendition}: a ladder rung, or `audio`)
 *   videos/{videoId}/thumbnails/{file}
 *   uploads/{videoId}/{uploadNonce}/tail-{endOffset}   (tus bytes staged until they fill an R2 part; temporary)
 *   analytics/view-events/dt={yyyy-mm-dd}/hour={hh}/{batchId}.ndjson
 *   bench/{name}                                      (internal benchmark scratch objects; deleted right after)
 * Public (cache-key) paths mirror the seed: /v/{videoId}/{rendition}/segment_{nnnn}.ts
 */

/** Ids and rendition names are restricted so they can never escape their prefix (no `/`, `..`, `%`). */
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SAFE_FILE = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9]{1,8})?$/;

export function isSafeId(value: string): boolean {
  return SAFE_ID.test(value);
}

export function isSafeFileName(value: string): boolean {
  return SAFE_FILE.test(value);
}

function assertSafe(value: string, what: string, pattern = SAFE_ID): string {
  if (!pattern.test(value)) throw new Error(`unsafe ${what}: ${JSON.stringify(value)}`);
  return value;
}

/** The audio rendition's directory name, beside the ladder's rungs (`videos/{id}/audio/segment_0000.ts`). */
export const AUDIO_RENDITION = 'audio';

export const segmentFileName = (n: number): string => `segment_${String(n).padStart(4, '0')}.ts`;

/** Parses `segment_0007.ts` into 7; anything else is null. */
export function parseSegmentFileName(name: string): number | null {
  const m = /^segment_(\d{4,6})\.ts$/.exec(name);
  return m ? Number(m[1]) : null;
}

export const keys = {
  original: (videoId: string) => `originals/${assertSafe(videoId, 'video id')}/original`,
  videoPrefix: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/`,
  originalPrefix: (videoId: string) => `originals/${assertSafe(videoId, 'video id')}/`,
  masterPlaylist: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/master.m3u8`,
  renditionPrefix: (videoId: string, rendition: string) =>
    `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/`,
  mediaPlaylist: (videoId: string, rendition: string) =>
    `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/playlist.m3u8`,
  segment: (videoId: string, rendition: string, n: number) =>
    `videos/${assertSafe(videoId, 'video id')}/${assertSafe(rendition, 'rendition')}/${segmentFileName(n)}`,
  thumbnailsPrefix: (videoId: string) => `videos/${assertSafe(videoId, 'video id')}/thumbnails/`,
  thumbnail: (videoId: string, file: string) =>
    `videos/${assertSafe(videoId, 'video id')}/thumbnails/${assertSafe(file, 'thumbnail file', SAFE_FILE)}`,
  /** Everything an in-progress tus upload staged; deleted on completion, expiry, termination or video deletion. */
  uploadStagingPrefix: (videoId: string, uploadNonce: string) =>
    `uploads/${assertSafe(videoId, 'video id')}/${assertSafe(uploadNonce, 'upload nonce')}/`,
  /** A staged partial part ending at `endOffset` of the file: a new key per write, so a failed write never clobbers the committed one. */
  uploadStagedTail: (videoId: string, uploadNonce: string, endOffset: number) =>
    `uploads/${assertSafe(videoId, 'video id')}/${assertSafe(uploadNonce, 'upload nonce')}/tail-${Math.trunc(endOffset)}`,
  analyticsViewEventsPrefix: 'analytics/view-events/',
  /** One NDJSON object per consumer batch and event hour. */
  analyticsViewEvents: (date: string, hour: string, batchId: string) =>
    `analytics/view-events/dt=${assertSafe(date, 'date')}/hour=${assertSafe(hour, 'hour')}/${assertSafe(batchId, 'batch id')}.ndjson`,
  /** Scratch object of the internal upload benchmark route (bare R2 put of a body); deleted right after. */
  benchScratch: (name: string) => `bench/${assertSafe(name, 'bench object name')}`,
} as const;

/** Canonical public paths: the Cache API key for playback objects (no signature, no query). */
export const publicPaths = {
  master: (videoId: string) => `/v/${videoId}/master.m3u8`,
  mediaPlaylist: (videoId: string, rendition: string) => `/v/${videoId}/${rendition}/playlist.m3u8`,
  segment: (videoId: string, rendition: string, n: number) => `/v/${videoId}/${rendition}/${segmentFileName(n)}`,
  thumbnail: (videoId: string, file: string) => `/v/${videoId}/thumbnails/${file}`,
  /**
   * Signed master URL path: the token sits in the path (`/v/{id}/t/{token}/…`) so every relative URI in the
   * playlists and the storyboard resolves under it. Stripping `t/{token}/` gives the canonical path above.
   */
  signedMaster: (videoId: string, token: string) => `/v/${videoId}/t/${token}/master.m3u8`,
} as const;

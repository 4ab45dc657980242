/** The signed download, `/v/{id}/t/{token}/downloads/{rung}.mp4` or `audio.m4a`, through the edge cache (Range included). */
import { conflict, notFound } from '../shared/errors';
import type { Config } from '../shared/config';
import { openDb } from '../shared/db';
import { AUDIO_RENDITION, downloadFileName, keys } from '../shared/storage-keys';
import type { OriginObject } from '../playback/edge-cache';
import type { PlaybackObject } from '../playback/paths';
import type { PlaybackState } from '../playback/state';
import { getDownload } from './repo';

export async function produceDownload(env: Env, config: Config, state: PlaybackState, object: Extract<PlaybackObject, { kind: 'download' }>): Promise<OriginObject> {
  const row = await getDownload(openDb(env.DB), object.videoId, object.rendition);
  if (!row) throw notFound(`no ${object.rendition} download for this video: create it with POST /v1/videos/{id}/downloads`);
  if (row.status !== 'COMPLETED') throw conflict(`the ${object.rendition} download is ${row.status.toLowerCase()}`);
  const stored = await env.MEDIA.get(keys.download(object.videoId, object.rendition));
  if (!stored) throw notFound('download file not found');
  return {
    body: stored.body,
    headers: new Headers({
      'Content-Type': object.rendition === AUDIO_RENDITION ? 'audio/mp4' : 'video/mp4',
      'Content-Length': String(stored.size),
      'Cache-Control': config.downloads.cacheControl,
      'Content-Disposition': `attachment; filename="${state.video.id}-${downloadFileName(object.rendition)}"`,
      ETag: stored.httpEtag,
      'Last-Modified': stored.uploaded.toUTCString(),
    }),
  };
}

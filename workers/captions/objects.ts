/** Playback objects of caption tracks: the subtitles playlist, its one WebVTT segment, and the plain download. */
import { notFound } from '../shared/errors';
import type { Config } from '../shared/config';
import { keys } from '../shared/storage-keys';
import type { OriginObject } from '../playback/edge-cache';
import { HLS_CONTENT_TYPE } from '../playback/manifest';
import type { PlaybackObject } from '../playback/paths';
import type { PlaybackState } from '../playback/state';
import { firstListedRung, firstSegmentPts, playableDuration, subtitlesPlaylist, withTimestampMap } from './hls';

const VTT_TYPE = 'text/vtt; charset=utf-8';

function text(body: string, contentType: string, cacheControl: string, extra: Record<string, string> = {}): OriginObject {
  return {
    body,
    headers: new Headers({ 'Content-Type': contentType, 'Content-Length': String(new TextEncoder().encode(body).byteLength), 'Cache-Control': cacheControl, ...extra }),
  };
}

/** MPEG-TS clock of the first frame when the segment cannot be read: ffmpeg's default start (1.4 s). */
const FFMPEG_DEFAULT_START_PTS = 126_000;

export async function produceCaption(env: Env, config: Config, state: PlaybackState, object: Extract<PlaybackObject, { kind: 'caption' }>): Promise<OriginObject> {
  const track = state.captions.find((t) => t.lang === object.lang);
  if (!track) throw notFound(`no caption track ${JSON.stringify(object.lang)} for this video`);
  const cacheControl = config.captions.cacheControl;
  if (object.file === 'playlist') return text(subtitlesPlaylist(track.lang, playableDuration(state)), HLS_CONTENT_TYPE, cacheControl);
  const stored = await env.MEDIA.get(keys.caption(object.videoId, track.lang));
  if (!stored) throw notFound('caption file not found');
  const vtt = await stored.text();
  if (object.file === 'download') {
    return text(vtt, VTT_TYPE, cacheControl, { 'Content-Disposition': `inline; filename="${object.videoId}.${track.lang}.vtt"` });
  }
  const rung = firstListedRung(state);
  const pts = (rung && (await firstSegmentPts(env.MEDIA, state, rung))) ?? FFMPEG_DEFAULT_START_PTS;
  return text(withTimestampMap(vtt, pts), VTT_TYPE, cacheControl);
}

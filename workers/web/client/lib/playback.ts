/**
 * Signed playback URLs. `GET /v1/videos/:id/playback` returns a signed master-playlist URL; thumbnails (poster,
 * storyboard, sprites) sit next to it under the same signed scope, so their URLs are derived from it.
 */
import { api, type Playback } from './api';

export async function playbackFor(videoId: string): Promise<Playback> {
  return api<Playback>(`/v1/videos/${encodeURIComponent(videoId)}/playback`);
}

/** `…/master.m3u8?sig` → `…/thumbnails/{file}?sig` (the signature covers the whole video scope). */
export function thumbnailUrl(masterUrl: string, file: string): string {
  const url = new URL(masterUrl, location.href);
  url.pathname = url.pathname.replace(/master\.m3u8$/, `thumbnails/${file}`);
  return url.toString();
}

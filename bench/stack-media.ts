/**
 * Media for benchmarks that serve playback from a local stack without transcoding: a video created through the API,
 * its objects written straight into the stack's persisted R2, and its signed playback path.
 */
import path from 'node:path';
import { Miniflare } from 'miniflare';
import type { Stack } from '../test/helpers/local-stack';

/** A new video of the stack's creator (UPLOADING until given transcode results). */
export async function createVideo(stack: Stack, title: string): Promise<string> {
  const created = await fetch(`${stack.origin}/v1/videos`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  if (!created.ok) throw new Error(`create video: ${created.status} ${await created.text()}`);
  return ((await created.json()) as { id: string }).id;
}

/** Writes objects straight into the stack's persisted R2 (the layout wrangler dev uses), much faster than one CLI call each. */
export async function putObjects(stack: Stack, objects: { key: string; body: Uint8Array }[]): Promise<void> {
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null) } }',
    r2Buckets: { MEDIA: 'edge-video-media' },
    r2Persist: path.join(stack.stateDir, 'v3', 'r2'),
  });
  try {
    const bucket = await mf.getR2Bucket('MEDIA');
    for (let i = 0; i < objects.length; i += 16) {
      await Promise.all(objects.slice(i, i + 16).map((o) => bucket.put(o.key, o.body)));
    }
  } finally {
    await mf.dispose();
  }
}

/** The signed playback path of a READY video up to its master playlist's directory (`/v/{id}/t/{token}/`). */
export async function signedBase(stack: Stack, videoId: string): Promise<string> {
  const playback = await fetch(`${stack.origin}/v1/videos/${videoId}/playback?ttl=86400`);
  if (playback.status !== 200) throw new Error(`playback: ${playback.status} ${await playback.text()}`);
  return new URL(((await playback.json()) as { url: string }).url).pathname.replace(/master\.m3u8$/, '');
}

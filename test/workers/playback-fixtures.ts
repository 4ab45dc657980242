/** Playback fixtures for workerd tests: videos in any state with renditions rows and R2 segments, like transcoding writes. */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { api, moveVideoTo, newCreator, newVideo } from './helpers';
import { openDb, schema } from '../../workers/shared/db';
import { keys } from '../../workers/shared/storage-keys';
import { purgeVideo } from '../../workers/playback/warming';
import type { VideoStatus, Visibility } from '../../schema/schema';

export interface RungFixture {
  name: string;
  height: number;
  durations: number[];
  /** Absent: `ts`. CMAF rungs get an `init.mp4` and `segment_{n}.m4s` objects. */
  packaging?: 'ts' | 'cmaf';
  kind?: 'video' | 'audio';
  codecs?: string;
  complete?: boolean;
}

export const DEFAULT_RUNGS: RungFixture[] = [
  { name: '240p', height: 240, durations: [2, 2, 1.5] },
  { name: '360p', height: 360, durations: [2, 2, 1.5] },
];

/** Deterministic segment bytes, distinct per video, rung and index. */
export function segmentBytes(videoId: string, rung: string, index: number, size = 4096): Uint8Array<ArrayBuffer> {
  const stamp = new TextEncoder().encode(`${videoId}/${rung}/${index};`);
  const out = new Uint8Array(new ArrayBuffer(size));
  for (let i = 0; i < size; i++) out[i] = stamp[i % stamp.length]!;
  return out;
}

export async function addRendition(videoId: string, rung: RungFixture, size = 4096): Promise<void> {
  const width = Math.round((rung.height * 16) / 9 / 2) * 2;
  const packaging = rung.packaging ?? 'ts';
  const audio = rung.kind === 'audio';
  await openDb(env.DB)
    .insert(schema.renditions)
    .values({
      videoId,
      name: rung.name,
      width: audio ? 0 : width,
      height: audio ? 0 : rung.height,
      bandwidth: audio ? 140_000 : rung.height * 2000,
      averageBandwidth: audio ? 130_000 : rung.height * 1500,
      codecs: rung.codecs ?? (audio ? 'mp4a.40.2' : 'avc1.4d401e,mp4a.40.2'),
      frameRate: audio ? null : 30,
      segmentCount: rung.durations.length,
      segmentDurations: JSON.stringify(rung.durations),
      totalBytes: size * rung.durations.length,
      kind: rung.kind ?? 'video',
      packaging,
      complete: rung.complete ?? true,
      createdAt: Date.now(),
    });
  if (packaging === 'cmaf') await env.MEDIA.put(keys.init(videoId, rung.name), segmentBytes(videoId, `${rung.name}-init`, 0, 512));
  await Promise.all(rung.durations.map((_, i) => env.MEDIA.put(keys.segment(videoId, rung.name, i, packaging), segmentBytes(videoId, rung.name, i, size))));
}

/** Moves the video to `status` through the state machine (helpers.ts `moveVideoTo`); `visibility` as the creator sets it. */
export async function setStatus(videoId: string, status: VideoStatus, visibility?: Visibility): Promise<void> {
  if (visibility) await openDb(env.DB).update(schema.videos).set({ visibility }).where(eq(schema.videos.id, videoId));
  await moveVideoTo(videoId, status);
}

export async function playableVideo(
  options: { status?: VideoStatus; rungs?: RungFixture[]; visibility?: Visibility; segmentSize?: number } = {},
): Promise<{ id: string; token: string; creatorId: string }> {
  const creator = await newCreator();
  const { id } = await newVideo(creator.token);
  const rungs = options.rungs ?? DEFAULT_RUNGS;
  for (const rung of rungs) await addRendition(id, rung, options.segmentSize);
  if (rungs.some((r) => r.packaging === 'cmaf')) await openDb(env.DB).update(schema.videos).set({ packaging: 'cmaf' }).where(eq(schema.videos.id, id));
  await setStatus(id, options.status ?? 'READY', options.visibility);
  // Becoming READY warmed its first seconds into the edge cache (video.ready); these tests start from a cold cache,
  // as after those copies were evicted: the cache keys the platform purges for a video.
  await purgeVideo(env, id);
  return { id, ...creator };
}

/** A signed master path (pathname only) from the public API. */
export async function signedMasterPath(videoId: string, token?: string, query = ''): Promise<string> {
  const res = await api(`/v1/videos/${videoId}/playback${query}`, { token });
  if (res.status !== 200) throw new Error(`playback failed: ${res.status} ${await res.text()}`);
  const { url } = await res.json<{ url: string }>();
  return new URL(url).pathname;
}

/** `/v/{id}/t/{token}/` from a signed master path. */
export const signedBase = (masterPath: string) => masterPath.replace(/master\.m3u8$/, '');

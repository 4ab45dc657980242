/**
 * `POST /internal/bench/videos/:id/transcoded` (only with BENCH_ROUTES=1 and `Authorization: Bearer
 * $INTERNAL_TOKEN`: shared/internal.ts): makes an UPLOADING video READY from transcode results the caller already
 * has, for benchmarks and tests that need many playable videos or a known duration and must not spend a transcode
 * on each. Nothing is written around the platform: the video moves UPLOADING → PROCESSING → READY through the state
 * machine (metadata/video-state.ts), the analysis facts are recorded as analysis records them, every unit of the
 * plan (one encode unit per rung, the audio track, the thumbnails) is claimed and completed with the given result
 * through the job table (jobs.ts), and the rendition rows and playlists come from the fan-in (outputs.ts), exactly
 * as when the units report back. The segments themselves are the caller's business (PUT through /internal/storage,
 * or none when only the rows matter).
 *
 * Body: `{ facts: { duration, width, height, frameRate, hasAudio }, renditions: RenditionResult[], audio:
 * AudioResult, thumbnails: ThumbnailsResult }` (containers/transcoder/src/protocol.ts); the renditions must be
 * exactly the ladder planned for that width × height. 200 `{ status: 'READY' }`; 400 on a malformed body or
 * renditions that are not the planned ladder, 404 for an unknown video, 409 when it is neither UPLOADING nor left
 * PROCESSING by an earlier call that was cut off (wrangler dev answers 503 when its Worker restarts mid-request): a
 * repeated call finishes what that one started.
 */
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { EncodeResult } from '../../containers/transcoder/src/protocol';
import { recordSourceFacts } from '../metadata/repo';
import { markUploadCompleted } from '../metadata/video-state';
import { schema } from '../shared/db';
import { badRequest, conflict, notFound } from '../shared/errors';
import type { AppEnv } from '../shared/hono-env';
import { isSafeId } from '../shared/storage-keys';
import { claimJob, completeClaim, ensureJobs, getJob } from './jobs';
import { encodeUnit } from './messages';
import { maybeMarkReady, plannedRungNames, refreshRenditions } from './outputs';

const positive = z.number().positive();
const track = { codecs: z.string().min(1), segmentDurations: z.array(positive).min(1), segmentSizes: z.array(z.number().int().nonnegative()).min(1), bandwidth: positive, averageBandwidth: positive, totalBytes: z.number().int().nonnegative() };

const Body = z.strictObject({
  sourceSize: z.number().int().nonnegative().optional(),
  facts: z.strictObject({ duration: positive, width: z.number().int().positive(), height: z.number().int().positive(), frameRate: positive, hasAudio: z.boolean() }),
  renditions: z.array(z.strictObject({ name: z.string().min(1), width: z.number().int().positive(), height: z.number().int().positive(), frameRate: positive, ...track })).min(1),
  audio: z.strictObject(track),
  thumbnails: z.strictObject({ poster: z.string(), sprites: z.array(z.string()), storyboard: z.string(), count: z.number().int().nonnegative() }),
});

export const benchResultRoutes = new Hono<AppEnv>().post('/internal/bench/videos/:id/transcoded', async (c) => {
  const id = c.req.param('id');
  if (!isSafeId(id)) throw badRequest('bad video id');
  const parsed = Body.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  const { facts, renditions, audio, thumbnails, sourceSize } = parsed.data;
  const { db, config } = c.var;
  const env = c.env;
  const video = await db.select().from(schema.videos).where(eq(schema.videos.id, id)).get();
  if (!video) throw notFound('no such video');
  // PROCESSING without an analysis: an earlier call of this route got that far (a real transcode starts with one).
  const resumable = video.status === 'PROCESSING' && !(await getJob(db, id, 'analyze'));
  if (video.status !== 'UPLOADING' && !resumable) throw conflict(`the video is ${video.status}, not UPLOADING`);
  // The ladder planned for the given picture and the video's own encoding settings (codecs, packaging).
  const planned = plannedRungNames(config, { ...video, width: facts.width, height: facts.height, duration: facts.duration, frameRate: facts.frameRate });
  const given = renditions.map((r) => r.name);
  if (given.length !== planned.length || planned.some((name) => !given.includes(name))) {
    throw badRequest(`the renditions (${given.join(', ')}) are not the ladder planned for ${facts.width}×${facts.height} (${planned.join(', ')})`);
  }

  if (video.status === 'UPLOADING') await markUploadCompleted(env, db, id, { sourceSize: sourceSize ?? 0, sourceSha256: null }, async () => undefined);
  await recordSourceFacts(db, id, { ...facts, rotation: 0, videoCodec: 'h264', audioCodec: facts.hasAudio ? 'aac' : null });
  const chunk = { index: 0, startSec: 0, endSec: null, firstSegment: 0 };
  const results = new Map<string, unknown>([
    ...renditions.map((r): [string, EncodeResult] => [encodeUnit([r.name], 0), { chunk, renditions: [r], bytesRead: null }]),
    ['audio', audio],
    ['thumbnails', thumbnails],
  ]);
  await ensureJobs(db, id, [...results.keys()].map((unit) => ({ unit, range: unit.startsWith('encode:') ? { start: 0, end: null } : undefined })));
  for (const [unit, result] of results) {
    const claim = await claimJob(db, id, unit, config.transcoding.jobLeaseMs);
    if (claim.status === 'completed') continue;
    // Busy: claimed by the earlier call that was cut off (nothing else claims these units).
    const job = claim.status === 'claimed' ? claim.job : claim.status === 'busy' ? await getJob(db, id, unit) : undefined;
    if (!job || !(await completeClaim(db, job, result))) throw conflict(`unit ${unit} could not be completed (${claim.status})`);
  }
  const refreshed = await refreshRenditions(env, db, config, id);
  if (refreshed.status !== 'ok') throw conflict(refreshed.reason);
  if (!(await maybeMarkReady(env, db, config, id))) throw conflict('the video did not become READY');
  return c.json({ status: 'READY' });
});

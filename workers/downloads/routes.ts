/**
 * MP4 and M4A downloads:
 *   POST /v1/videos/:id/downloads {type?, rendition?}  (creator) → 202 with the download's state (200 when made)
 *   GET  /v1/videos/:id/downloads                         → { downloads: [{…, url, expiresAt}] }
 *
 * Without `rendition` the highest rung is made. `type: "audio"` makes an M4A of the default audio track (the extra
 * track marked default, else the main audio), copied from its AAC segments: the row `audio`, the file `audio.m4a`. The job runs on the `media-jobs` queue (consumer.ts); its status and
 * progress show in the video object (`downloads`) and here. Completed downloads get a signed URL,
 * `/v/{id}/t/{token}/downloads/{rung}.mp4`, served through the edge cache with Range and
 * `Content-Disposition: attachment`. The MP4 lives under the video's R2 prefix, so it goes with the video.
 */
import { createRoute } from '@hono/zod-openapi';
import { optionalCreator, requireCreator } from '../shared/auth';
import { apiError, badRequest, conflict, notFound } from '../shared/errors';
import { apiRoutes, bearerAuth, errors, jsonContent, optionalJsonObjectBody, z } from '../shared/openapi';
import { runtime } from '../shared/runtime';
import { canRead, requireOwnedVideo, requireVideo } from '../metadata/videos';
import { loadPlaybackState } from '../playback/state';
import { defaultAudioRendition } from '../playback/audio-group';
import { AUDIO_RENDITION, downloadFileName } from '../shared/storage-keys';
import { signToken } from '../playback/signing';
import { publicOrigin, type Config } from '../shared/config';
import { keyring } from '../shared/keyring';
import { listDownloads, requestDownload, type DownloadRow } from './repo';
import { codecOfCodecs } from '../shared/rendition-names';
import { enqueueMediaJob } from './messages';
import { VideoIdParams } from '../metadata/schemas';
import { DownloadSchema, RequestDownloadSchema } from './schemas';

function downloadView(row: DownloadRow, url: string | null, expiresAt: string | null) {
  return {
    rendition: row.rendition,
    status: row.status,
    progress: row.progress,
    method: row.method,
    size: row.size,
    duration: row.duration,
    error: row.error,
    url,
    expiresAt,
  };
}

async function signedBase(c: { var: { config: Config }; req: { url: string } }, videoId: string, ttlSec: number): Promise<{ base: string; expiresAt: string } | null> {
  const signed = await signToken(keyring(c.var.config.secrets), videoId, runtime().now() / 1000, ttlSec);
  if (!signed) return null;
  const origin = publicOrigin(c.var.config, c.req.url);
  return { base: `${origin}/v/${videoId}/t/${signed.token}/`, expiresAt: new Date(signed.exp * 1000).toISOString() };
}

const tags = ['downloads'];

const requestRoute = createRoute({
  method: 'post',
  path: '/v1/videos/{id}/downloads',
  tags,
  security: bearerAuth,
  summary: 'Make a progressive MP4 of the highest (or a named) rung; the body may be left out',
  middleware: [requireCreator, optionalJsonObjectBody],
  request: { params: VideoIdParams, body: { required: false, content: { 'application/json': { schema: RequestDownloadSchema } } } },
  responses: { 200: jsonContent(DownloadSchema, 'Already made (with its signed URL)'), 202: jsonContent(DownloadSchema, 'Queued or being made'), ...errors(400, 401, 403, 404, 409) },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/videos/{id}/downloads',
  tags,
  summary: 'MP4 downloads of a video, with signed URLs for finished ones',
  middleware: [optionalCreator],
  request: { params: VideoIdParams },
  responses: { 200: jsonContent(z.object({ downloads: z.array(DownloadSchema) }), 'Downloads'), ...errors(404, 503) },
});

export const downloadRoutes = apiRoutes()
  .openapi(requestRoute, async (c) => {
    const body = c.req.valid('json');
    const record = await requireOwnedVideo(c, c.req.valid('param').id);
    const videoId = record.video.id;
    if (record.video.status !== 'READY') throw conflict(`downloads can be made of READY videos (this one is ${record.video.status})`);
    const state = await loadPlaybackState(c.var.db, videoId);
    if (body.type === 'audio') {
      if (body.rendition !== undefined) throw badRequest('rendition is for video downloads; an audio download is of the default audio track');
      if (!state || !defaultAudioRendition(state)) throw conflict('the video has no audio rendition to download');
      if (!record.video.hasAudio && state.audioTracks.length === 0) throw conflict('the video has no audio: its upload had no audio stream and it has no audio track');
    }
    const rungs = [...(state?.renditions.values() ?? [])].filter((r) => r.kind === 'video').sort((a, b) => b.height - a.height);
    if (rungs.length === 0) throw conflict('the video has no playable rendition');
    const asked = body.rendition;
    // Without a name: the highest H.264 rung (every player plays it; HEVC and AV1 rungs are asked for by name).
    const rung = asked === undefined ? (rungs.find((r) => codecOfCodecs(r.codecs) === 'h264') ?? rungs[0]!) : rungs.find((r) => r.name === asked);
    if (!rung) throw badRequest(`rendition ${JSON.stringify(asked)} does not exist for this video (available: ${rungs.map((r) => r.name).join(', ')})`);
    // The audio-only download is the row `audio` (its file `downloads/audio.m4a`).
    const name = body.type === 'audio' ? AUDIO_RENDITION : rung.name;
    const row = await requestDownload(c.var.db, videoId, name);
    if (row.status === 'PENDING') {
      await enqueueMediaJob(c.env, { type: 'download', videoId, rendition: name });
    }
    let url: string | null = null;
    let expiresAt: string | null = null;
    if (row.status === 'COMPLETED') {
      const signed = await signedBase(c, videoId, c.var.config.playback.signedUrlTtlSec);
      if (signed) ({ expiresAt } = signed), (url = `${signed.base}downloads/${downloadFileName(row.rendition)}`);
    }
    return c.json(downloadView(row, url, expiresAt), row.status === 'COMPLETED' ? 200 : 202);
  })
  .openapi(listRoute, async (c) => {
    const record = await requireVideo(c, c.req.valid('param').id);
    if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
    const rows = await listDownloads(c.var.db, record.video.id);
    const signed = rows.some((r) => r.status === 'COMPLETED') ? await signedBase(c, record.video.id, c.var.config.playback.signedUrlTtlSec) : null;
    if (rows.some((r) => r.status === 'COMPLETED') && !signed) throw apiError('unavailable', 'playback signing keys are not configured');
    return c.json({
      downloads: rows.map((r) =>
        r.status === 'COMPLETED' && signed ? downloadView(r, `${signed.base}downloads/${downloadFileName(r.rendition)}`, signed.expiresAt) : downloadView(r, null, null),
      ),
    }, 200);
  });

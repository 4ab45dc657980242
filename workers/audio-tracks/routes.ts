/**
 * Extra audio tracks API (schemas.ts):
 *   PUT    /v1/videos/:id/audio/:lang?label=Português&default=true   body: the audio file   → 202 (the track, PENDING)
 *   POST   /v1/videos/:id/audio/:lang  {url}                                                 → 202 (fetched by the job)
 *   GET    /v1/videos/:id/audio                                                               → { originalLanguage, tracks }
 *   DELETE /v1/videos/:id/audio/:lang                                                         → 204
 *
 * The language is a BCP 47 tag (canonicalised: `pt-br` is `pt-BR`); one track per language, replaced by a later
 * PUT. The file is stored (`originals/{id}/audio_{lang}`) before the row, then encoded from the `audio-tracks` queue
 * (consumer.ts); the master playlist lists the track once it is COMPLETED.
 *
 * Only READY videos take tracks (409 otherwise): a track is fitted to the video's final duration and packaging,
 * which are only known once the video is transcoded, and a video that fails would leave tracks with nothing to play
 * beside. A client adds them after `video.ready` (webhook or polling). Clips carry their source's tracks (409 on a
 * clip: add the track to the source).
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { optionalCreator, requireCreator } from '../shared/auth';
import { badRequest, conflict, notFound, payloadTooLarge } from '../shared/errors';
import { readCappedBody } from '../shared/body';
import type { AppEnv } from '../shared/hono-env';
import { apiRoutes, bearerAuth, errors, jsonBody, jsonContent, jsonObjectBody, z } from '../shared/openapi';
import { audioTrackRendition, keys } from '../shared/storage-keys';
import { deletePrefix } from '../shared/original';
import { recountStoredBytes } from '../usage/stored';
import { assertWithinQuota } from '../usage/quota';
import { canRead, requireOwnedVideo, requireVideo } from '../metadata/videos';
import type { VideoRecord } from '../metadata/serialize';
import { VideoIdParams } from '../metadata/schemas';
import { languageName } from '../playback/audio-group';
import { canonicalLanguageTag } from '../captions/webvtt';
import { checkSourceUrl } from '../imports/source';
import { enqueueAudioTrack } from './messages';
import { purgeAudioTrackObjects } from './purge';
import { deleteAudioTrack, listAudioTracks, requestAudioTrack, type AudioTrackRow } from './repo';
import { AudioFileBody, AudioTrackQuery, AudioTrackSchema, AudioTrackUrlSchema, LangParams } from './schemas';

export function audioTrackView(videoId: string, r: AudioTrackRow) {
  const durations = r.segmentDurations ? (JSON.parse(r.segmentDurations) as number[]) : null;
  return {
    lang: r.lang,
    label: r.label,
    default: r.isDefault,
    status: r.status,
    progress: r.progress,
    error: r.error,
    warning: r.warning,
    inputDuration: r.inputDuration,
    duration: durations ? Math.round(durations.reduce((a, b) => a + b, 0) * 1000) / 1000 : null,
    bytes: r.bytes,
    source: r.sourceUrl ? ('url' as const) : ('upload' as const),
    updatedAt: new Date(r.updatedAt).toISOString(),
    playlist: `${audioTrackRendition(r.lang)}/playlist.m3u8`,
    videoId,
  };
}

const languageOf = (raw: string): string => canonicalLanguageTag(raw)!;

/** The checks every new file goes through before anything is stored. */
async function assertTrackable(c: Context<AppEnv>, record: VideoRecord, lang: string): Promise<void> {
  const { video } = record;
  if (video.clipOf) throw conflict('a clip carries the audio tracks of its source: add the track to the source video');
  if (video.status !== 'READY') throw conflict(`audio tracks can be added to READY videos (this one is ${video.status}); add it after video.ready`);
  const existing = await listAudioTracks(c.var.db, video.id);
  const max = c.var.config.audioTracks.maxTracks;
  if (!existing.some((t) => t.lang === lang) && existing.length >= max) throw conflict(`a video has at most ${max} audio tracks`);
}

/** Stores the body at the track's source key: streamed when its length is declared, else read whole up to the limit. */
async function storeBody(c: Context<AppEnv>, key: string, creatorId: string): Promise<void> {
  const max = c.var.config.audioTracks.maxBytes;
  const tooLarge = `audio track files are limited to ${max} bytes`;
  const req = c.req.raw;
  if (!req.body) throw badRequest('send the audio file as the request body');
  const declared = req.headers.get('Content-Length');
  if (declared !== null && /^\d+$/.test(declared)) {
    const size = Number(declared);
    if (size > max) throw payloadTooLarge(tooLarge);
    if (size === 0) throw badRequest('the audio file is empty');
    await assertWithinQuota(c.var.db, creatorId, { bytes: size });
    await c.env.MEDIA.put(key, req.body);
    return;
  }
  const bytes = await readCappedBody(req, max, tooLarge);
  if (bytes.byteLength === 0) throw badRequest('the audio file is empty');
  await assertWithinQuota(c.var.db, creatorId, { bytes: bytes.byteLength });
  await c.env.MEDIA.put(key, bytes);
}

const tags = ['audio'];
const accepted = (description: string) => ({ 202: jsonContent(AudioTrackSchema, description) });

export const audioTrackRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'put',
      path: '/v1/videos/{id}/audio/{lang}',
      tags,
      security: bearerAuth,
      summary: 'Add or replace the audio track of a language (encoded to AAC on the video timeline; cut or padded to its length)',
      middleware: [requireCreator],
      request: { params: LangParams, query: AudioTrackQuery, body: AudioFileBody },
      responses: { ...accepted('The track, queued for encoding'), ...errors(400, 401, 403, 404, 409, 413) },
      description: "The file counts against the creator's bytes quota (403 `quota_exceeded` up front).",
    }),
    async (c) => {
      const params = c.req.valid('param');
      const query = c.req.valid('query');
      const record = await requireOwnedVideo(c, params.id);
      const lang = languageOf(params.lang);
      await assertTrackable(c, record, lang);
      await storeBody(c, keys.audioTrackSource(record.video.id, lang), record.video.creatorId);
      return queue(c, record.video.id, lang, query, null);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/videos/{id}/audio/{lang}',
      tags,
      security: bearerAuth,
      summary: 'Add or replace the audio track of a language from a URL (fetched like imports: public hosts only)',
      middleware: [requireCreator, jsonObjectBody],
      request: { params: LangParams, query: AudioTrackQuery, body: jsonBody(AudioTrackUrlSchema) },
      responses: { ...accepted('The track, queued for fetching and encoding'), ...errors(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const params = c.req.valid('param');
      const query = c.req.valid('query');
      const verdict = checkSourceUrl(c.req.valid('json').url, c.var.config);
      if (verdict.status === 'refused') throw badRequest(verdict.reason);
      const record = await requireOwnedVideo(c, params.id);
      const lang = languageOf(params.lang);
      await assertTrackable(c, record, lang);
      // The job fetches the new URL: a file left by an earlier PUT or URL must not stand in for it.
      await c.env.MEDIA.delete(keys.audioTrackSource(record.video.id, lang));
      return queue(c, record.video.id, lang, query, verdict.url);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/videos/{id}/audio',
      tags,
      summary: "The video's audio: its original language and its extra tracks with their state",
      middleware: [optionalCreator],
      request: { params: VideoIdParams },
      responses: {
        200: jsonContent(z.object({ originalLanguage: z.string(), tracks: z.array(AudioTrackSchema) }), 'Tracks, by language'),
        ...errors(404),
      },
    }),
    async (c) => {
      const record = await requireVideo(c, c.req.valid('param').id);
      if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
      const rows = await listAudioTracks(c.var.db, record.video.id);
      return c.json({ originalLanguage: record.video.originalLanguage, tracks: rows.map((r) => audioTrackView(record.video.id, r)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/videos/{id}/audio/{lang}',
      tags,
      security: bearerAuth,
      summary: 'Remove the audio track of a language',
      middleware: [requireCreator],
      request: { params: LangParams },
      responses: { 204: { description: 'Removed' }, ...errors(400, 401, 403, 404) },
    }),
    async (c) => {
      const params = c.req.valid('param');
      const record = await requireOwnedVideo(c, params.id);
      const videoId = record.video.id;
      const lang = languageOf(params.lang);
      if (!(await deleteAudioTrack(c.var.db, videoId, lang))) throw notFound(`no audio track ${lang} for this video`);
      await c.env.MEDIA.delete(keys.audioTrackSource(videoId, lang));
      await deletePrefix(c.env.MEDIA, keys.renditionPrefix(videoId, audioTrackRendition(lang)));
      await purgeAudioTrackObjects(videoId, lang);
      await recountStoredBytes(c.env, c.var.db, videoId);
      return c.body(null, 204);
    },
  );

async function queue(c: Context<AppEnv>, videoId: string, lang: string, query: z.infer<typeof AudioTrackQuery>, sourceUrl: string | null) {
  const isDefault = query.default === undefined ? undefined : query.default === 'true' || query.default === '1';
  const row = await requestAudioTrack(c.var.db, { videoId, lang, label: query.label ?? languageName(lang), isDefault, sourceUrl });
  await enqueueAudioTrack(c.env, { type: 'audio-track', videoId, lang });
  // The master lists COMPLETED tracks only; a replaced one leaves it now (and the default may have moved).
  await purgeAudioTrackObjects(videoId, lang);
  return c.json(audioTrackView(videoId, row), 202, { Location: `/v1/videos/${videoId}/audio/${lang}` });
}

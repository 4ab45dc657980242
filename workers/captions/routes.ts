/**
 * Caption tracks API (schemas.ts):
 *   PUT    /v1/videos/:id/captions/:lang?label=English&default=true   body: WebVTT or SRT (≤ 2 MiB)  → 201 | 200
 *   GET    /v1/videos/:id/captions                                                                  → { captions }
 *   DELETE /v1/videos/:id/captions/:lang                                                            → 204
 *
 * The language is a BCP 47 tag (canonicalised: `pt-br` is stored as `pt-BR`); one track per language, replaced by a
 * later PUT. `default=true` makes the track the one players show unasked, and clears the flag on the others. The
 * file is validated and normalised (webvtt.ts) before anything is stored; the R2 object is written before its row,
 * so a listed track always has its file. Playback objects that list tracks (the master) or are tracks are purged
 * from this location's cache at once (other locations: see docs/media.md).
 */
import { createRoute } from '@hono/zod-openapi';
import { and, eq, ne } from 'drizzle-orm';
import { optionalCreator, requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest, conflict, notFound } from '../shared/errors';
import { readCappedBody } from '../shared/body';
import { apiRoutes, bearerAuth, errors, jsonContent, z } from '../shared/openapi';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { recountStoredBytes } from '../usage/stored';
import { canRead, requireOwnedVideo, requireVideo } from '../metadata/videos';
import { purgeCaptionObjects } from './purge';
import { canonicalLanguageTag, clipCues, decodeText, parseCaptions, serializeVtt } from './webvtt';
import { VideoIdParams } from '../metadata/schemas';
import { CaptionFileBody, CaptionQuery, CaptionSchema, LangParams } from './schemas';
import type { InferSelectModel } from 'drizzle-orm';

type CaptionRow = InferSelectModel<typeof schema.captions>;

const captionView = (videoId: string, r: CaptionRow) => ({
  lang: r.lang,
  label: r.label,
  default: r.isDefault,
  cues: r.cueCount,
  bytes: r.bytes,
  updatedAt: new Date(r.updatedAt).toISOString(),
  /** Relative to a signed playback base `/v/{id}/t/{token}/`. */
  files: { playlist: `captions/${r.lang}.m3u8`, vtt: `captions/${r.lang}.vtt` },
  videoId,
});

/** The validated tag, canonicalised (`pt-br` → `pt-BR`). */
const languageOf = (raw: string): string => canonicalLanguageTag(raw)!;

function defaultLabel(lang: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(lang) ?? lang;
  } catch {
    return lang;
  }
}

/** Reads at most `max` bytes of the body; more is a 413 without reading the rest. */
async function readCapped(req: Request, max: number): Promise<Uint8Array> {
  if (!req.body) throw badRequest('send the caption file (WebVTT or SRT) as the request body');
  return readCappedBody(req, max, `caption files are limited to ${max} bytes`);
}

const tags = ['captions'];
const PutCaptionSchema = CaptionSchema.extend({ clippedCues: z.number().int(), droppedCues: z.number().int() }).openapi('StoredCaption');

export const captionRoutes = apiRoutes()
  .openapi(
    createRoute({
      method: 'put',
      path: '/v1/videos/{id}/captions/{lang}',
      tags,
      security: bearerAuth,
      summary: 'Add or replace the caption track of a language (cues past the end of the video are clipped or dropped)',
      middleware: [requireCreator],
      request: { params: LangParams, query: CaptionQuery, body: CaptionFileBody },
      responses: {
        200: jsonContent(PutCaptionSchema, 'The replaced track'),
        201: jsonContent(PutCaptionSchema, 'The new track'),
        ...errors(400, 401, 403, 404, 409, 413),
      },
    }),
    async (c) => {
      const { config, db } = c.var;
      const params = c.req.valid('param');
      const query = c.req.valid('query');
      const record = await requireOwnedVideo(c, params.id);
      const videoId = record.video.id;
      const lang = languageOf(params.lang);
      const label = query.label ?? defaultLabel(lang);
      const makeDefault = query.default === undefined ? null : query.default === 'true' || query.default === '1';
      const bytes = await readCapped(c.req.raw, config.captions.maxBytes);
      if (bytes.byteLength === 0) throw badRequest('the caption file is empty');
      const text = decodeText(bytes);
      if (text === null) throw badRequest('the caption file is not UTF-8 text (WebVTT or SRT expected)');
      const parsed = parseCaptions(text.replace(/^\uFEFF/, ''));
      if (!parsed.ok) throw badRequest(`invalid caption file: ${parsed.message}`);
      const duration = record.video.duration;
      const { cues, clipped, dropped } = duration ? clipCues(parsed.cues, duration) : { cues: parsed.cues, clipped: 0, dropped: 0 };
      if (cues.length === 0) throw badRequest(`every cue starts after the end of the video (${duration} s)`);

      const existing = await db.select().from(schema.captions).where(eq(schema.captions.videoId, videoId));
      const replacing = existing.find((r) => r.lang === lang);
      if (!replacing && existing.length >= config.captions.maxTracks) throw conflict(`a video has at most ${config.captions.maxTracks} caption tracks`);

      const vtt = serializeVtt(cues);
      const size = new TextEncoder().encode(vtt).byteLength;
      await c.env.MEDIA.put(keys.caption(videoId, lang), vtt, { httpMetadata: { contentType: 'text/vtt; charset=utf-8' } });
      const now = runtime().now();
      const isDefault = makeDefault ?? replacing?.isDefault ?? false;
      const upsert = db
        .insert(schema.captions)
        .values({ videoId, lang, label, isDefault, cueCount: cues.length, bytes: size, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [schema.captions.videoId, schema.captions.lang], set: { label, isDefault, cueCount: cues.length, bytes: size, updatedAt: now } });
      if (isDefault) {
        // One default per video: the others lose the flag in the same batch.
        await db.batch([upsert, db.update(schema.captions).set({ isDefault: false, updatedAt: now }).where(and(eq(schema.captions.videoId, videoId), ne(schema.captions.lang, lang)))]);
      } else {
        await upsert;
      }
      await purgeCaptionObjects(videoId, [lang]);
      await recountStoredBytes(c.env, c.var.db, videoId);
      const row = (await db.select().from(schema.captions).where(and(eq(schema.captions.videoId, videoId), eq(schema.captions.lang, lang))).get())!;
      return c.json({ ...captionView(videoId, row), clippedCues: clipped, droppedCues: dropped }, replacing ? 200 : 201, {
        Location: `/v1/videos/${videoId}/captions/${lang}`,
      });
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/videos/{id}/captions',
      tags,
      summary: 'The caption tracks of a video',
      middleware: [optionalCreator],
      request: { params: VideoIdParams },
      responses: { 200: jsonContent(z.object({ captions: z.array(CaptionSchema) }), 'Tracks, by language'), ...errors(404) },
    }),
    async (c) => {
      const record = await requireVideo(c, c.req.valid('param').id);
      if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
      const rows = await c.var.db.select().from(schema.captions).where(eq(schema.captions.videoId, record.video.id)).orderBy(schema.captions.lang);
      return c.json({ captions: rows.map((r) => captionView(record.video.id, r)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/videos/{id}/captions/{lang}',
      tags,
      security: bearerAuth,
      summary: 'Remove the caption track of a language',
      middleware: [requireCreator],
      request: { params: LangParams },
      responses: { 204: { description: 'Removed' }, ...errors(400, 401, 403, 404) },
    }),
    async (c) => {
      const params = c.req.valid('param');
      const record = await requireOwnedVideo(c, params.id);
      const videoId = record.video.id;
      const lang = languageOf(params.lang);
      const deleted = await c.var.db
        .delete(schema.captions)
        .where(and(eq(schema.captions.videoId, videoId), eq(schema.captions.lang, lang)))
        .returning({ lang: schema.captions.lang });
      if (deleted.length === 0) throw notFound(`no caption track ${lang} for this video`);
      await c.env.MEDIA.delete(keys.caption(videoId, lang));
      await purgeCaptionObjects(videoId, [lang]);
      await recountStoredBytes(c.env, c.var.db, videoId);
      return c.body(null, 204);
    },
  );

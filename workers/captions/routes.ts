/**
 * Caption tracks API:
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
import { Hono } from 'hono';
import { and, eq, ne } from 'drizzle-orm';
import { optionalCreator, requireCreator } from '../shared/auth';
import { schema } from '../shared/db';
import { badRequest, conflict, notFound } from '../shared/errors';
import { readCappedBody } from '../shared/body';
import type { AppEnv } from '../shared/hono-env';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { canRead, requireOwnedVideo, requireVideo } from '../metadata/videos';
import { purgeCaptionObjects } from './purge';
import { canonicalLanguageTag, clipCues, decodeText, parseCaptions, serializeVtt } from './webvtt';
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

function languageParam(raw: string): string {
  const lang = canonicalLanguageTag(raw);
  if (!lang) throw badRequest(`${JSON.stringify(raw.slice(0, 40))} is not a BCP 47 language tag (e.g. en, pt-BR, zh-Hant)`);
  return lang;
}

function defaultLabel(lang: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(lang) ?? lang;
  } catch {
    return lang;
  }
}

function parseLabel(raw: string | undefined, lang: string, max: number): string {
  if (raw === undefined) return defaultLabel(lang);
  const label = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (label === '' || label.length > max || /[\u0000-\u001f\u007f"]/.test(label)) {
    throw badRequest(`label must be 1 to ${max} characters, without control characters or double quotes`);
  }
  return label;
}

function parseDefault(raw: string | undefined): boolean | null {
  if (raw === undefined) return null;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw badRequest('default must be true or false');
}

/** Reads at most `max` bytes of the body; more is a 413 without reading the rest. */
async function readCapped(req: Request, max: number): Promise<Uint8Array> {
  if (!req.body) throw badRequest('send the caption file (WebVTT or SRT) as the request body');
  return readCappedBody(req, max, `caption files are limited to ${max} bytes`);
}

export const captionRoutes = new Hono<AppEnv>()
  .put('/v1/videos/:id/captions/:lang', requireCreator, async (c) => {
    const { config, db } = c.var;
    const record = await requireOwnedVideo(c, c.req.param('id'));
    const videoId = record.video.id;
    const lang = languageParam(c.req.param('lang'));
    const label = parseLabel(c.req.query('label'), lang, config.captions.maxLabel);
    const makeDefault = parseDefault(c.req.query('default'));
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
    const row = (await db.select().from(schema.captions).where(and(eq(schema.captions.videoId, videoId), eq(schema.captions.lang, lang))).get())!;
    return c.json({ ...captionView(videoId, row), clippedCues: clipped, droppedCues: dropped }, replacing ? 200 : 201, {
      Location: `/v1/videos/${videoId}/captions/${lang}`,
    });
  })
  .get('/v1/videos/:id/captions', optionalCreator, async (c) => {
    const record = await requireVideo(c, c.req.param('id'));
    if (!canRead(record, c.var.creatorId)) throw notFound('video not found');
    const rows = await c.var.db.select().from(schema.captions).where(eq(schema.captions.videoId, record.video.id)).orderBy(schema.captions.lang);
    return c.json({ captions: rows.map((r) => captionView(record.video.id, r)) });
  })
  .delete('/v1/videos/:id/captions/:lang', requireCreator, async (c) => {
    const record = await requireOwnedVideo(c, c.req.param('id'));
    const videoId = record.video.id;
    const lang = languageParam(c.req.param('lang'));
    const deleted = await c.var.db
      .delete(schema.captions)
      .where(and(eq(schema.captions.videoId, videoId), eq(schema.captions.lang, lang)))
      .returning({ lang: schema.captions.lang });
    if (deleted.length === 0) throw notFound(`no caption track ${lang} for this video`);
    await c.env.MEDIA.delete(keys.caption(videoId, lang));
    await purgeCaptionObjects(videoId, [lang]);
    return c.body(null, 204);
  });

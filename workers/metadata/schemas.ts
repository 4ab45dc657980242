/** Schemas of the video metadata API (validation and OpenAPI); messages kept from the hand-written parser. */
import { limitQuery, z } from '../shared/openapi';
import { LADDER_MODES, PACKAGINGS, VIDEO_CODECS, VIDEO_STATUSES, VISIBILITIES } from '../../schema/schema';
import { VIDEO_TEXT } from '../shared/config';
import { visibleText } from '../shared/text';
import { canonicalLanguageTag } from '../shared/language';

const { maxTitle: MAX_TITLE, maxDescription: MAX_DESCRIPTION } = VIDEO_TEXT;

/** Titles and descriptions follow the text rule of shared/text.ts (no controls, bidi overrides or invisible titles). */
const title = visibleText('title', { max: MAX_TITLE, typeMessage: 'title is required and must be a non-empty string', emptyMessage: 'title is required and must be a non-empty string' });
const description = visibleText('description', { max: MAX_DESCRIPTION, shape: 'multiline', required: false });
const visibility = z.enum(VISIBILITIES, { error: `visibility must be one of ${VISIBILITIES.join(', ')}` });

/** When the video deletes itself: an ISO 8601 time (checked against the allowed window by the route), or null. */
export const scheduledDeletion = z
  .string({ error: 'scheduledDeletion must be an ISO 8601 time, or null' })
  .max(64, 'scheduledDeletion must be an ISO 8601 time, or null')
  .nullable()
  .openapi({ example: '2027-01-01T00:00:00Z', description: 'When the video is deleted (at least 1 h, at most 365 days ahead); null cancels' });

/** The language of the upload's own audio (BCP 47, canonicalised; `und`: not said). */
export const originalLanguage = z
  .string({ error: 'originalLanguage must be a BCP 47 language tag such as "en" or "pt-BR" (or "und")' })
  .refine((raw) => raw === 'und' || canonicalLanguageTag(raw) !== null, {
    error: (issue) => `originalLanguage ${JSON.stringify(String(issue.input).slice(0, 40))} is not a BCP 47 language tag (e.g. en, pt-BR, zh-Hant; und: not said)`,
  })
  .transform((raw) => (raw === 'und' ? raw : canonicalLanguageTag(raw)!))
  .openapi({ example: 'en', description: "BCP 47 tag of the upload's own audio (listed as such beside extra audio tracks); default `und`" });

/**
 * How a new video is encoded (each optional: the platform default). The rules between them (H.264 always, each codec
 * once, HEVC/AV1 only with CMAF) are checked with the defaults known: encoding-settings.ts.
 */
export const EncodingFields = {
  ladderMode: z
    .enum(LADDER_MODES, { error: `ladderMode must be one of ${LADDER_MODES.map((m) => `"${m}"`).join(', ')}` })
    .optional()
    .openapi({ description: '`per-title`: capped-CRF rungs chosen from the video\'s content; `fixed`: the configured bitrates' }),
  packaging: z
    .enum(PACKAGINGS, { error: `packaging must be one of ${PACKAGINGS.map((p) => `"${p}"`).join(', ')}` })
    .optional()
    .openapi({ description: '`ts`: MPEG-TS segments (HLS); `cmaf`: fragmented MP4 segments for HLS and DASH (manifest.mpd)' }),
  codecs: z
    .array(z.enum(VIDEO_CODECS, { error: `codecs entries must be ${VIDEO_CODECS.map((c) => `"${c}"`).join(', ')}` }), {
      error: 'codecs must be an array such as ["h264", "av1"]',
    })
    .min(1, 'codecs must list at least "h264"')
    .max(VIDEO_CODECS.length, `codecs may list at most ${VIDEO_CODECS.length} codecs`)
    .optional()
    .openapi({ description: 'Video codecs of the ladder: "h264" always, plus "hevc" and/or "av1" rungs (packaging "cmaf" only)', example: ['h264', 'av1'] }),
};

export const CreateVideoSchema = z
  .strictObject({ title, description: description.optional(), visibility: visibility.optional(), scheduledDeletion: scheduledDeletion.optional(), originalLanguage: originalLanguage.optional(), ...EncodingFields })
  .openapi('CreateVideo');

/** Poster frame time in seconds (workers/frames); null restores the transcoder's poster. PATCH only. */
const posterTime = z
  .number({ error: 'posterTime must be a number of seconds ≥ 0, or null' })
  .finite('posterTime must be a number of seconds ≥ 0, or null')
  .min(0, 'posterTime must be a number of seconds ≥ 0, or null')
  .nullable();

/** Whether playback needs a signed token; false lets an unsigned URL play a public video. */
const requireSignedURLs = z.boolean({ error: 'requireSignedURLs must be true or false' });

const MAX_ALLOWED_ORIGINS = 32;
const originRule = 'allowedOrigins must be a list of http(s) origins like "https://app.example", or null';
/** Origins whose pages may play the video (every token for it); null or [] lifts the restriction. */
const allowedOrigins = z
  .array(
    z.string({ error: originRule }).max(2048, originRule).refine((o) => {
      try {
        const url = new URL(o);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === o.replace(/\/$/, '');
      } catch {
        return false;
      }
    }, originRule),
    { error: originRule },
  )
  .max(MAX_ALLOWED_ORIGINS, `allowedOrigins may list at most ${MAX_ALLOWED_ORIGINS} origins`)
  .nullable();

export const UpdateVideoSchema = z
  .strictObject({
    title: title.optional(),
    description: description.optional(),
    visibility: visibility.optional(),
    posterTime: posterTime.optional(),
    requireSignedURLs: requireSignedURLs.optional(),
    allowedOrigins: allowedOrigins.optional(),
    scheduledDeletion: scheduledDeletion.optional(),
    originalLanguage: originalLanguage.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to update: send title, description, visibility, posterTime, requireSignedURLs, allowedOrigins, scheduledDeletion or originalLanguage')
  .openapi('UpdateVideo');

export const VideoSchema = z
  .object({
    id: z.string().openapi({ example: 'vid_0k5x8m2q9r3t7v1w' }),
    creatorId: z.string(),
    status: z.enum(VIDEO_STATUSES),
    title: z.string(),
    description: z.string(),
    visibility: z.enum(VISIBILITIES),
    duration: z.number().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    renditions: z.array(z.object({ name: z.string(), width: z.number(), height: z.number() }).loose()),
    error: z.string().optional().openapi({ description: 'Why processing failed (status FAILED)' }),
    viewCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    readyAt: z.string().nullable(),
    requireSignedURLs: z.boolean(),
    allowedOrigins: z.array(z.string()).nullable(),
    scheduledDeletion: z.string().nullable(),
    originalDeletedAt: z.string().nullable().openapi({ description: "When the uploaded original was deleted under the platform's retention (ORIGINAL_RETENTION_DAYS); null while it is kept" }),
    originalLanguage: z.string().openapi({ description: "BCP 47 tag of the upload's own audio; `und`: not said" }),
    ladderMode: z.enum(LADDER_MODES),
    packaging: z.enum(PACKAGINGS),
    codecs: z.array(z.enum(VIDEO_CODECS)),
    ladder: z
      .object({ mode: z.enum(LADDER_MODES), reason: z.string().nullable().optional(), crf: z.record(z.string(), z.number()).optional() })
      .loose()
      .nullable()
      .openapi({ description: 'How the rate control was decided: per-title CRFs per rung, or the fixed ladder (with the reason when per-title was asked). Null until decided.' }),
  })
  .loose()
  .openapi('Video');

export const VideoIdParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'vid_0k5x8m2q9r3t7v1w' }) });

export const ListVideosQuery = z.object({
  limit: limitQuery('20'),
  cursor: z.string().optional().openapi({ param: { name: 'cursor', in: 'query' } }),
});

/** Schemas of the caption tracks API (validation and OpenAPI); messages kept from the hand-written parser. */
import { z } from '../shared/openapi';
import { defaults } from '../shared/config';
import { visibleText } from '../shared/text';
import { VideoIdParams } from '../metadata/schemas';
import { canonicalLanguageTag } from './webvtt';

const MAX_LABEL = defaults.captions.maxLabel;
const labelRule = `label must be 1 to ${MAX_LABEL} characters, without control characters or double quotes`;
/** The text rule of shared/text.ts, and no `"`: a label is an HLS quoted-string (NAME="…"), which has no escape. */
export const trackLabel = visibleText('label', { max: MAX_LABEL, typeMessage: labelRule, tooLong: labelRule, emptyMessage: labelRule }).refine((value) => !value.includes('"'), labelRule);

export const LangParams = VideoIdParams.extend({
  lang: z
    .string()
    .refine((raw) => canonicalLanguageTag(raw) !== null, {
      error: (issue) => `${JSON.stringify(String(issue.input).slice(0, 40))} is not a BCP 47 language tag (e.g. en, pt-BR, zh-Hant)`,
    })
    .openapi({ param: { name: 'lang', in: 'path' }, example: 'pt-BR', description: 'BCP 47 language tag (stored canonicalised: pt-br is pt-BR)' }),
});

export const CaptionQuery = z.object({
  label: trackLabel
    .optional()
    .openapi({ param: { name: 'label', in: 'query' }, example: 'English', description: 'Shown in players; default: the language name in English' }),
  default: z
    .enum(['true', 'false', '1', '0'], { error: 'default must be true or false' })
    .optional()
    .openapi({ param: { name: 'default', in: 'query' }, description: 'true makes this the track players show unasked (and clears the flag on the others)' }),
});

export const CaptionFileBody = {
  required: true,
  description: `A WebVTT or SRT file (SRT is converted), UTF-8, at most ${defaults.captions.maxBytes} bytes (413 above)`,
  content: {
    'text/vtt': { schema: z.string().openapi({ example: 'WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello\n' }) },
    'application/x-subrip': { schema: z.string() },
  },
};

export const CaptionSchema = z
  .object({
    lang: z.string(),
    label: z.string(),
    default: z.boolean(),
    cues: z.number().int(),
    bytes: z.number().int(),
    updatedAt: z.string(),
    files: z.object({ playlist: z.string(), vtt: z.string() }).openapi({ description: 'Relative to a signed playback base /v/{id}/t/{token}/' }),
    videoId: z.string(),
  })
  .openapi('Caption');

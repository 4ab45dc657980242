/** Schemas of `POST /v1/videos/:id/clips` (validation and OpenAPI); messages kept from the hand-written parser. */
import { z } from '../shared/openapi';
import { VIDEO_TEXT } from '../shared/config';
import { visibleText } from '../shared/text';
import { VideoSchema } from '../metadata/schemas';

const MAX_TITLE = VIDEO_TEXT.maxTitle;
const startRule = 'start must be a number of seconds ≥ 0';
const endRule = 'end must be a number of seconds after start';
const titleRule = `title must be a non-empty string of at most ${MAX_TITLE} characters`;

export const CreateClipSchema = z
  .strictObject({
    start: z.number({ error: startRule }).min(0, startRule).openapi({ description: 'Seconds into the video', example: 12 }),
    end: z.number({ error: endRule }).openapi({ description: 'Seconds into the video, after start (at most its duration)', example: 42 }),
    title: visibleText('title', { max: MAX_TITLE, typeMessage: titleRule, tooLong: titleRule, emptyMessage: titleRule })
      .optional()
      .openapi({ description: 'Default: the source title + " (clip)"' }),
  })
  .refine((body) => body.end > body.start, { error: endRule, path: ['end'] })
  .openapi('CreateClip');

const range = z.object({ start: z.number(), end: z.number() });

export const ClipSchema = VideoSchema.extend({
  clip: range
    .extend({
      sourceId: z.string(),
      requested: range,
      segments: z.number().int(),
    })
    .openapi({ description: 'start/end: the asked range rounded outward to segment boundaries' }),
}).openapi('Clip');

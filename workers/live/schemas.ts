/** Request and response schemas of `/v1/live_inputs` (validation and OpenAPI). */
import { z } from '../shared/openapi';
import { defaults, VIDEO_TEXT } from '../shared/config';
import { visibleText } from '../shared/text';

const titleRule = `title must be a non-empty string of at most ${VIDEO_TEXT.maxTitle} characters`;
const Title = visibleText('title', { max: VIDEO_TEXT.maxTitle, typeMessage: titleRule, tooLong: titleRule, emptyMessage: titleRule });
const Recording = z.strictObject({ mode: z.enum(['automatic', 'off'], { error: 'recording.mode must be "automatic" or "off"' }) });
const Latency = z.enum(['standard', 'low'], { error: 'latency must be "standard" or "low"' });
const DvrWindow = z
  .number({ error: 'dvrWindowSeconds must be an integer number of seconds' })
  .int('dvrWindowSeconds must be an integer number of seconds')
  .min(30, 'dvrWindowSeconds must be at least 30')
  .max(defaults.live.maxDvrWindowSec, `dvrWindowSeconds must be at most ${defaults.live.maxDvrWindowSec}`);
const ReconnectWindow = z
  .number({ error: 'reconnectWindowSeconds must be an integer number of seconds' })
  .int('reconnectWindowSeconds must be an integer number of seconds')
  .min(1, 'reconnectWindowSeconds must be at least 1')
  .max(3600, 'reconnectWindowSeconds must be at most 3600');

export const CreateLiveInputSchema = z
  .strictObject({
    title: Title.optional(),
    recording: Recording.optional(),
    latency: Latency.optional(),
    dvrWindowSeconds: DvrWindow.optional(),
    reconnectWindowSeconds: ReconnectWindow.optional(),
  })
  .openapi('CreateLiveInput');

export const UpdateLiveInputSchema = CreateLiveInputSchema.openapi('UpdateLiveInput');

export const LiveInputSchema = z
  .object({
    id: z.string().openapi({ example: 'live_0k5x8m2q9r3t7v1w' }),
    title: z.string(),
    status: z.enum(['idle', 'live']),
    recording: z.object({ mode: z.enum(['automatic', 'off']) }),
    latency: Latency,
    dvrWindowSeconds: z.number(),
    reconnectWindowSeconds: z.number(),
    ingest: z.object({
      url: z.string().openapi({ description: 'Push HLS here: `ffmpeg … -f hls -hls_time 2 -method PUT {url}/index.m3u8`. Holds the secret stream key; shown at creation and rotation only.' }).optional(),
    }),
    playback: z.object({
      videoId: z.string().nullable().openapi({ description: "The current (or last) broadcast's video: play it with GET /v1/videos/{videoId}/playback" }),
    }),
    ladder: z
      .object({
        rungs: z.array(
          z.object({
            name: z.string(),
            width: z.number(),
            height: z.number(),
            segments: z.number().openapi({ description: 'Segments encoded so far' }),
            droppedFromSegment: z.number().nullable().openapi({ description: 'Dropped because the transcoder fell behind: the first segment it no longer has (null: encoding)' }),
          }),
        ),
        backlog: z.number().openapi({ description: 'Pushed segments waiting for their encode' }),
      })
      .optional()
      .openapi({ description: 'While live: the rungs transcoded from the pushed one (the pushed rung always plays as it is)' }),
    createdAt: z.string(),
  })
  .openapi('LiveInput');

export const LiveInputListSchema = z.object({ data: z.array(LiveInputSchema) }).openapi('LiveInputList');
export const LiveInputIdParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'live_0k5x8m2q9r3t7v1w' }) });

/** Schemas of the audio tracks API (validation and OpenAPI). */
import { z } from '../shared/openapi';
import { defaults } from '../shared/config';
import { DOWNLOAD_STATUSES } from '../../schema/schema';
import { trackLabel } from '../captions/schemas';

export { LangParams } from '../captions/schemas';

export const AudioTrackQuery = z.object({
  label: trackLabel
    .optional()
    .openapi({ param: { name: 'label', in: 'query' }, example: 'Português', description: 'Shown in players; default: the language name in English' }),
  default: z
    .enum(['true', 'false', '1', '0'], { error: 'default must be true or false' })
    .optional()
    .openapi({ param: { name: 'default', in: 'query' }, description: 'true makes this the track players start with (the flag moves from any other track; one default per video)' }),
});

export const AudioFileBody = {
  required: true,
  description: `An audio file ffmpeg reads (WAV, MP3, AAC, M4A, Opus, FLAC, …; a video file's first audio stream is taken), at most ${defaults.audioTracks.maxBytes} bytes by default (AUDIO_TRACK_MAX_BYTES; 413 above)`,
  content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) }, 'audio/*': { schema: z.string().openapi({ format: 'binary' }) } },
};

export const AudioTrackUrlSchema = z
  .strictObject({ url: z.string({ error: 'url must be an http(s) URL' }).min(1, 'url must be an http(s) URL').openapi({ example: 'https://example.com/dub-pt.m4a' }) })
  .openapi('AudioTrackUrl');

export const AudioTrackSchema = z
  .object({
    lang: z.string(),
    label: z.string(),
    default: z.boolean(),
    status: z.enum(DOWNLOAD_STATUSES).openapi({ description: 'PENDING → PROCESSING → COMPLETED (listed in the master playlist), or FAILED with `error`' }),
    progress: z.number(),
    error: z.string().nullable(),
    warning: z.string().nullable().openapi({ description: "Set when the file's length differed from the video's: it was cut, or padded with silence" }),
    inputDuration: z.number().nullable().openapi({ description: 'Seconds of audio in the given file' }),
    duration: z.number().nullable().openapi({ description: "Seconds of the encoded track (the video's duration)" }),
    bytes: z.number().int().nullable(),
    source: z.enum(['upload', 'url']),
    updatedAt: z.string(),
    /** Relative to a signed playback base `/v/{id}/t/{token}/`. */
    playlist: z.string().openapi({ description: 'Relative to a signed playback base /v/{id}/t/{token}/' }),
    videoId: z.string(),
  })
  .openapi('AudioTrack');

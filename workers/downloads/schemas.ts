/** Schemas of the MP4 downloads API (validation and OpenAPI); messages kept from the hand-written parser. */
import { z } from '../shared/openapi';
import { DOWNLOAD_STATUSES } from '../../schema/schema';

const renditionRule = 'rendition must be a rendition name, e.g. "720p"';

export const RequestDownloadSchema = z
  .strictObject({
    type: z
      .enum(['video', 'audio'], { error: 'type must be "video" (an MP4 of a rung) or "audio" (an M4A of the default audio track)' })
      .optional()
      .openapi({ description: '`video` (default): an MP4 of a rung; `audio`: an M4A of the default audio track, copied from its AAC segments', example: 'audio' }),
    rendition: z.string({ error: renditionRule }).max(32, renditionRule).optional().openapi({ description: 'A rung of the video (type video only); default: the highest', example: '720p' }),
  })
  .openapi('RequestDownload');

export const DownloadSchema = z
  .object({
    rendition: z.string(),
    status: z.enum(DOWNLOAD_STATUSES),
    progress: z.number(),
    method: z.string().nullable(),
    size: z.number().int().nullable(),
    duration: z.number().nullable(),
    error: z.string().nullable(),
    url: z.string().nullable().openapi({ description: 'Signed URL of the MP4 (COMPLETED only)' }),
    expiresAt: z.string().nullable(),
  })
  .openapi('Download');

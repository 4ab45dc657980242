/** Schemas of the MP4 downloads API (validation and OpenAPI); messages kept from the hand-written parser. */
import { z } from '../shared/openapi';
import { DOWNLOAD_STATUSES } from '../../schema/schema';

const renditionRule = 'rendition must be a rendition name, e.g. "720p"';

export const RequestDownloadSchema = z
  .strictObject({
    rendition: z.string({ error: renditionRule }).max(32, renditionRule).optional().openapi({ description: 'A rung of the video; default: the highest', example: '720p' }),
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

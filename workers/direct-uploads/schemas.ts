/** Request and response schemas of `POST /v1/direct_uploads` (validation and OpenAPI). */
import { z } from '../shared/openapi';
import { scheduledDeletion } from '../metadata/schemas';
import { defaults, VIDEO_TEXT } from '../shared/config';
import { visibleText } from '../shared/text';
import { EncodingFields } from '../metadata/schemas';

const MAX_TITLE = VIDEO_TEXT.maxTitle;
const MAX_METADATA_BYTES = 4096;

/** An origin as browsers send it: scheme, host, optional port; nothing else. */
const Origin = z
  .string()
  .max(300)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
    } catch {
      return false;
    }
  }, 'allowedOrigins entries must be origins like https://app.example.com (scheme, host, optional port; no path)');

export const CreateDirectUploadSchema = z
  .strictObject({
    maxDurationSeconds: z
      .number({ error: 'maxDurationSeconds must be a positive number of seconds' })
      .positive('maxDurationSeconds must be a positive number of seconds')
      .max(7 * 24 * 3600, 'maxDurationSeconds must be at most 604800')
      .optional(),
    maxSizeBytes: z
      .number({ error: 'maxSizeBytes must be a positive integer' })
      .int('maxSizeBytes must be a positive integer')
      .positive('maxSizeBytes must be a positive integer')
      .optional(),
    expiresInSeconds: z
      .number({ error: 'expiresInSeconds must be an integer' })
      .int('expiresInSeconds must be an integer')
      .min(defaults.directUploads.minTtlSec, `expiresInSeconds must be at least ${defaults.directUploads.minTtlSec}`)
      .max(defaults.directUploads.maxTtlSec, `expiresInSeconds must be at most ${defaults.directUploads.maxTtlSec}`)
      .optional(),
    allowedOrigins: z
      .array(Origin, { error: 'allowedOrigins must be an array of origins' })
      .min(1, 'allowedOrigins must list at least one origin (omit it to allow any)')
      .max(defaults.directUploads.maxAllowedOrigins, `allowedOrigins may list at most ${defaults.directUploads.maxAllowedOrigins} origins`)
      .optional(),
    title: visibleText('title', { max: MAX_TITLE }).optional(),
    metadata: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]), {
        error: 'metadata must be an object of strings, numbers, booleans or nulls',
      })
      .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON`)
      .optional(),
    scheduledDeletion: scheduledDeletion.optional(),
    ...EncodingFields,
  })
  .openapi('CreateDirectUpload');

export const DirectUploadSchema = z
  .object({
    id: z.string().openapi({ example: 'du_0k5x8m2q9r3t7v1w' }),
    uploadURL: z.string().url().openapi({ description: 'tus 1.0.0 endpoint; needs no Authorization header; single use' }),
    videoId: z.string(),
    expiresAt: z.string().openapi({ description: 'ISO 8601; the upload must start before then' }),
  })
  .openapi('DirectUpload');

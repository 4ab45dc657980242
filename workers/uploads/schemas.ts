/** Schemas of the chunk upload API's JSON input (validation and OpenAPI); messages kept from the hand-written parser. */
import { z } from '../shared/openapi';

export const InitiateUploadSchema = z
  .strictObject({
    fileSize: z
      .number({ error: 'fileSize must be a positive integer (bytes)' })
      .int('fileSize must be a positive integer (bytes)')
      .positive('fileSize must be a positive integer (bytes)')
      .max(Number.MAX_SAFE_INTEGER, 'fileSize must be a positive integer (bytes)'),
    sha256: z
      .string({ error: 'sha256 must be 64 hexadecimal characters' })
      .regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hexadecimal characters')
      .optional(),
    contentType: z
      .string({ error: 'contentType must be a MIME type like video/mp4' })
      .regex(/^[\w.+-]+\/[\w.+-]+$/, 'contentType must be a MIME type like video/mp4')
      .optional(),
  })
  .openapi('InitiateUpload');

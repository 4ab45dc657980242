/** Schemas of `GET /v1/videos/:id/playback` (validation and OpenAPI). */
import { z } from '../shared/openapi';
import { defaults } from '../shared/config';

const ttlRule = 'ttl must be a positive integer number of seconds';

/**
 * `?ttl=` in seconds: a positive integer, given at most once. Any larger value is capped by the route at the
 * configured maximum (a client asking for "as long as possible" gets the longest, not an error).
 */
export const PlaybackQuery = z.object({
  ttl: z
    .string({ error: (issue) => (Array.isArray(issue.input) ? 'ttl given more than once' : ttlRule) })
    .regex(/^\d{1,64}$/, ttlRule)
    .refine((raw) => Number(raw) >= 1, ttlRule)
    .optional()
    .openapi({
      param: { name: 'ttl', in: 'query' },
      type: 'string',
      example: '3600',
      description: `Lifetime of the signed URL in seconds (default ${defaults.playback.signedUrlTtlSec}; larger values are capped at ${defaults.playback.maxSignedUrlTtlSec})`,
    }),
});

export const PlaybackSchema = z
  .object({
    url: z.string().openapi({ description: 'Signed master playlist URL' }),
    dashUrl: z.string().optional().openapi({ description: 'Signed DASH manifest URL over the same segments (CMAF videos only)' }),
    expiresAt: z.string(),
    session: z.string().openapi({ description: 'Playback session token; send it with view beacons' }),
    status: z.string(),
    renditions: z.array(z.string()),
  })
  .openapi('Playback');

/** Schemas of the views API (validation and OpenAPI); messages kept from the hand-written parser. */
import { z } from '../shared/openapi';
import { VIEWER_ID, type ViewEvent } from './rules';


const viewerIdRule = 'viewerId must be 1-128 characters of letters, digits and _ . : @ -';
const watchRule = 'watchDuration must be a finite number of seconds ≥ 0';
const durationRule = 'videoDuration must be a finite number of seconds > 0';
const sessionRule = 'session must be the session token from GET /v1/videos/{id}/playback';

export const ViewEventSchema = z
  .strictObject({
    viewerId: z
      .string({ error: viewerIdRule })
      .regex(VIEWER_ID, viewerIdRule)
      .nullish()
      .openapi({ description: 'Stable viewer id; without it the first-party evv cookie is used' }),
    watchDuration: z.number({ error: watchRule }).min(0, watchRule).openapi({ description: 'Seconds watched' }),
    videoDuration: z
      .number({ error: durationRule })
      .positive(durationRule)
      .nullish()
      .openapi({ description: "The player's idea of the duration; must match the analysed one" }),
    session: z
      .string({ error: sessionRule })
      .max(256, sessionRule)
      .nullish()
      .openapi({ description: 'Playback session token from GET /v1/videos/{id}/playback' }),
  })
  .openapi('ViewEvent');

export const toViewEvent = (body: z.output<typeof ViewEventSchema>): ViewEvent => ({
  viewerId: body.viewerId ?? null,
  watchDuration: body.watchDuration,
  videoDuration: body.videoDuration ?? null,
  session: body.session ?? null,
});

export const ViewResultSchema = z
  .object({ counted: z.boolean(), reason: z.string().optional().openapi({ description: 'Why it did not count' }) })
  .openapi('ViewResult');

/** `from`/`to`: ISO 8601 or epoch milliseconds; empty is the same as absent. */
export function instantMs(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return null;
  const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : Date.parse(raw);
  return Number.isFinite(ms) ? ms : null;
}

export const instant = (name: 'from' | 'to', description: string) =>
  z
    .string({ error: `${name} must be given once` })
    .refine((raw) => raw === '' || instantMs(raw) !== null, `${name} must be an ISO 8601 time or epoch milliseconds`)
    .optional()
    .openapi({ param: { name, in: 'query' }, description, example: '2026-01-05T10:00:00Z' });

export const StatsQuery = z.object({
  from: instant('from', 'Start (ISO 8601 or epoch ms); default: `to` minus the default window'),
  to: instant('to', 'End (ISO 8601 or epoch ms); default: now'),
});

export const StatsSchema = z
  .object({ views: z.number().int(), uniqueViewers: z.number(), hourly: z.array(z.object({}).loose()) })
  .loose()
  .openapi('VideoStats');

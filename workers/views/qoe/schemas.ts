/**
 * The QoE beacon and the QoE reports (validation and OpenAPI). A beacon carries the records of one video's playback
 * sessions (usually one; a page with several players of one video sends several); each record is the session's
 * figures so far, numbered by `seq`, and a later record of a session replaces the earlier one (docs/qoe.md).
 */
import { z } from '../../shared/openapi';
import { instant } from '../schemas';

/** The bounds of one record's figures (per playback session, which lives at most 12 h). */
export const QOE_LIMITS = {
  maxMs: 48 * 3_600_000,
  maxCount: 100_000,
  maxBitrate: 1e9,
  maxHeight: 10_000,
  maxSeq: 1_000_000,
} as const;

const ms = (name: string, description: string) =>
  z
    .number({ error: `${name} must be a number of milliseconds` })
    .min(0, `${name} must be ≥ 0`)
    .max(QOE_LIMITS.maxMs, `${name} must be at most ${QOE_LIMITS.maxMs} ms`)
    .openapi({ description });
const count = (name: string, description: string) =>
  z
    .number({ error: `${name} must be an integer` })
    .int(`${name} must be an integer`)
    .min(0, `${name} must be ≥ 0`)
    .max(QOE_LIMITS.maxCount, `${name} must be at most ${QOE_LIMITS.maxCount}`)
    .openapi({ description });
const bitrate = (name: string, description: string) =>
  z
    .number({ error: `${name} must be a number of bits per second or null` })
    .min(0, `${name} must be ≥ 0`)
    .max(QOE_LIMITS.maxBitrate, `${name} must be at most ${QOE_LIMITS.maxBitrate}`)
    .nullable()
    .openapi({ description });

export const QoeRecordSchema = z
  .strictObject({
    session: z
      .string({ error: 'session must be the Playback-Session of the master playlist' })
      .min(1, 'session must be the Playback-Session of the master playlist')
      .max(256, 'session must be the Playback-Session of the master playlist')
      .openapi({ description: 'The playback session (the master playlist response header `Playback-Session`)' }),
    seq: z
      .number({ error: 'seq must be an integer' })
      .int('seq must be an integer')
      .min(0, 'seq must be ≥ 0')
      .max(QOE_LIMITS.maxSeq, `seq must be at most ${QOE_LIMITS.maxSeq}`)
      .openapi({ description: 'Record number within the session; a higher one replaces a lower one' }),
    startupMs: ms('startupMs', 'Play intent (a play, or the autoplay attempt) to the first frame; null before the first frame').nullable(),
    exitBeforeStart: z.boolean({ error: 'exitBeforeStart must be a boolean' }).openapi({ description: 'The session ended after a play intent and before the first frame' }),
    failure: z
      .string({ error: 'failure must be an error code or null' })
      .regex(/^[a-z0-9_]{1,48}$/, 'failure must be an error code (lower-case letters, digits, _) or null')
      .nullable()
      .openapi({ description: 'The code of the failure that stopped playback, or null' }),
    rebufferCount: count('rebufferCount', 'Stalls after the first frame, excluding seeks'),
    stalledMs: ms('stalledMs', 'Total time of those stalls'),
    watchedMs: ms('watchedMs', 'Time the video played (playhead advancing at normal progress)'),
    averageBitrate: bitrate('averageBitrate', 'Watch-time weighted bitrate (bits/s) of the renditions played'),
    finalBitrate: bitrate('finalBitrate', 'Bitrate (bits/s) of the rendition playing last'),
    finalHeight: z
      .number({ error: 'finalHeight must be an integer or null' })
      .int('finalHeight must be an integer or null')
      .min(0, 'finalHeight must be ≥ 0')
      .max(QOE_LIMITS.maxHeight, `finalHeight must be at most ${QOE_LIMITS.maxHeight}`)
      .nullable()
      .openapi({ description: 'Height of the rendition playing last' }),
    switches: count('switches', 'Changes of the playing rendition'),
  })
  .refine((r) => !(r.exitBeforeStart && r.startupMs !== null), { message: 'exitBeforeStart cannot be true when startupMs is set' })
  .openapi('QoeRecord');

export type QoeRecord = z.output<typeof QoeRecordSchema>;

export const QoeBeaconSchema = z
  .strictObject({
    records: z.array(QoeRecordSchema).min(1, 'records must hold 1 to 8 records').max(8, 'records must hold 1 to 8 records'),
  })
  .openapi('QoeBeacon');

export const QoeBeaconResultSchema = z
  .object({
    accepted: z.number().int().openapi({ description: 'Records taken (new, or replacing an earlier record of their session)' }),
    rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })).openapi({ description: 'Records not counted, and why' }),
  })
  .openapi('QoeBeaconResult');

export const QOE_BREAKDOWNS = ['country', 'browser'] as const;
export type QoeBreakdown = (typeof QOE_BREAKDOWNS)[number];

export const QoeQuery = z.object({
  from: instant('from', 'Start (ISO 8601 or epoch ms); default: `to` minus 48 hours'),
  to: instant('to', 'End (ISO 8601 or epoch ms); default: now'),
  by: z
    .enum(QOE_BREAKDOWNS, { error: 'by must be country or browser' })
    .optional()
    .openapi({ param: { name: 'by', in: 'query' }, description: 'Break the figures down by viewer country or by browser and OS family' }),
});

const Figures = z
  .object({
    views: z.number().int(),
    startedViews: z.number().int(),
    startupP50Ms: z.number().nullable(),
    startupP95Ms: z.number().nullable(),
    rebufferRatio: z.number().nullable(),
    rebufferCount: z.number(),
    stalledMs: z.number(),
    watchedMs: z.number(),
    failures: z.number(),
    failureRate: z.number().nullable(),
    exitsBeforeStart: z.number(),
    exitBeforeStartRate: z.number().nullable(),
    averageBitrate: z.number().nullable(),
    switches: z.number(),
  })
  .openapi('QoeFigures');

export const QoeReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    totals: Figures,
    hourly: z.array(Figures.extend({ hour: z.string() })),
    breakdown: z.object({ by: z.enum(QOE_BREAKDOWNS), groups: z.array(Figures.extend({ key: z.string() })) }).optional(),
    videos: z.array(Figures.extend({ videoId: z.string() })).optional().openapi({ description: 'GET /v1/qoe only: the videos with the most views, at most 50' }),
  })
  .openapi('QoeReport');

import { z } from '../shared/openapi';

export const UsageQuery = z.object({
  from: z.string().optional().openapi({ param: { name: 'from', in: 'query' }, example: '2026-12-01', description: 'First UTC day (default: 29 days before `to`)' }),
  to: z.string().optional().openapi({ param: { name: 'to', in: 'query' }, example: '2026-12-04', description: 'Last UTC day (default: today)' }),
});

const Totals = z.object({ minutesStored: z.number(), bytesStored: z.number() });
export const QuotaSchema = z
  .object({ minutesStored: z.number().nullable(), bytesStored: z.number().nullable() })
  .openapi('Quota');

export const DayUsageSchema = z.object({ day: z.string(), minutesStored: z.number(), bytesStored: z.number(), minutesDelivered: z.number() });

export const UsageSchema = z
  .object({
    creatorId: z.string(),
    from: z.string(),
    to: z.string(),
    current: Totals.openapi({ description: 'What is stored now' }),
    quota: QuotaSchema,
    minutesDelivered: z.number().openapi({ description: 'Over the range' }),
    days: z.array(DayUsageSchema),
  })
  .openapi('Usage');

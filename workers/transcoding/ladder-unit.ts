/**
 * The `ladder` unit of a per-title video: the complexity probe (transcoder `POST /v1/ladder`), dispatched after
 * analysis beside the audio track and the lowest rung's chunks. Its result decides every other rung's CRF
 * (ladder.ts `decideLadder`), recorded on the video, and plans the encode units that waited for it (plan.ts).
 *
 * The probe is an optimisation: when it cannot measure the source (a sample that does not decode cleanly, its
 * retries used up), the video keeps the fixed ladder for the rungs that waited, with the reason recorded in its
 * ladder decision, and goes on.
 */
import type { LadderProbeResult } from '../../containers/transcoder/src/protocol';
import { recordLadderDecision } from '../metadata/repo';
import { schema } from '../shared/db';
import { keys } from '../shared/storage-keys';
import { eq } from 'drizzle-orm';
import { getJob } from './jobs';
import { decideLadder, ladderSubject, probeRequest, type LadderDecision } from './ladder';
import { planAfterProbe, sendPlanned } from './plan';
import type { UnitCtx, UnitKind } from './unit-kind';

function isProbeResult(v: unknown): v is LadderProbeResult {
  return typeof v === 'object' && v !== null && Array.isArray((v as LadderProbeResult).rungs) && typeof (v as LadderProbeResult).sampleSec === 'number';
}

/** Records the decision and sends the units that waited for it. */
async function decide(ctx: UnitCtx, decision: LadderDecision): Promise<void> {
  await recordLadderDecision(ctx.db, ctx.video.id, decision);
  const subject = ladderSubject({ ...ctx.video, ladder: JSON.stringify(decision) });
  if (!subject) return;
  const rows = await ctx.db
    .select({ unit: schema.transcodeJobs.unit, rangeStart: schema.transcodeJobs.rangeStart, rangeEnd: schema.transcodeJobs.rangeEnd })
    .from(schema.transcodeJobs)
    .where(eq(schema.transcodeJobs.videoId, ctx.video.id))
    .all();
  await sendPlanned(ctx.env, ctx.db, ctx.video.id, planAfterProbe(ctx.config, ctx.video.id, subject, rows));
}

export const ladderUnit: UnitKind<{ type: 'ladder'; videoId: string }> = {
  prepare({ video, config }) {
    const subject = ladderSubject(video);
    if (!subject || !video.duration) return { status: 'not-yet', reason: 'video has not been analysed yet' };
    const body = probeRequest(config, subject, { key: keys.original(video.id), duration: video.duration, frameRate: video.frameRate ?? 30 });
    if (body.rungs.length === 0) return { status: 'invalid', reason: 'the ladder has no rung to probe' };
    return { status: 'ready', path: '/v1/ladder', body: { ...body } };
  },
  async completed(ctx) {
    const row = await getJob(ctx.db, ctx.video.id, 'ladder');
    let result: unknown = null;
    try {
      result = JSON.parse(row?.result ?? 'null');
    } catch {
      // handled below
    }
    const subject = ladderSubject(ctx.video);
    if (!subject) return;
    const decision: LadderDecision = isProbeResult(result) ? decideLadder(ctx.config, subject, result) : { mode: 'fixed', reason: 'the complexity probe returned no measurements' };
    await decide(ctx, decision);
  },
  async failed(ctx, reason) {
    await decide(ctx, { mode: 'fixed', reason: `the complexity probe failed: ${reason}` });
    return true;
  },
};

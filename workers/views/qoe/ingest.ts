/**
 * QoE beacon intake: each record's playback session is verified (signature, video, age) before anything is kept,
 * its figures must fit in the session's life, and the record goes to the session's shard (routing.ts `qoeShardFor`),
 * which keeps the latest record per session for the hourly flush. A record that is not counted is answered with its
 * reason; the others in the beacon are still taken.
 */
import type { Config } from '../../shared/config';
import type { Db } from '../../shared/db';
import { keyring } from '../../shared/keyring';
import { hourBucket } from '../counter/host';
import type { QoeRecordResult } from '../counter/types';
import { checkSession } from '../playback-session';
import { qoeShardFor, shardPlan, shardStub } from '../routing';
import type { Dimensions } from './dimensions';
import type { QoeRecord } from './schemas';

export interface IntakeResult {
  accepted: number;
  rejected: { index: number; reason: string }[];
  /** Whether a shard failed (the beacon may be sent again: records are idempotent by seq). */
  failed: boolean;
}

export async function takeQoeRecords(env: Env, db: Db, config: Config, videoId: string, records: readonly QoeRecord[], dimensions: Dimensions, now: number): Promise<IntakeResult> {
  const ring = keyring(config.secrets);
  const limits = { ttlSec: config.views.sessionTtlSec, skewSec: config.views.sessionSkewSec };
  const plan = await shardPlan(db, config, videoId);
  const outcomes = await Promise.all(
    records.map(async (record): Promise<QoeRecordResult | { status: string }> => {
      const check = await checkSession(ring, record.session, videoId, now, limits);
      if (!check.ok) return { status: check.reason };
      const { sessionId, startMs } = check.session;
      // Nobody plays or waits longer than the session has existed (plus the clock slack).
      if (record.watchedMs + record.stalledMs > now - startMs + config.views.sessionSkewSec * 1000) return { status: 'exceeds_session' };
      const shardIndex = qoeShardFor(sessionId, startMs, plan, config);
      return shardStub(env, videoId, shardIndex).recordQoe({
        videoId,
        shardIndex,
        sessionId,
        sessionExpiresAt: startMs + (config.views.sessionTtlSec + config.views.sessionSkewSec) * 1000,
        hour: hourBucket(startMs),
        seq: record.seq,
        dimensions,
        metrics: {
          startupMs: record.startupMs,
          exitBeforeStart: record.exitBeforeStart,
          failure: record.failure,
          rebufferCount: record.rebufferCount,
          stalledMs: record.stalledMs,
          watchedMs: record.watchedMs,
          averageBitrate: record.averageBitrate,
          switches: record.switches,
          finalBitrate: record.finalBitrate,
          finalHeight: record.finalHeight,
        },
      });
    }),
  );
  const result: IntakeResult = { accepted: 0, rejected: [], failed: false };
  outcomes.forEach((o, index) => {
    if (o.status === 'accepted') result.accepted++;
    else {
      if (o.status === 'failed') result.failed = true;
      result.rejected.push({ index, reason: o.status });
    }
  });
  return result;
}

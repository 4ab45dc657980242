/** The ViewCounter's RPC types (result unions: an RPC never throws to its caller). */
import type { Dimensions } from '../qoe/dimensions';
import type { SessionMetrics, SumsJson } from '../qoe/sketch';
import type { ShardPlan } from '../routing';

export interface ShardIdentity {
  videoId: string;
  shardIndex: number;
}

export interface RecordInput extends ShardIdentity, ShardPlan {
  viewerId: string;
  watchDuration: number;
  /**
   * The beacon's playback session and when it stops being accepted (ms); null when the session's own shard already
   * claimed it for this view (a promoted video whose session and viewer belong to different shards).
   */
  sessionId: string | null;
  sessionExpiresAt: number;
}

export type RecordResult =
  | { status: 'counted'; increment: number }
  | { status: 'duplicate' }
  | { status: 'session_used' }
  | { status: 'rate_limited'; retryAfterSec: number }
  | { status: 'failed'; error: string };

export type HandoverResult =
  | { status: 'ok'; entries: { viewer: string; expiresAt: number }[]; sessions: { session: string; expiresAt: number }[] }
  | { status: 'failed'; error: string };

/** A playback session to decide on its own shard (a promoted video whose session and viewer shards differ). */
export interface SessionClaimInput extends ShardIdentity, ShardPlan {
  sessionId: string;
  sessionExpiresAt: number;
}

export type SessionClaimResult = { status: 'fresh' } | { status: 'session_used' } | { status: 'failed'; error: string };

export type FlushResult = { status: 'ok'; seq: number | null; views: number } | { status: 'failed'; error: string };

export interface ShardSnapshot {
  /** Views not yet in any flush batch. */
  pendingViews: number;
  /** The batch being applied to D1, if a flush is under way or crashed before clearing it. */
  inflight: { seq: number; views: number; hours: { hour: number; views: number }[] } | null;
  /** Unflushed views per hour (the current hour's figures before its flush), with the hour's unique viewers. */
  hours: { hour: number; views: number; uniques: number }[];
  /** All-time viewer registers, or null when the shard has never counted anyone. */
  registers: Uint8Array | null;
}

/** One playback session's QoE record for its shard (see qoe-ledger.ts). */
export interface QoeRecordInput extends ShardIdentity {
  sessionId: string;
  /** When the session stops being accepted (ms): its row is kept until then. */
  sessionExpiresAt: number;
  /** The hour the session started (epoch seconds): the hour its figures belong to. */
  hour: number;
  seq: number;
  dimensions: Dimensions;
  metrics: SessionMetrics & { finalBitrate: number | null; finalHeight: number | null };
}

export type QoeRecordOutcome = 'accepted' | 'stale' | 'too_many_updates';

export type QoeRecordResult = { status: QoeRecordOutcome } | { status: 'failed'; error: string };

/** QoE sums of one (hour, country, browser, OS) cell. */
export interface QoeCell {
  hour: number;
  country: string;
  browser: string;
  os: string;
  sums: SumsJson;
}

export interface QoeSnapshot {
  /** Differences not yet in any flush batch. */
  pending: QoeCell[];
  /** The batch being applied to D1, if any (its seq tells whether D1 already has it). */
  inflight: { seq: number; cells: QoeCell[] } | null;
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

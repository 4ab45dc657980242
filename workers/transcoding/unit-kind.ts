/**
 * The shape of a dispatched unit kind (units.ts holds the table of kinds; ladder-unit.ts one of them): how its
 * transcoder request is prepared, and what its completion, partial results and final failure do.
 */
import type { Config } from '../shared/config';
import type { Db } from '../shared/db';
import type { JobRow, VideoRow } from '../metadata/serialize';
import type { WorkMessage } from './messages';
import type { TranscoderPath } from './transcoder-client';

export interface UnitCtx {
  env: Env;
  db: Db;
  config: Config;
  video: VideoRow;
  job: JobRow;
}

export type Prepared =
  | { status: 'ready'; path: TranscoderPath; body: Record<string, unknown> }
  /** The video is not analysed yet: retry later. */
  | { status: 'not-yet'; reason: string }
  /** The unit cannot be done for this video (e.g. a rung outside its ladder): the job fails, nothing retries. */
  | { status: 'invalid'; reason: string };

export type DispatchedMessage = Exclude<WorkMessage, { type: 'analyze' }>;

export interface UnitKind<M extends DispatchedMessage> {
  /**
   * Before the claim: why the unit cannot start yet — it needs another unit's output — or null when it can. The
   * consumer then drops the message; the unit it depends on sends a fresh one when its output is complete.
   */
  blockedBy?(ctx: Omit<UnitCtx, 'job'>): Promise<string | null>;
  prepare(ctx: UnitCtx, message: M): Prepared | Promise<Prepared>;
  /** Runs after the job row moved to COMPLETED (once per completion). */
  completed(ctx: UnitCtx): Promise<void>;
  /** A progress report carried a partial result (only kinds whose output is usable while they run). */
  partial?(ctx: UnitCtx, partial: unknown): Promise<void>;
  /**
   * The unit failed for good (its input, or its retries ran out). Kinds whose work is an optimisation handle it
   * and return true: the job is FAILED with the reason, the video goes on. Otherwise the video fails.
   */
  failed?(ctx: UnitCtx, reason: string): Promise<boolean>;
}

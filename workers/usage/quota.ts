/**
 * Operator quotas per creator (`PATCH /v1/admin/creators/:id {quota}`): minutes stored and bytes stored. An upload,
 * an import or a direct upload that would exceed them is refused up front with 403 `quota_exceeded` and the figures,
 * before any byte is kept: bytes against the size it declares (a deferred length: each PATCH against what is left),
 * minutes while the creator is already at its cap (a video's length is known only once analysed; an analysed video
 * that would pass the cap fails with the same reason, and its original is deleted).
 */
import type { Db } from '../shared/db';
import { apiError } from '../shared/errors';
import { findCreator, quotaOf, type Quota } from '../shared/creators';
import { storedTotals, type StoredTotals } from './stored';

export interface QuotaState {
  quota: Quota;
  stored: StoredTotals;
}

export async function quotaState(db: Db, creatorId: string): Promise<QuotaState | null> {
  const creator = await findCreator(db, creatorId);
  if (!creator) return null;
  const quota = quotaOf(creator);
  if (quota.minutesStored === null && quota.bytesStored === null) return { quota, stored: { minutesStored: 0, bytesStored: 0 } };
  return { quota, stored: await storedTotals(db, creatorId) };
}

/** Bytes the creator may still add (Infinity without a bytes cap). */
export function bytesLeft(state: QuotaState | null): number {
  if (!state || state.quota.bytesStored === null) return Infinity;
  return Math.max(0, state.quota.bytesStored - state.stored.bytesStored);
}

const exceeded = (state: QuotaState, adding: { bytes?: number; minutes?: number }, what: string) =>
  apiError('quota_exceeded', `this would exceed the creator's ${what} quota`, {
    details: { quota: state.quota, stored: state.stored, adding },
  });

/** 403 `quota_exceeded` when storing `bytes` more (and a new video) would pass a cap. */
export async function assertWithinQuota(db: Db, creatorId: string, adding: { bytes: number }): Promise<void> {
  const state = await quotaState(db, creatorId);
  if (!state) return;
  const { quota, stored } = state;
  if (quota.bytesStored !== null && stored.bytesStored + adding.bytes > quota.bytesStored) throw exceeded(state, adding, 'bytes stored');
  if (quota.minutesStored !== null && stored.minutesStored >= quota.minutesStored) throw exceeded(state, adding, 'minutes stored');
}

/** After analysis: a reason to refuse a video of `seconds` that would pass the minutes cap, or null. */
export async function minutesRefusal(db: Db, creatorId: string, videoId: string, seconds: number): Promise<string | null> {
  const state = await quotaState(db, creatorId);
  if (!state || state.quota.minutesStored === null) return null;
  // `stored` already counts this video (its duration was just recorded): compare the total.
  if (state.stored.minutesStored <= state.quota.minutesStored) return null;
  return `quota_exceeded: this ${Math.round(seconds)} s video would bring the creator's minutes stored to ${state.stored.minutesStored.toFixed(2)}, over the quota of ${state.quota.minutesStored}`;
}

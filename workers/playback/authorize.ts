/**
 * Who may read a playback object: the one decision every `/v/…` request goes through before any object is read.
 *
 *   /v/{id}/t/{hmac token}/…   the platform's own token (GET /v1/videos/:id/playback; signing.ts): checked first,
 *                              with no storage read, so forged traffic cannot probe storage
 *   /v/{id}/t/{jwt}/…          a token the creator's app signed with a signing key (signed-key-tokens.ts)
 *   /v/{id}/…                  unsigned: only a public video whose `requireSignedUrls` is off
 *
 * Then, for every kind: the page's origin against the video's allowed origins and the token's (access.ts), a
 * signed-key token's access rules against the client's country and address, and its `downloadable` for MP4s.
 * Each refusal is a 403 with its code from the error catalogue; a video that does not exist is refused as unsigned
 * or unknown, never confirmed.
 */
import type { Config } from '../shared/config';
import type { Db } from '../shared/db';
import { apiError, type ErrorCode } from '../shared/errors';
import { keyring } from '../shared/keyring';
import { runtime } from '../shared/runtime';
import { clientOf, evaluateAccessRules, originAllowed } from './access';
import type { ParsedPath, PlaybackObject } from './paths';
import { getPlaybackPolicy } from './policy';
import { looksLikeJwt, verifySignedKeyToken, type SignedKeyFailure, type SignedKeyGrant, type SignedKeyResult } from './signed-key-tokens';
import { failureMessages, verifyToken } from './signing';

export type PlaybackGrant = { kind: 'unsigned' } | { kind: 'hmac' } | { kind: 'signed-key'; grant: SignedKeyGrant };

const signedKeyMessages: Record<SignedKeyFailure, string> = {
  malformed: 'playback token is malformed',
  unknown_key: 'playback token names no signing key of this platform',
  bad_signature: 'playback token signature does not verify with its key',
  expired: 'playback token has expired',
  not_yet_valid: 'playback token is not valid yet (nbf)',
  wrong_video: "playback token is for another video, or signed by a key that is not the video's creator's",
  lifetime_too_long: 'playback token expires too far ahead (at most 24 h)',
};

const signedKeyCodes: Record<SignedKeyFailure, ErrorCode> = {
  malformed: 'signature_malformed',
  unknown_key: 'signature_unknown_key',
  bad_signature: 'signature_bad_signature',
  expired: 'signature_expired',
  not_yet_valid: 'signature_not_yet_valid',
  wrong_video: 'signature_wrong_video',
  lifetime_too_long: 'signature_lifetime_too_long',
};

const unsignedRefusal = () => apiError('signature_required', 'playback URLs of this video must be signed: get one from GET /v1/videos/{id}/playback or sign one with a signing key');

export async function authorizePlayback(request: Request, db: Db, config: Config, parsed: Extract<ParsedPath, { status: 'signed' | 'unsigned' }>): Promise<PlaybackGrant> {
  const { object } = parsed;
  const nowSec = runtime().now() / 1000;
  let grant: PlaybackGrant;
  if (parsed.status === 'unsigned') {
    const policy = await getPlaybackPolicy(db, object.videoId, config.playback.policyTtlMs);
    if (!policy || policy.deleted || policy.requireSignedUrls || policy.visibility !== 'public') throw unsignedRefusal();
    grant = { kind: 'unsigned' };
  } else if (looksLikeJwt(parsed.token)) {
    const policy = await getPlaybackPolicy(db, object.videoId, config.playback.policyTtlMs);
    // An unknown video is refused like a token for another video: its existence is never confirmed.
    const verdict: SignedKeyResult = policy && !policy.deleted ? await verifySignedKeyToken(db, config, parsed.token, object.videoId, policy.creatorId, nowSec) : { ok: false, reason: 'wrong_video' };
    if (!verdict.ok) throw apiError(signedKeyCodes[verdict.reason], verdict.detail ? `${signedKeyMessages[verdict.reason]}: ${verdict.detail}` : signedKeyMessages[verdict.reason]);
    grant = { kind: 'signed-key', grant: verdict.grant };
  } else {
    const verdict = await verifyToken(keyring(config.secrets), parsed.token, object.videoId, nowSec, config.playback.clockSkewSec);
    if (!verdict.ok) throw apiError(`signature_${verdict.reason}`, failureMessages[verdict.reason]);
    grant = { kind: 'hmac' };
  }
  await assertAllowedHere(request, db, config, object, grant);
  return grant;
}

async function assertAllowedHere(request: Request, db: Db, config: Config, object: PlaybackObject, grant: PlaybackGrant): Promise<void> {
  const policy = await getPlaybackPolicy(db, object.videoId, config.playback.policyTtlMs);
  const tokenOrigins = grant.kind === 'signed-key' ? grant.grant.allowedOrigins : null;
  if (!originAllowed(request, policy?.allowedOrigins ?? null, tokenOrigins)) {
    throw apiError('origin_not_allowed', 'this video may not be played from this page (its origin is not allowed)');
  }
  if (grant.kind !== 'signed-key') return;
  if (evaluateAccessRules(grant.grant.accessRules, clientOf(request)) === 'block') throw apiError('access_denied', "the token's access rules do not allow this client");
  if (object.kind === 'download' && !grant.grant.downloadable) throw apiError('download_not_allowed', 'this token does not allow downloads (sign it with downloadable: true)');
}

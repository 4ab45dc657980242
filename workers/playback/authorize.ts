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
import { publicOrigin, type Config } from '../shared/config';
import type { Db } from '../shared/db';
import { apiError, type ErrorCode } from '../shared/errors';
import { keyring } from '../shared/keyring';
import { runtime } from '../shared/runtime';
import { clientOf, evaluateAccessRules, intersectOrigins, originAllowed, requestOrigin } from './access';
import type { ParsedPath, PlaybackObject } from './paths';
import { getPlaybackPolicy, type PlaybackPolicy } from './policy';
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
  const grant = await playbackGrant(db, config, parsed.object.videoId, parsed.status === 'signed' ? parsed.token : null);
  await assertAllowedHere(request, db, config, parsed.object, grant);
  return grant;
}

/**
 * What a token (or no token: an unsigned URL) grants for a video, or its refusal as an ApiError; the checks that
 * depend on the request (origin, access rules) are not made here. The embed page (workers/web) asks this before it
 * renders a player.
 */
export async function playbackGrant(db: Db, config: Config, videoId: string, token: string | null): Promise<PlaybackGrant> {
  const nowSec = runtime().now() / 1000;
  if (token === null) {
    const policy = await getPlaybackPolicy(db, videoId, config.playback.policyTtlMs);
    if (!policy || policy.deleted || policy.requireSignedUrls || policy.visibility !== 'public') throw unsignedRefusal();
    return { kind: 'unsigned' };
  }
  if (looksLikeJwt(token)) {
    const policy = await getPlaybackPolicy(db, videoId, config.playback.policyTtlMs);
    // An unknown video is refused like a token for another video: its existence is never confirmed.
    const verdict: SignedKeyResult = policy && !policy.deleted ? await verifySignedKeyToken(db, config, token, videoId, policy.creatorId, nowSec) : { ok: false, reason: 'wrong_video' };
    if (!verdict.ok) throw apiError(signedKeyCodes[verdict.reason], verdict.detail ? `${signedKeyMessages[verdict.reason]}: ${verdict.detail}` : signedKeyMessages[verdict.reason]);
    return { kind: 'signed-key', grant: verdict.grant };
  }
  const verdict = await verifyToken(keyring(config.secrets), token, videoId, nowSec, config.playback.clockSkewSec);
  if (!verdict.ok) throw apiError(`signature_${verdict.reason}`, failureMessages[verdict.reason]);
  return { kind: 'hmac' };
}

/** The origins that may frame or play this video with this grant (every non-empty list applies), or null for any. */
export function allowedOriginsFor(policy: PlaybackPolicy | null, grant: PlaybackGrant): string[] | null {
  return intersectOrigins(policy?.allowedOrigins ?? null, grant.kind === 'signed-key' ? grant.grant.allowedOrigins : null);
}

async function assertAllowedHere(request: Request, db: Db, config: Config, object: PlaybackObject, grant: PlaybackGrant): Promise<void> {
  const policy = await getPlaybackPolicy(db, object.videoId, config.playback.policyTtlMs);
  const tokenOrigins = grant.kind === 'signed-key' ? grant.grant.allowedOrigins : null;
  // The platform's own pages (watch, embed) play from its own origin; the embed page keeps the lists itself, as the
  // CSP `frame-ancestors` of its frame (workers/web/embed).
  const own = requestOrigin(request) === publicOrigin(config, request.url);
  if (!own && !originAllowed(request, policy?.allowedOrigins ?? null, tokenOrigins)) {
    throw apiError('origin_not_allowed', 'this video may not be played from this page (its origin is not allowed)');
  }
  if (grant.kind !== 'signed-key') return;
  if (evaluateAccessRules(grant.grant.accessRules, clientOf(request)) === 'block') throw apiError('access_denied', "the token's access rules do not allow this client");
  if (object.kind === 'download' && !grant.grant.downloadable) throw apiError('download_not_allowed', 'this token does not allow downloads (sign it with downloadable: true)');
}

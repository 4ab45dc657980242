/**
 * Playback tokens an app signs itself with one of its creator's signing keys (workers/signing-keys): a compact JWS
 * (JWT) that rides in the playback path like the platform's own HMAC tokens, `/v/{id}/t/{jwt}/master.m3u8`.
 *
 *   header  {"alg": "ES256" | "RS256", "kid": "<signing key id>"}
 *   claims  sub = the video id, exp (required), nbf (optional),
 *           accessRules (optional, see access.ts), allowedOrigins (optional), downloadable (optional, default false)
 *
 * Checks, in order (each failure a 403 with its own code): the token's shape (three base64url parts, canonical
 * encoding: one spelling per signature bytes), a known `kid` that is not revoked (lookup.ts: what the isolate knows
 * is at most `signingKeyCacheMs` old), the key's own algorithm only (so `alg: none`, or HS256 keyed with the public
 * key, never verify), the signature, then the claims: `sub` is this video and the key belongs to the video's creator
 * (a token from creator A's key never plays creator B's video), `exp` not past and at most `maxSignedUrlTtlSec` ahead,
 * `nbf` not in the future (both with `clockSkewSec` of slack).
 *
 * Verified signatures are remembered per isolate (bounded), so a player's dozens of requests with one token pay for
 * one ECDSA/RSA verification; the claims and the key's revocation are checked on every request.
 */
import { compactVerify, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import type { Config } from '../shared/config';
import type { Db } from '../shared/db';
import { base64UrlDecode, base64UrlEncode } from '../shared/keyring';
import { lookupSigningKey } from '../signing-keys/lookup';
import { parseAccessRules, parseAllowedOrigins, type AccessRule } from './access';

export type SignedKeyFailure = 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'wrong_video' | 'lifetime_too_long';

export interface SignedKeyGrant {
  kid: string;
  exp: number;
  accessRules: AccessRule[];
  allowedOrigins: string[] | null;
  downloadable: boolean;
}

export type SignedKeyResult = { ok: true; grant: SignedKeyGrant } | { ok: false; reason: SignedKeyFailure; detail?: string };

interface Claims {
  sub: string;
  exp: number;
  nbf: number | null;
  grant: SignedKeyGrant;
}

const JWT = /^([A-Za-z0-9_-]{2,1024})\.([A-Za-z0-9_-]{2,4096})\.([A-Za-z0-9_-]{2,1024})$/;
const KID = /^key_[0-9a-z]{16}$/;
const MEMO_LIMIT = 10_000;
/** Verified token → its claims; keyed by the exact token (a different spelling is a different entry). */
const verified = new Map<string, Claims>();

/** True for a string shaped like a compact JWS (HMAC tokens have four dot-separated parts, a JWS three). */
export const looksLikeJwt = (token: string) => JWT.test(token);

function canonical(part: string): boolean {
  const bytes = base64UrlDecode(part);
  return bytes !== null && base64UrlEncode(bytes) === part;
}

function readClaims(payload: Uint8Array, kid: string): Claims | string {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return 'the claims are not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the claims are not an object';
  const c = body as Record<string, unknown>;
  if (typeof c.sub !== 'string') return 'sub (the video id) is required';
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) return 'exp is required (seconds since the epoch)';
  if (c.nbf !== undefined && (typeof c.nbf !== 'number' || !Number.isFinite(c.nbf))) return 'nbf must be a number';
  const rules = c.accessRules === undefined ? [] : parseAccessRules(c.accessRules);
  if (typeof rules === 'string') return rules;
  const origins = c.allowedOrigins === undefined ? null : parseAllowedOrigins(c.allowedOrigins);
  if (typeof origins === 'string') return origins;
  if (c.downloadable !== undefined && typeof c.downloadable !== 'boolean') return 'downloadable must be true or false';
  return {
    sub: c.sub,
    exp: c.exp,
    nbf: (c.nbf as number | undefined) ?? null,
    grant: { kid, exp: c.exp, accessRules: rules, allowedOrigins: origins, downloadable: c.downloadable === true },
  };
}

/**
 * Verifies a signed-key token for `videoId`, whose owner is `creatorId`. `nowSec` is the edge's clock.
 */
export async function verifySignedKeyToken(db: Db, config: Config, token: string, videoId: string, creatorId: string, nowSec: number): Promise<SignedKeyResult> {
  const m = JWT.exec(token);
  if (!m || !canonical(m[1]!) || !canonical(m[2]!) || !canonical(m[3]!)) return { ok: false, reason: 'malformed' };
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof header.kid !== 'string' || !KID.test(header.kid)) return { ok: false, reason: 'malformed', detail: 'the header needs the kid of a signing key' };
  const key = await lookupSigningKey(db, header.kid, config.playback.signingKeyCacheMs);
  if (!key) return { ok: false, reason: 'unknown_key' };
  if (key.revoked) return { ok: false, reason: 'unknown_key', detail: 'the signing key was revoked' };
  if (header.alg !== key.alg) return { ok: false, reason: 'bad_signature', detail: `the key signs with ${key.alg} only` };

  let claims = verified.get(token);
  if (!claims) {
    let payload: Uint8Array;
    try {
      payload = (await compactVerify(token, key.key, { algorithms: [key.alg] })).payload;
    } catch {
      return { ok: false, reason: 'bad_signature' };
    }
    const read = readClaims(payload, key.kid);
    if (typeof read === 'string') return { ok: false, reason: 'malformed', detail: read };
    claims = read;
    // Only successes are remembered (bounded): failures cannot grow memory.
    if (verified.size >= MEMO_LIMIT) verified.delete(verified.keys().next().value!);
    verified.set(token, claims);
  }
  if (claims.sub !== videoId || key.creatorId !== creatorId) return { ok: false, reason: 'wrong_video' };
  const skew = config.playback.clockSkewSec;
  if (nowSec + skew < (claims.nbf ?? 0)) return { ok: false, reason: 'not_yet_valid' };
  if (nowSec - skew >= claims.exp) return { ok: false, reason: 'expired' };
  if (claims.exp - nowSec > config.playback.maxSignedUrlTtlSec + skew) return { ok: false, reason: 'lifetime_too_long' };
  return { ok: true, grant: claims.grant };
}

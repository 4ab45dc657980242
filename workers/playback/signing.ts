/**
 * Signed playback tokens.
 *
 * A token grants read access to one video's HLS tree until it expires:
 *
 *     {kid}.{nbf}.{exp}.{sig}     sig = base64url(HMAC-SHA256(key[kid], "hls1|{videoId}|{kid}|{nbf}|{exp}"))
 *
 * - Scope is the whole video (master, every rung, segments, thumbnails), not one path: a player needs dozens of
 *   URLs under one grant, and the token rides in the path (see paths.ts) so relative URIs inherit it.
 * - `kid` selects the key of the deployment's keyring (workers/shared/keyring.ts), so keys rotate: sign with
 *   `SIGNING_KEY_ID`, verify with any key still listed in `SIGNING_KEYS`. Retiring a key = removing it; its tokens
 *   then fail with `unknown_key`.
 * - `nbf` is when the token was signed; `clockSkewSec` of slack on both `nbf` and `exp` absorbs clocks that disagree between
 *   the location that signed and the one that verifies.
 * - The MAC is checked with `crypto.subtle.verify` (constant time) before any time check, so a tampered token is
 *   always reported as tampered, never as merely expired.
 * - A token whose MAC verified once is remembered by the keyring (bounded), so only a token's first request pays.
 */
import { base64UrlDecode, base64UrlEncode, type SigningKeyring } from '../shared/keyring';

export type TokenFailure = 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' | 'not_yet_valid';

export type VerifyResult = { ok: true; kid: string; nbf: number; exp: number } | { ok: false; reason: TokenFailure };

/**
 * Times are canonical decimals (no leading zero, no sign), so one grant has exactly one spelling: `k1.0NBF.0EXP.sig`
 * would otherwise verify too, since the MAC is over the parsed numbers.
 */
export const CANONICAL_INT = '(?:0|[1-9]\\d{0,11})';
const TOKEN = new RegExp(`^([A-Za-z0-9_-]{1,32})\\.(${CANONICAL_INT})\\.(${CANONICAL_INT})\\.([A-Za-z0-9_-]{43})$`);
const VERIFIED_LIMIT = 10_000;
const encoder = new TextEncoder();

const message = (videoId: string, kid: string, nbf: number, exp: number) =>
  encoder.encode(`hls1|${videoId}|${kid}|${nbf}|${exp}`);

/** Signs a token for `videoId`, valid from `nowSec` until `nowSec + ttlSec`, with the current key. */
export async function signToken(ring: SigningKeyring, videoId: string, nowSec: number, ttlSec: number): Promise<{ token: string; exp: number } | null> {
  const kid = ring.currentKid;
  const key = kid ? ring.key(kid) : null;
  if (!kid || !key) return null;
  const nbf = Math.floor(nowSec);
  const exp = nbf + Math.floor(ttlSec);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await key, message(videoId, kid, nbf, exp)));
  return { token: `${kid}.${nbf}.${exp}.${base64UrlEncode(mac)}`, exp };
}

export async function verifyToken(ring: SigningKeyring, token: string, videoId: string, nowSec: number, skewSec: number): Promise<VerifyResult> {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, kid, nbfText, expText, sigText] = m as unknown as [string, string, string, string, string];
  const key = ring.key(kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const sig = base64UrlDecode(sigText);
  // Only the canonical encoding is accepted, so one signature has exactly one spelling.
  if (!sig || sig.length !== 32 || base64UrlEncode(sig) !== sigText) return { ok: false, reason: 'malformed' };
  const nbf = Number(nbfText);
  const exp = Number(expText);
  const memoKey = `${videoId}/${token}`;
  if (!ring.verified.has(memoKey)) {
    const valid = await crypto.subtle.verify('HMAC', await key, sig, message(videoId, kid, nbf, exp));
    if (!valid) return { ok: false, reason: 'bad_signature' };
    // Only successes are remembered (bounded): failures cannot grow memory.
    if (ring.verified.size >= VERIFIED_LIMIT) ring.verified.delete(ring.verified.keys().next().value!);
    ring.verified.set(memoKey, true);
  }
  if (nowSec + skewSec < nbf) return { ok: false, reason: 'not_yet_valid' };
  if (nowSec - skewSec >= exp) return { ok: false, reason: 'expired' };
  return { ok: true, kid, nbf, exp };
}

/** The 403 message for each failure: says what is wrong without saying which key or secret was tried. */
export const failureMessages: Record<TokenFailure, string> = {
  malformed: 'playback token is malformed',
  unknown_key: 'playback token was signed with an unknown or retired key',
  bad_signature: 'playback token signature does not match (tampered, or issued for another video)',
  expired: 'playback token has expired; request a new URL from /v1/videos/{id}/playback',
  not_yet_valid: 'playback token is not valid yet',
};

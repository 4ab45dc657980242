/**
 * Playback sessions: the evidence a view beacon carries that someone actually started playing the video.
 *
 * `GET /v1/videos/:id/playback` issues one per call, next to the signed URL:
 *
 *     {kid}.{sessionId}.{startMs}.{sig}     sig = base64url(HMAC-SHA256(key[kid], "vs1|{videoId}|{kid}|{sessionId}|{startMs}"))
 *
 * - Same keyring as playback URLs (`SIGNING_KEYS` / `SIGNING_KEY_ID`, see workers/shared/keyring.ts), checked with
 *   `crypto.subtle.verify` (constant time) before anything else, and a distinct message prefix (`vs1|` vs `hls1|`),
 *   so a playback URL token can never pass as a session or the other way round.
 * - `sessionId` is 128 random bits: the unit of "one view per session". `startMs` is when the server issued it: a
 *   beacon may not claim more watching than the time elapsed since then (plus `sessionSkewSec`).
 * - Canonical spelling only (no leading zeros, canonical base64url), so one session has exactly one token.
 * - A session lives `sessionTtlSec` (long enough for a long film with pauses); after that a beacon needs a new one.
 */
import { base64UrlDecode, base64UrlEncode, type SigningKeyring } from '../shared/keyring';

export interface PlaybackSession {
  sessionId: string;
  startMs: number;
}

export type SessionFailure = 'session_missing' | 'session_invalid' | 'session_expired';

export type SessionCheck = { ok: true; session: PlaybackSession } | { ok: false; reason: SessionFailure };

const SESSION = /^([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{22})\.(0|[1-9]\d{0,15})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

const message = (videoId: string, kid: string, sessionId: string, startMs: number) =>
  encoder.encode(`vs1|${videoId}|${kid}|${sessionId}|${startMs}`);

/** A fresh session for `videoId` starting at `nowMs`, signed with the current key; null without a key. */
export async function issueSession(ring: SigningKeyring, videoId: string, nowMs: number): Promise<{ token: string; session: PlaybackSession } | null> {
  const kid = ring.currentKid;
  const key = kid ? ring.key(kid) : null;
  if (!kid || !key) return null;
  const sessionId = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16)));
  const startMs = Math.floor(nowMs);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await key, message(videoId, kid, sessionId, startMs)));
  return { token: `${kid}.${sessionId}.${startMs}.${base64UrlEncode(mac)}`, session: { sessionId, startMs } };
}

/** Checks a beacon's session for `videoId` at `nowMs`: signature first, then its age. */
export async function checkSession(
  ring: SigningKeyring,
  token: string | null,
  videoId: string,
  nowMs: number,
  limits: { ttlSec: number; skewSec: number },
): Promise<SessionCheck> {
  if (token === null) return { ok: false, reason: 'session_missing' };
  const m = SESSION.exec(token);
  if (!m) return { ok: false, reason: 'session_invalid' };
  const [, kid, sessionId, startText, sigText] = m as unknown as [string, string, string, string, string];
  const key = ring.key(kid);
  const sig = base64UrlDecode(sigText);
  if (!key || !sig || sig.length !== 32 || base64UrlEncode(sig) !== sigText) return { ok: false, reason: 'session_invalid' };
  const startMs = Number(startText);
  const valid = await crypto.subtle.verify('HMAC', await key, sig, message(videoId, kid, sessionId, startMs));
  if (!valid) return { ok: false, reason: 'session_invalid' };
  // A session "from the future" beyond the clock skew was not issued by this clock: refuse it as invalid.
  if (startMs > nowMs + limits.skewSec * 1000) return { ok: false, reason: 'session_invalid' };
  if (nowMs - startMs >= limits.ttlSec * 1000) return { ok: false, reason: 'session_expired' };
  return { ok: true, session: { sessionId, startMs } };
}

/**
 * The deployment's HMAC keys (`SIGNING_KEYS` / `SIGNING_KEY_ID`, parsed by loadConfig), shared by the two kinds of
 * token signed with them: playback URL tokens (workers/playback/signing.ts) and playback sessions
 * (workers/views/playback-session.ts). Each kind signs a message with its own prefix, so one can never pass as the
 * other.
 *
 * - `kid` selects the key, so keys rotate: sign with the current key, verify with any key still configured.
 * - CryptoKeys are imported once per isolate and reused: importKey costs far more than an HMAC of 60 bytes.
 */
import type { Secrets } from './config';

export interface SigningKeyring {
  currentKid: string | null;
  /** Resolves a kid to its HMAC key, importing it on first use; null for a kid that is not configured. */
  key(kid: string): Promise<CryptoKey> | null;
  /**
   * Tokens whose MAC already verified with these keys. A player sends dozens of requests with one token; only the
   * first pays for an HMAC. Owned by this keyring, so a change of keys (a new keyring) forgets everything.
   */
  verified: Map<string, true>;
}

const rings = new WeakMap<object, SigningKeyring>();

/** The keyring of these secrets: built once per secrets object (once per isolate and configuration). */
export function keyring(secrets: Pick<Secrets, 'signingKeys' | 'signingKeyId'>): SigningKeyring {
  const hit = rings.get(secrets);
  if (hit) return hit;
  const imported = new Map<string, Promise<CryptoKey>>();
  const ring: SigningKeyring = {
    currentKid: secrets.signingKeyId,
    key(kid) {
      const cached = imported.get(kid);
      if (cached) return cached;
      const secret = secrets.signingKeys.get(kid);
      if (!secret) return null;
      const pending = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      imported.set(kid, pending);
      return pending;
    },
    verified: new Map(),
  };
  rings.set(secrets, ring);
  return ring;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export { base64UrlDecode } from './config';

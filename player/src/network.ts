/**
 * What the player reads from the platform's responses: the playback session the master playlist's response carries
 * (`Playback-Session`, exposed to CORS: the viewer's own GET issues it, docs/playback.md), and the error code of a
 * refused request (the platform's `{ "error": { "code" } }`), which becomes the player's `error` event code.
 */
import { ErrorTypes, type ErrorData, type NullableNetworkDetails } from 'hls.js';

export const PLAYBACK_SESSION_HEADER = 'Playback-Session';

/** A response header from hls.js's network details (an XMLHttpRequest or a fetch Response). */
export function responseHeader(details: NullableNetworkDetails | undefined, name: string): string | null {
  try {
    if (!details) return null;
    if (typeof (details as XMLHttpRequest).getResponseHeader === 'function') return (details as XMLHttpRequest).getResponseHeader(name);
    return (details as Response).headers?.get(name) ?? null;
  } catch {
    return null;
  }
}

/** The playback session of a master playlist response, when the platform issued one. */
export const sessionOf = (details: NullableNetworkDetails | undefined): string | null => responseHeader(details, PLAYBACK_SESSION_HEADER);

/** A refused playlist's body (hls.js keeps the XMLHttpRequest; a segment's binary body is not read). */
function responseText(details: NullableNetworkDetails | undefined): string | undefined {
  try {
    const xhr = details as XMLHttpRequest | null | undefined;
    if (!xhr || typeof xhr.getResponseHeader !== 'function') return undefined;
    return xhr.responseType === '' || xhr.responseType === 'text' ? xhr.responseText : undefined;
  } catch {
    return undefined;
  }
}

/** The platform's error code in a refused response's body, if it is one. */
export function platformErrorCode(text: string | undefined): string | null {
  if (!text) return null;
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' && /^[a-z0-9_]{1,48}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

/**
 * The player's code for a fatal hls.js error: the platform's code when the server refused (signature_expired,
 * origin_not_allowed, …), `not_found` for a 404/410, `network` for other network failures, `media` for decoding,
 * `unsupported` when the browser cannot play HLS, else `playback`.
 */
export function failureCode(data: Pick<ErrorData, 'type' | 'response' | 'networkDetails'>): string {
  const status = data.response?.code ?? 0;
  if (data.type === ErrorTypes.NETWORK_ERROR) {
    const platform = platformErrorCode(responseText(data.networkDetails));
    if (platform) return platform;
    if (status === 404 || status === 410) return 'not_found';
    if (status === 403) return 'forbidden';
    return 'network';
  }
  if (data.type === ErrorTypes.MEDIA_ERROR) return 'media';
  return 'playback';
}

const MESSAGES: Record<string, string> = {
  not_found: 'This video does not exist or was deleted.',
  network: 'Playback stopped: the video could not be loaded. Check your connection and reload the page.',
  media: 'Playback failed: the video could not be decoded.',
  unsupported: 'This browser cannot play HLS video (no Media Source Extensions).',
};

/** What the player shows for a failure code. */
export const messageFor = (code: string): string => MESSAGES[code] ?? (code.startsWith('signature_') || code === 'forbidden' || code.endsWith('_not_allowed') || code === 'access_denied' ? 'This video may not be played here.' : `Playback failed (${code}).`);

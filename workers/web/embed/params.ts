/**
 * The embed page's query: `?token=&autoplay=&muted=&loop=&start=&controls=&poster=&primaryColor=`. Each is checked
 * strictly; a value that is not one of its forms is refused with its name (the page answers 400 instead of
 * guessing). Flags are `true`/`false`/`1`/`0`, or present without a value (`?autoplay`) for true.
 */
export interface EmbedOptions {
  token: string | null;
  autoplay: boolean;
  muted: boolean;
  loop: boolean;
  controls: boolean;
  /** Seconds to start at. */
  start: number;
  /** An http(s) image URL that replaces the video's poster. */
  poster: string | null;
  /** A CSS hex colour for the player's controls. */
  primaryColor: string | null;
}

const TOKEN = /^[A-Za-z0-9_.-]{1,4096}$/;
const HEX_COLOR = /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;
/** `90`, `12.5`, `1m30s`, `1h2m3s`, `45s`. */
const START = /^(?:(\d{1,6}(?:\.\d{1,3})?)|(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6}(?:\.\d{1,3})?)s)?)$/;

export type EmbedParse = { ok: true; options: EmbedOptions } | { ok: false; message: string };

function flag(params: URLSearchParams, name: string, fallback: boolean): boolean | string {
  const values = params.getAll(name);
  if (values.length === 0) return fallback;
  if (values.length > 1) return `${name} must be given once`;
  const v = values[0]!;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return `${name} must be true, false, 1 or 0`;
}

function once(params: URLSearchParams, name: string): string | null | { error: string } {
  const values = params.getAll(name);
  if (values.length > 1) return { error: `${name} must be given once` };
  return values[0] ?? null;
}

export function parseStart(text: string): number | null {
  const m = START.exec(text);
  if (!m || text === '') return null;
  if (m[1] !== undefined) return Number(m[1]);
  return Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

export function parseEmbedOptions(params: URLSearchParams): EmbedParse {
  const options: EmbedOptions = { token: null, autoplay: false, muted: false, loop: false, controls: true, start: 0, poster: null, primaryColor: null };
  for (const name of ['autoplay', 'muted', 'loop', 'controls'] as const) {
    const value = flag(params, name, options[name]);
    if (typeof value === 'string') return { ok: false, message: value };
    options[name] = value;
  }
  const token = once(params, 'token');
  if (typeof token === 'object' && token !== null) return { ok: false, message: token.error };
  if (token !== null && !TOKEN.test(token)) return { ok: false, message: 'token must be a playback token (letters, digits, _ . -)' };
  options.token = token;

  const start = once(params, 'start');
  if (typeof start === 'object' && start !== null) return { ok: false, message: start.error };
  if (start !== null) {
    const seconds = parseStart(start);
    if (seconds === null) return { ok: false, message: 'start must be seconds (90, 12.5) or a time like 1m30s' };
    options.start = seconds;
  }

  const poster = once(params, 'poster');
  if (typeof poster === 'object' && poster !== null) return { ok: false, message: poster.error };
  if (poster !== null) {
    let url: URL | null = null;
    try {
      url = poster.length <= 2048 ? new URL(poster) : null;
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return { ok: false, message: 'poster must be an http(s) image URL' };
    options.poster = url.href;
  }

  const color = once(params, 'primaryColor');
  if (typeof color === 'object' && color !== null) return { ok: false, message: color.error };
  if (color !== null && !HEX_COLOR.test(color)) return { ok: false, message: 'primaryColor must be a hex colour such as #ff6600' };
  options.primaryColor = color;
  return { ok: true, options };
}

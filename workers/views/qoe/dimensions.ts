/**
 * The breakdowns of quality-of-experience figures: the viewer's country (`request.cf.country`, set by Cloudflare's
 * edge; absent locally, where tests pass `cf: {country}` on the Request) and the browser and operating-system family
 * read from the beacon's User-Agent.
 *
 * The User-Agent parser knows families, not versions, and only the families a creator acts on. Order matters: many
 * browsers carry "Chrome" and "Safari" in their string, so the specific tokens (Edg/, OPR/, SamsungBrowser/, …) are
 * tested before the generic ones. Anything else is "Other".
 */
import { requestCountry } from '../../shared/country';

export interface Dimensions {
  /** ISO 3166-1 alpha-2, upper case; '' when unknown. */
  country: string;
  browser: string;
  os: string;
}

const BROWSERS: ReadonlyArray<[string, RegExp]> = [
  ['Edge', /\bEdg(?:e|A|iOS)?\//],
  ['Opera', /\b(?:OPR|Opera|OPiOS)\//],
  ['Samsung Internet', /\bSamsungBrowser\//],
  ['Firefox', /\b(?:Firefox|FxiOS)\//],
  ['Chrome', /\b(?:Chrome|CriOS|HeadlessChrome|Chromium)\//],
  ['Safari', /\bVersion\/[\d.]+.*\bSafari\/|\b(?:iPhone|iPad).*\bAppleWebKit\//],
];

const SYSTEMS: ReadonlyArray<[string, RegExp]> = [
  ['iOS', /\b(?:iPhone|iPad|iPod)\b|\bCPU (?:iPhone )?OS \d/],
  ['Android', /\bAndroid\b/],
  ['Windows', /\bWindows\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['macOS', /\bMac OS X\b|\bMacintosh\b/],
  ['Linux', /\bLinux\b|\bX11\b/],
];

const OTHER = 'Other';
/** Longer strings are not User-Agents anyone sends; only a prefix is read. */
const MAX_UA = 512;

function firstMatch(table: ReadonlyArray<[string, RegExp]>, ua: string): string {
  for (const [name, pattern] of table) if (pattern.test(ua)) return name;
  return OTHER;
}

export function browserFamily(userAgent: string | null): string {
  return userAgent ? firstMatch(BROWSERS, userAgent.slice(0, MAX_UA)) : OTHER;
}

export function osFamily(userAgent: string | null): string {
  return userAgent ? firstMatch(SYSTEMS, userAgent.slice(0, MAX_UA)) : OTHER;
}

/** The viewer's country from `request.cf` (Cloudflare's edge), or '' when the request has none. */
export function dimensionsOf(request: Request): Dimensions {
  const ua = request.headers.get('User-Agent');
  return { country: requestCountry(request) ?? '', browser: browserFamily(ua), os: osFamily(ua) };
}

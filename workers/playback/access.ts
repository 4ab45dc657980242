/**
 * Who may use a valid playback grant: a token's access rules (signed-key tokens) and the allowed origins (the
 * token's and the video's). Both are checked on every request, cache hits included, before any object is served.
 *
 * Access rules, as Cloudflare Stream defines them: an ordered list, the first rule that matches decides (`allow` or
 * `block`); when none matches, the request is allowed (end a list with `{type: "any", action: "block"}` to allow
 * only what an earlier rule lets through).
 *   {type: "ip.geoip.country", country: ["DE", "FR"], action}   request.cf.country (ISO 3166-1 alpha-2)
 *   {type: "ip.src", ip: ["203.0.113.0/24", "2001:db8::/32"], action}   the client address (CF-Connecting-IP)
 *   {type: "any", action}
 * A request whose country or address is unknown matches no country or address rule. Locally `request.cf` has no
 * country; tests give the Worker one through the request's `cf` property (test/workers/playback-signed-keys.test.ts).
 *
 * Allowed origins: a browser's request says where the page that plays is: `Origin` (hls.js fetches cross-origin,
 * so it is sent), else the origin of `Referer`. A request naming an origin outside the list is refused; one naming
 * none (a native app, curl, a page with `Referrer-Policy: no-referrer` on a same-origin `<video>`) is allowed, and
 * `Origin: null` (a sandboxed frame) is refused: this is a rule for browsers embedding the video, not a secret.
 */
import { cidrContains, parseCidr, parseIp, type Cidr, type IpAddress } from '../shared/ip';
import { requestCountry } from '../shared/country';

export type AccessAction = 'allow' | 'block';

export type AccessRule =
  | { type: 'any'; action: AccessAction }
  | { type: 'ip.src'; ranges: Cidr[]; action: AccessAction }
  | { type: 'ip.geoip.country'; countries: string[]; action: AccessAction };

const MAX_RULES = 32;
const MAX_VALUES = 256;

/** A token's `accessRules` claim, or a reason it is unusable (the token is then refused as malformed). */
export function parseAccessRules(value: unknown): AccessRule[] | string {
  if (!Array.isArray(value)) return 'accessRules must be an array';
  if (value.length > MAX_RULES) return `accessRules may have at most ${MAX_RULES} rules`;
  const rules: AccessRule[] = [];
  for (const [i, raw] of value.entries()) {
    if (typeof raw !== 'object' || raw === null) return `accessRules[${i}] is not an object`;
    const r = raw as Record<string, unknown>;
    if (r.action !== 'allow' && r.action !== 'block') return `accessRules[${i}].action must be allow or block`;
    if (r.type === 'any') rules.push({ type: 'any', action: r.action });
    else if (r.type === 'ip.src') {
      if (!Array.isArray(r.ip) || r.ip.length === 0 || r.ip.length > MAX_VALUES) return `accessRules[${i}].ip must be a list of addresses or CIDRs`;
      const ranges = r.ip.map((x) => (typeof x === 'string' ? parseCidr(x) : null));
      if (ranges.some((x) => x === null)) return `accessRules[${i}].ip has an entry that is not an address or CIDR`;
      rules.push({ type: 'ip.src', ranges: ranges as Cidr[], action: r.action });
    } else if (r.type === 'ip.geoip.country') {
      if (!Array.isArray(r.country) || r.country.length === 0 || r.country.length > MAX_VALUES) return `accessRules[${i}].country must be a list of country codes`;
      if (!r.country.every((c) => typeof c === 'string' && /^[A-Za-z]{2}$/.test(c))) return `accessRules[${i}].country has an entry that is not a two-letter code`;
      rules.push({ type: 'ip.geoip.country', countries: (r.country as string[]).map((c) => c.toUpperCase()), action: r.action });
    } else return `accessRules[${i}].type must be any, ip.src or ip.geoip.country`;
  }
  return rules;
}

export interface Client {
  /** ISO 3166-1 alpha-2, upper case; null when unknown. */
  country: string | null;
  address: IpAddress | null;
}

export function clientOf(request: Request): Client {
  const header = request.headers.get('CF-Connecting-IP');
  return { country: requestCountry(request), address: header ? parseIp(header) : null };
}

/** The first matching rule's action; `allow` when none matches. */
export function evaluateAccessRules(rules: readonly AccessRule[], client: Client): AccessAction {
  for (const rule of rules) {
    if (rule.type === 'any') return rule.action;
    if (rule.type === 'ip.src' && client.address && rule.ranges.some((range) => cidrContains(range, client.address!))) return rule.action;
    if (rule.type === 'ip.geoip.country' && client.country && rule.countries.includes(client.country)) return rule.action;
  }
  return 'allow';
}

/** An origin as browsers send it (`https://app.example`, default port dropped), or null when it is not one. */
export function normalizeOrigin(text: string): string | null {
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** An `allowedOrigins` list (claim or video setting), or a reason it is unusable. */
export function parseAllowedOrigins(value: unknown): string[] | string {
  if (!Array.isArray(value) || value.length > MAX_VALUES) return 'allowedOrigins must be a list of origins';
  const out: string[] = [];
  for (const v of value) {
    const origin = typeof v === 'string' ? normalizeOrigin(v) : null;
    if (!origin) return `allowedOrigins has an entry that is not an http(s) origin: ${JSON.stringify(v).slice(0, 80)}`;
    out.push(origin);
  }
  return out;
}

/**
 * The origin of the page behind this request: `Origin`, else `Referer`'s; null when it names none; `opaque` for
 * `Origin: null` (a sandboxed frame or a file: page), which no list allows.
 */
export function requestOrigin(request: Request): string | 'opaque' | null {
  const origin = request.headers.get('Origin');
  if (origin === 'null') return 'opaque';
  if (origin) return normalizeOrigin(origin) ?? 'opaque';
  const referer = request.headers.get('Referer');
  return referer ? (normalizeOrigin(referer) ?? 'opaque') : null;
}

/** The origins in every non-empty list given (possibly none), or null when no list is given. */
export function intersectOrigins(...lists: (readonly string[] | null)[]): string[] | null {
  const active = lists.filter((l): l is readonly string[] => l !== null && l.length > 0);
  if (active.length === 0) return null;
  return active[0]!.filter((origin) => active.every((l) => l.includes(origin)));
}

/** Whether the request's page origin is within every non-empty list given. */
export function originAllowed(request: Request, ...lists: (readonly string[] | null)[]): boolean {
  const active = lists.filter((l): l is readonly string[] => l !== null && l.length > 0);
  if (active.length === 0) return true;
  const origin = requestOrigin(request);
  if (origin === null) return true;
  return origin !== 'opaque' && active.every((l) => l.includes(origin));
}

/**
 * Which URLs the platform may fetch on a creator's behalf (SSRF): webhook receivers and import sources. A creator
 * must not be able to make the platform reach into its own network: http(s) only, no credentials in the URL,
 * bounded length, and no host that names loopback, private, link-local, carrier-grade NAT, multicast or reserved
 * addresses, as an IP literal (the URL parser already turns `http://2130706433/` and `http://0x7f.1/` into
 * 127.0.0.1) or as a local name (`localhost`, `*.local`, …). Workers resolve DNS outside our reach; Cloudflare
 * itself does not route Worker subrequests into private networks. Webhook deliveries never follow redirects; an
 * import follows a bounded number, checking every hop with the same rule.
 * Local development lifts the address rule: `WEBHOOKS_ALLOW_PRIVATE_URLS` for receivers, `IMPORT_PRIVATE_HOSTS`
 * (named `host:port`s, or `*`) for import sources.
 */
import { parseIpv4, parseIpv6 } from './ip';

export type UrlVerdict = { status: 'ok'; url: string } | { status: 'refused'; reason: string };

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/i;

function ipv4Refusal([a, b]: readonly number[]): string | null {
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 100 && b! >= 64 && b! <= 127) return 'carrier-grade NAT';
  if (a === 0) return 'unspecified';
  if (a! >= 224) return 'multicast or reserved';
  if ((a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19))) return 'reserved';
  return null;
}

/** The IPv4 address in the last 32 bits of an IPv6 one. */
const low32 = (g: readonly number[]) => [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255];

function ipv6Refusal(g: readonly number[]): string | null {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 7) && g[7] === 1) return 'loopback';
  if (zeros(0, 8)) return 'unspecified';
  // IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) and NAT64 (64:ff9b::/96) carry an IPv4 address.
  const carriesIpv4 = (zeros(0, 5) && g[5] === 0xffff) || zeros(0, 6) || (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6));
  if (carriesIpv4) return ipv4Refusal(low32(g)) ?? 'an IPv4-mapped address';
  const first = g[0]!;
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xffc0) === 0xfec0) return 'private (site-local)';
  if ((first & 0xfe00) === 0xfc00) return 'private (unique local)';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  if (first === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'private (local NAT64)';
  if (first === 0x2001 && g[1] === 0x0db8) return 'reserved (documentation)';
  if (first === 0x0100 && zeros(1, 4)) return 'reserved (discard)';
  // 6to4 (2002::/16) carries an IPv4 address in its second and third groups; Teredo (2001::/32) tunnels to one.
  if (first === 0x2002) return ipv4Refusal([g[1]! >> 8, g[1]! & 255, g[2]! >> 8, g[2]! & 255]);
  if (first === 0x2001 && g[1] === 0) return 'reserved (Teredo tunnel)';
  return null;
}

export interface UrlPolicy {
  maxLength: number;
  /** Private addresses allowed: all, or these `host:port`s only. */
  allowPrivate: boolean | readonly string[];
  /** What the URL is for, in refusals: "webhooks go to public hosts only". */
  purpose: string;
}

/** A webhook receiver's URL. */
export function checkWebhookUrl(raw: string, options: { maxLength: number; allowPrivate: boolean }): UrlVerdict {
  return checkOutboundUrl(raw, { ...options, purpose: 'webhooks go to public hosts only' });
}

export function checkOutboundUrl(raw: string, options: UrlPolicy): UrlVerdict {
  if (raw.length > options.maxLength) return { status: 'refused', reason: `url must be at most ${options.maxLength} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { status: 'refused', reason: 'url must be an absolute http(s) URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { status: 'refused', reason: `url must use http or https, not ${url.protocol.slice(0, -1)}` };
  if (url.username || url.password) return { status: 'refused', reason: 'url must not carry credentials' };
  if (options.allowPrivate === true) return { status: 'ok', url: url.href };
  if (Array.isArray(options.allowPrivate) && (options.allowPrivate.includes('*') || options.allowPrivate.includes(url.host))) return { status: 'ok', url: url.href };
  // An IP literal is judged by its address alone (`[2606:4700::1111]` has no dot and is public); a name by the rules
  // for names. The URL parser has already canonicalised the host (IPv6 in brackets, IPv4 in dotted decimal).
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const ip = url.hostname.startsWith('[') ? parseIpv6(host) : parseIpv4(host);
  if (ip) {
    const refusal = ip.version === 4 ? ipv4Refusal(ip.bytes) : ipv6Refusal(ip.groups);
    if (refusal) return { status: 'refused', reason: `url points at a ${refusal} address (${host}); ${options.purpose}` };
    return { status: 'ok', url: url.href };
  }
  if (!host.includes('.') || LOCAL_NAMES.test(host.replace(/\.$/, ''))) {
    return { status: 'refused', reason: `url host ${host} is a local name; ${options.purpose}` };
  }
  return { status: 'ok', url: url.href };
}

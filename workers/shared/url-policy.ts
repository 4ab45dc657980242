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
export type UrlVerdict = { status: 'ok'; url: string } | { status: 'refused'; reason: string };

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/i;

function ipv4Refusal(host: string): string | null {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  const [a, b] = parts as [number, number, number, number];
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 100 && b >= 64 && b <= 127) return 'carrier-grade NAT';
  if (a === 0) return 'unspecified';
  if (a >= 224) return 'multicast or reserved';
  if ((a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19))) return 'reserved';
  return null;
}

function ipv6Refusal(host: string): string | null {
  const h = host.toLowerCase();
  if (h === '::1') return 'loopback';
  if (h === '::') return 'unspecified';
  if (/^fe[89ab]/.test(h)) return 'link-local';
  if (/^f[cd]/.test(h)) return 'private (unique local)';
  if (/^ff/.test(h)) return 'multicast';
  // IPv4-mapped / -compatible / NAT64 forms carry an IPv4 address in the last 32 bits.
  const mapped = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return ipv4Refusal(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`) ?? 'an IPv4-mapped address';
  }
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
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const refusal = host.includes(':') ? ipv6Refusal(host) : ipv4Refusal(host);
  if (refusal) return { status: 'refused', reason: `url points at a ${refusal} address (${host}); ${options.purpose}` };
  if (!host.includes('.') || LOCAL_NAMES.test(host.replace(/\.$/, ''))) {
    return { status: 'refused', reason: `url host ${host} is a local name; ${options.purpose}` };
  }
  return { status: 'ok', url: url.href };
}

/**
 * IP addresses as numbers, so that every spelling of one address is one address: `203.0.113.010` and
 * `203.0.113.10`, `2001:DB8::1` and `2001:db8:0:0:0:0:0:1`, `::ffff:203.0.113.10` and `203.0.113.10`. Used where an
 * address decides something: the per-address allowances (views/allowances.ts), which outbound URLs are public
 * (shared/url-policy.ts) and the `ip.src` access rules of playback (playback/access.ts, as CIDR ranges).
 *
 * IPv4 is four decimal numbers 0–255, each of 1–3 digits; a leading zero is read as decimal (no octal or hex
 * forms: the WHATWG URL parser has already turned those into dotted decimal where a URL is read).
 */
export interface Ipv4 {
  version: 4;
  bytes: [number, number, number, number];
}
export interface Ipv6 {
  version: 6;
  /** Eight 16-bit groups. */
  groups: number[];
}
export type IpAddress = Ipv4 | Ipv6;

export function parseIpv4(text: string): Ipv4 | null {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return null;
  const bytes = parts.map(Number) as [number, number, number, number];
  return bytes.every((b) => b <= 255) ? { version: 4, bytes } : null;
}

/** RFC 4291 §2.2 text: eight groups of 1–4 hex digits, one `::`, an optional trailing dotted IPv4. No zone id. */
export function parseIpv6(text: string): Ipv6 | null {
  const lower = text.toLowerCase();
  if (!/^[0-9a-f:.]{2,45}$/.test(lower)) return null;
  const halves = lower.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return null;
        const [a, b, c, d] = v4.bytes;
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-f]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return null;
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? { version: 6, groups: head } : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return { version: 6, groups: [...head, ...Array<number>(missing).fill(0), ...tail] };
}

export function parseIp(text: string): IpAddress | null {
  const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1');
  return trimmed.includes(':') ? parseIpv6(trimmed) : parseIpv4(trimmed);
}

/** The IPv4 address an IPv6 one carries in its last 32 bits when it is IPv4-mapped (`::ffff:a.b.c.d`), else null. */
export function mappedIpv4(ip: IpAddress): Ipv4 | null {
  if (ip.version !== 6) return null;
  const g = ip.groups;
  if (g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return null;
  return { version: 4, bytes: [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255] };
}

export function formatIpv4(bytes: readonly number[]): string {
  return bytes.join('.');
}

/** The canonical text of the first `count` groups (lower-case hex without leading zeros, no `::`). */
export function formatGroups(groups: readonly number[], count = 8): string {
  return groups.slice(0, count).map((g) => g.toString(16)).join(':');
}

/** The address's bytes: 4 for IPv4 (an IPv4-mapped IPv6 address counts as its IPv4), 16 for IPv6. */
export function ipBytes(ip: IpAddress): Uint8Array {
  const v4 = ip.version === 4 ? ip : mappedIpv4(ip);
  if (v4) return Uint8Array.from(v4.bytes);
  const out = new Uint8Array(16);
  (ip as Ipv6).groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** A CIDR range as bytes and a prefix length (access rules match client addresses against these). */
export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/** `203.0.113.0/24`, `2001:db8::/32`, or a bare address (all its bits); null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [addr = '', len] = text.trim().split('/', 2) as [string, string | undefined];
  const ip = parseIp(addr);
  if (!ip) return null;
  const bytes = ipBytes(ip);
  const max = bytes.length * 8;
  if (len === undefined) return { bytes, bits: max };
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return null;
  return { bytes, bits: Number(len) };
}

export function cidrContains(range: Cidr, address: IpAddress): boolean {
  const bytes = ipBytes(address);
  if (range.bytes.length !== bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; i < bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((range.bytes[i]! & mask) !== (bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * Addresses read as numbers (workers/shared/ip.ts), inside workerd: every spelling of one client address is one
 * allowance key, and webhook receivers given as IPv6 literals are judged by their address (public ones accepted,
 * private, reserved and tunnelled-private ones refused), never by the rule for names.
 */
import { describe, expect, it } from 'vitest';
import { api, newCreator } from './helpers';
import { clientKey } from '../../workers/views/allowances';
import { parseIp } from '../../workers/shared/ip';

const keyOf = (address: string) => clientKey(new Request('http://example.com/', { headers: { 'CF-Connecting-IP': address } }));

describe('client addresses of the per-address allowances', () => {
  it('leading zeros, IPv4-mapped IPv6 and surrounding blanks name the same IPv4 client', () => {
    for (const spelling of ['203.0.113.010', '203.000.113.10', ' 203.0.113.10 ', '::ffff:203.0.113.10', '::FFFF:cb00:710a', '0:0:0:0:0:ffff:203.0.113.10']) {
      expect(keyOf(spelling), spelling).toBe('203.0.113.10');
    }
    expect(keyOf('203.0.113.11')).toBe('203.0.113.11');
  });

  it('IPv6 clients are keyed by their /64 in one spelling', () => {
    const key = '2001:db8:85a3:8d3::/64';
    for (const spelling of ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:0DB8:85A3:08D3::1', '2001:db8:85a3:8d3:0:0:0:1', '[2001:db8:85a3:8d3::ffff]']) {
      expect(keyOf(spelling), spelling).toBe(key);
    }
  });

  it('what is not an address shares one key, as does a request without the header', () => {
    for (const junk of ['203.0.113.256', '203.0.113', '1.2.3.4.5', '0x7f.0.0.1', '2001:db8::1::2', 'localhost', '1:2:3:4:5:6:7:8:9']) {
      expect(keyOf(junk), junk).toBe('invalid');
    }
    expect(clientKey(new Request('http://example.com/'))).toBe('local');
  });

  it('parses the RFC 4291 forms', () => {
    expect(parseIp('::')).toEqual({ version: 6, groups: [0, 0, 0, 0, 0, 0, 0, 0] });
    expect(parseIp('::1')).toEqual({ version: 6, groups: [0, 0, 0, 0, 0, 0, 0, 1] });
    expect(parseIp('64:ff9b::192.0.2.33')).toEqual({ version: 6, groups: [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221] });
    expect(parseIp('1:2:3:4:5:6:7::')).toEqual({ version: 6, groups: [1, 2, 3, 4, 5, 6, 7, 0] });
    expect(parseIp('1:2:3:4:5:6:7:8::')).toBeNull();
  });
});

describe('webhook receivers given as IP literals', () => {
  const register = async (url: string) => {
    const { token } = await newCreator();
    return api('/v1/webhooks', { method: 'POST', token, json: { url, events: ['video.ready'] } });
  };

  it.each(['https://[2606:4700::1111]/hook', 'https://[2001:4860:4860::8888]:8443/hook', 'https://[2a00:1450:4001:82a::200e]/', 'https://1.1.1.1/hook'])('accepts the public address %s', async (url) => {
    const res = await register(url);
    expect(res.status, await res.clone().text()).toBe(201);
    expect((await res.json<{ url: string }>()).url).toBe(new URL(url).href);
  });

  it.each([
    ['IPv6 loopback spelled out', 'http://[0:0:0:0:0:0:0:1]/hook', /loopback/],
    ['IPv6 unspecified', 'http://[::]/hook', /unspecified/],
    ['IPv6 link-local', 'http://[fe80::1]/hook', /link-local/],
    ['IPv6 site-local', 'http://[fec0::1]/hook', /site-local/],
    ['IPv6 unique local', 'http://[fc12::1]/hook', /unique local/],
    ['IPv6 multicast', 'http://[ff02::1]/hook', /multicast/],
    ['IPv6 documentation', 'http://[2001:db8::1]/hook', /documentation/],
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/hook', /private/],
    ['NAT64 of loopback', 'http://[64:ff9b::127.0.0.1]/hook', /loopback/],
    ['local-use NAT64', 'http://[64:ff9b:1::a00:1]/hook', /local NAT64/],
    ['6to4 of a private address', 'http://[2002:c0a8:1::1]/hook', /private/],
    ['Teredo', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook', /Teredo/],
    ['IPv4 loopback with leading zeros', 'http://127.000.000.001/hook', /loopback/],
  ])('refuses %s', async (_what, url, message) => {
    const res = await register(url);
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(message);
  });

  it('a name without a dot is still a local name', async () => {
    const res = await register('https://intranet-box/hook');
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { message: string } }>()).error.message).toMatch(/local name/);
  });
});

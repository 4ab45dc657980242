/**
 * The per-client allowances as the routes use them (see client-limiter.ts for the rule and why a Durable Object).
 *
 * The client is the address Cloudflare saw (`CF-Connecting-IP`; the edge sets it and a client cannot override it).
 * The key is the address in one canonical spelling (shared/ip.ts), so `203.0.113.010` and `203.0.113.10` share one
 * allowance, as do an IPv4-mapped IPv6 address and its IPv4 address. IPv6 clients are keyed by their /64, since one
 * subscriber usually holds a whole /64 and could otherwise rotate addresses for free. Without the header (only
 * possible off Cloudflare, e.g. a bare local run) every request shares the key `local`, and every unparsable value
 * the key `invalid`: both err on the side of limiting.
 */
import type { Config } from '../shared/config';
import { apiError, ApiError } from '../shared/errors';
import { formatGroups, formatIpv4, mappedIpv4, parseIp } from '../shared/ip';
import type { ClientLimiter, TakeResult } from './client-limiter';
import { routingHash } from './routing';

export function clientKey(req: Request): string {
  const raw = (req.headers.get('CF-Connecting-IP') ?? '').trim();
  if (raw === '') return 'local';
  const ip = parseIp(raw);
  if (!ip) return 'invalid';
  if (ip.version === 4) return formatIpv4(ip.bytes);
  const mapped = mappedIpv4(ip);
  if (mapped) return formatIpv4(mapped.bytes);
  return `${formatGroups(ip.groups, 4)}::/64`;
}

/**
 * The limiter object holding `client`'s counters: one of `limiterShards`, by a hash of the address. A fixed pool of
 * warm objects rather than one per address: a first-time viewer does not pay for creating an object, and the number
 * of objects stays bounded however many addresses show up. Each object decides its addresses alone, so the
 * allowance is still exact.
 */
function limiter(env: Env, config: Config, client: string): DurableObjectStub<ClientLimiter> {
  const shard = routingHash(client) % config.views.allowances.limiterShards;
  return env.CLIENT_LIMITER.get(env.CLIENT_LIMITER.idFromName(`limiter#${shard}`)) as DurableObjectStub<ClientLimiter>;
}

function tooMany(result: Extract<TakeResult, { status: 'limited' }>, what: string): ApiError {
  return apiError('rate_limited', `too many ${what} from this address; retry after ${result.retryAfterSec} s`, { headers: {
    'Retry-After': String(result.retryAfterSec),
  } });
}

/** One slot of `name` (at most `limit` per `windowSec`), or a 429 with Retry-After naming `what`. */
async function take(env: Env, config: Config, client: string, name: string, limit: number, windowSec: number, what: string): Promise<void> {
  const result = await limiter(env, config, client).take(`${client}|${name}`, limit, windowSec);
  if (result.status === 'limited') throw tooMany(result, what);
  if (result.status === 'failed') throw apiError('unavailable', 'rate limiter unavailable; retry', { headers: { 'Retry-After': '1' } });
}

/** One new playback session for this client, or a 429 with Retry-After. */
export async function takeSessionAllowance(env: Env, config: Config, client: string): Promise<void> {
  const a = config.views.allowances;
  await take(env, config, client, 'sessions', a.sessionsPerWindow, a.sessionWindowSec, 'playback sessions');
}

/**
 * One frame cut on request for this client (workers/frames: a frame neither cached nor stored yet costs transcoder
 * time), or a 429 with Retry-After. Frames already cut are served without it.
 */
export async function takeFrameAllowance(env: Env, config: Config, client: string): Promise<void> {
  await take(env, config, client, 'frames', config.frames.cutsPerWindow, config.frames.cutWindowSec, 'new frames');
}

export interface ViewSlot {
  refund(): Promise<void>;
}

/** One counted view of `videoId` for this client, or a 429 with Retry-After. `refund` when it did not count. */
export async function takeViewAllowance(env: Env, config: Config, client: string, videoId: string): Promise<ViewSlot> {
  const a = config.views.allowances;
  const stub = limiter(env, config, client);
  const name = `${client}|views:${videoId}`;
  const result = await stub.take(name, a.viewsPerVideoPerWindow, a.viewWindowSec);
  if (result.status === 'limited') throw tooMany(result, `views of this video`);
  if (result.status === 'failed') throw apiError('unavailable', 'rate limiter unavailable; retry', { headers: { 'Retry-After': '1' } });
  return { refund: () => stub.refund(name, result.windowStart) };
}

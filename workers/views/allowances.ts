/**
 * The per-client allowances as the routes use them (see client-limiter.ts for the rule and why a Durable Object).
 *
 * The client is the address Cloudflare saw (`CF-Connecting-IP`; the edge sets it and a client cannot override it).
 * IPv6 clients are keyed by their /64, since one subscriber usually holds a whole /64 and could otherwise rotate
 * addresses for free. Without the header (only possible off Cloudflare, e.g. a bare local run) every request shares
 * the key `local`, which errs on the side of limiting.
 */
import type { Config } from '../shared/config';
import { apiError, ApiError } from '../shared/errors';
import type { ClientLimiter, TakeResult } from './client-limiter';
import { routingHash } from './routing';

export function clientKey(req: Request): string {
  const raw = (req.headers.get('CF-Connecting-IP') ?? '').trim().toLowerCase();
  if (raw === '') return 'local';
  if (!raw.includes(':')) return /^[0-9.]{7,15}$/.test(raw) ? raw : 'invalid';
  if (!/^[0-9a-f:.]{2,45}$/.test(raw)) return 'invalid';
  return `${ipv6Prefix64(raw)}::/64`;
}

/** The first four groups of an IPv6 address, with `::` expanded. */
function ipv6Prefix64(addr: string): string {
  const [head = '', tail] = addr.split('::', 2) as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups
    .slice(0, 4)
    .map((g) => (g.replace(/^0+(?=.)/, '') || '0'))
    .join(':');
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

/** One new playback session for this client, or a 429 with Retry-After. */
export async function takeSessionAllowance(env: Env, config: Config, client: string): Promise<void> {
  const a = config.views.allowances;
  const result = await limiter(env, config, client).take(`${client}|sessions`, a.sessionsPerWindow, a.sessionWindowSec);
  if (result.status === 'limited') throw tooMany(result, 'playback sessions');
  if (result.status === 'failed') throw apiError('unavailable', 'rate limiter unavailable; retry', { headers: { 'Retry-After': '1' } });
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

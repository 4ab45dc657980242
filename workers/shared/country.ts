/**
 * The viewer's country: `request.cf.country` (ISO 3166-1 alpha-2, set by Cloudflare's edge), upper case, or null
 * when unknown. Locally `request.cf` has no country; workerd tests pass `cf: { country }` on the Request.
 */
export function requestCountry(request: Request): string | null {
  const cf = (request as Request & { cf?: { country?: unknown } }).cf;
  return typeof cf?.country === 'string' && /^[A-Za-z]{2}$/.test(cf.country) ? cf.country.toUpperCase() : null;
}

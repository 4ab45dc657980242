/**
 * Opening an import's source: an http(s) GET that follows at most `imports.maxRedirects` redirects, every hop
 * checked by the SSRF rule (shared/url-policy.ts: no loopback, private, link-local or metadata address, no local
 * name), and resumes with `Range` + `If-Range` where the source allows it (a 206 from exactly the bytes already
 * stored; a 200 instead means starting over). Refusals name the reason; an answer that can never succeed (404,
 * 403, 410, a refused redirect) fails the import, one that may (5xx, 408, 429, a dropped connection) is retried.
 */
import type { Config } from '../shared/config';
import { checkOutboundUrl } from '../shared/url-policy';
import type { ImportRow } from './repo';

export type SourceOpen =
  | { status: 'ok'; response: Response; offset: number; total: number | null; validator: string | null }
  | { status: 'retry'; reason: string }
  | { status: 'fail'; reason: string };

const MAX_URL = 2048;

export function checkSourceUrl(raw: string, config: Config) {
  return checkOutboundUrl(raw, { maxLength: MAX_URL, allowPrivate: config.imports.privateHosts, purpose: 'imports read from public hosts only' });
}

/** A validator If-Range accepts: a strong ETag, else Last-Modified. */
function validatorOf(res: Response): string | null {
  const etag = res.headers.get('ETag');
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers.get('Last-Modified');
}

function parseContentRange(value: string | null): { start: number; total: number | null } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value ?? '');
  if (!m) return null;
  return { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) };
}

function lengthOf(res: Response): number | null {
  const text = res.headers.get('Content-Length');
  return text !== null && /^\d+$/.test(text) ? Number(text) : null;
}

/** GETs the source from `row.bytesFetched` (when it can resume there), following checked redirects. */
export async function openSource(config: Config, row: Pick<ImportRow, 'url' | 'bytesFetched' | 'validator'>, signal: AbortSignal): Promise<SourceOpen> {
  let url = row.url;
  const resume = row.bytesFetched > 0 && row.validator !== null;
  for (let hop = 0; hop <= config.imports.maxRedirects; hop++) {
    const verdict = checkSourceUrl(url, config);
    if (verdict.status === 'refused') return { status: 'fail', reason: hop === 0 ? verdict.reason : `redirected to a refused URL: ${verdict.reason}` };
    const headers: Record<string, string> = { 'User-Agent': 'edge-video-import/1' };
    if (resume) {
      headers.Range = `bytes=${row.bytesFetched}-`;
      headers['If-Range'] = row.validator!;
    }
    let res: Response;
    try {
      res = await fetch(verdict.url, { redirect: 'manual', headers, signal });
    } catch (err) {
      return { status: 'retry', reason: `the source could not be reached: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (res.status >= 300 && res.status < 400 && res.status !== 304) {
      await res.body?.cancel();
      const location = res.headers.get('Location');
      if (!location) return { status: 'fail', reason: `the source answered HTTP ${res.status} without a Location` };
      url = new URL(location, verdict.url).href;
      continue;
    }
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('Content-Range'));
      if (!resume || !range || range.start !== row.bytesFetched) {
        await res.body?.cancel();
        return { status: 'fail', reason: 'the source answered a range that was not asked for' };
      }
      return { status: 'ok', response: res, offset: row.bytesFetched, total: range.total, validator: row.validator };
    }
    if (res.status === 200) return { status: 'ok', response: res, offset: 0, total: lengthOf(res), validator: validatorOf(res) };
    await res.body?.cancel();
    if (res.status >= 500 || res.status === 408 || res.status === 429) return { status: 'retry', reason: `the source answered HTTP ${res.status}` };
    return { status: 'fail', reason: `the source answered HTTP ${res.status}` };
  }
  return { status: 'fail', reason: `the source redirected more than ${config.imports.maxRedirects} times` };
}

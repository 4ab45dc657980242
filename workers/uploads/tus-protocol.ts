/**
 * tus 1.0.0 protocol details: versions, extensions, header parsing and the CORS headers browsers (tus-js-client,
 * Uppy) need to read tus responses cross-origin. https://tus.io/protocols/resumable-upload
 */
import { apiError, ApiError, badRequest } from '../shared/errors';

export const TUS_VERSION = '1.0.0';
/**
 * Advertised only when complete. Not offered: `checksum-trailer` (workerd gives a Worker no access to HTTP request
 * trailers; see docs/uploads.md).
 */
export const TUS_EXTENSIONS = 'creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation,concatenation-unfinished';
export const TUS_CHECKSUM_ALGORITHMS = 'sha1';
export const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';

export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Offset',
  'Upload-Checksum',
  'Upload-Defer-Length',
  'Upload-Concat',
  'X-Requested-With',
  'X-HTTP-Method-Override',
].join(', ');

export const CORS_EXPOSE_HEADERS = [
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Expires',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Tus-Checksum-Algorithm',
].join(', ');

export const CORS_ALLOW_METHODS = 'POST, HEAD, PATCH, DELETE, OPTIONS, GET';

/** tus errors carry the protocol's own status codes (412, 415, 460) in the API's error shape. */
export const preconditionFailed = () =>
  apiError('unsupported_tus_version', `this server speaks tus ${TUS_VERSION}; send Tus-Resumable: ${TUS_VERSION}`, { headers: {
    'Tus-Version': TUS_VERSION,
  } });
export const unsupportedMediaType = (what = 'PATCH bodies') =>
  apiError('unsupported_media_type', `${what} must have Content-Type: ${OFFSET_CONTENT_TYPE}`);

/** The media type of a request, lower-cased without parameters ('' when absent). */
export const mediaTypeOf = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();
/** A non-negative integer header (Upload-Length, Upload-Offset); malformed is a 400. */
export function parseByteCount(value: string | undefined, name: string): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,16}$/.test(value.trim())) throw badRequest(`${name} must be a non-negative integer`);
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n)) throw badRequest(`${name} is too large`);
  return n;
}

function decodeBase64(value: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) throw badRequest(`${what} is not valid base64`);
  try {
    return Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0));
  } catch {
    throw badRequest(`${what} is not valid base64`);
  }
}

/** `Upload-Metadata: key base64,key2 base64,flag` → map of UTF-8 strings (a key without value maps to ''). */
export function parseUploadMetadata(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header.trim() === '') return out;
  if (header.length > 4096) throw badRequest('Upload-Metadata is too long');
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ');
    const key = parts[0] ?? '';
    if (parts.length > 2 || !/^[\x21-\x7e]+$/.test(key)) throw badRequest(`malformed Upload-Metadata pair ${JSON.stringify(pair)}`);
    if (out.has(key)) throw badRequest(`Upload-Metadata key ${key} appears twice`);
    const raw = parts[1] ?? '';
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(decodeBase64(raw, `Upload-Metadata value of ${key}`));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw badRequest(`Upload-Metadata value of ${key} is not UTF-8`);
    }
    out.set(key, text);
  }
  return out;
}

export type UploadChecksum = { status: 'digest'; sha1: Uint8Array } | { status: 'never_matches'; bytes: number };

/**
 * `Upload-Checksum: sha1 <base64 digest>`. A malformed header or another algorithm is a 400 (the spec's answer to
 * an unsupported algorithm); a well-formed digest of the wrong length can never match the body, so it is a
 * checksum mismatch (460), not a malformed request.
 */
const FILETYPE = /^[\w.+-]+\/[\w.+-]+$/;

/** The media type a client declared in `Upload-Metadata` (`filetype`, or `type`), if it is one. */
export function contentTypeOfMetadata(metadata: Map<string, string>): string | null {
  const filetype = metadata.get('filetype') ?? metadata.get('type');
  return filetype && FILETYPE.test(filetype) ? filetype : null;
}

export function parseUploadChecksum(header: string | undefined): UploadChecksum | null {
  if (header === undefined) return null;
  const m = /^\s*([A-Za-z0-9-]+) +(\S+)\s*$/.exec(header);
  if (!m) throw badRequest('Upload-Checksum must be "<algorithm> <base64 digest>"');
  if (m[1]!.toLowerCase() !== 'sha1') throw badRequest(`checksum algorithm ${m[1]} is not supported; use sha1`);
  const digest = decodeBase64(m[2]!, 'Upload-Checksum digest');
  if (digest.byteLength !== 20) return { status: 'never_matches', bytes: digest.byteLength };
  return { status: 'digest', sha1: digest };
}

export type UploadConcat = { type: 'partial' } | { type: 'final'; uploadIds: string[] };

/**
 * `Upload-Concat: partial`, or `final;<url> <url> …` (absolute URLs or paths, in order). The upload id is the last
 * path segment of each URL; whether it names a real partial upload is for the caller to check.
 */
export function parseUploadConcat(header: string | undefined, maxPartials: number): UploadConcat | null {
  if (header === undefined) return null;
  const value = header.trim();
  if (value === 'partial') return { type: 'partial' };
  if (!value.startsWith('final;')) throw badRequest('Upload-Concat must be "partial" or "final;<url> <url> …"');
  const urls = value.slice('final;'.length).trim().split(/\s+/).filter((u) => u !== '');
  if (urls.length === 0) throw badRequest('Upload-Concat: final needs at least one partial upload URL');
  if (urls.length > maxPartials) throw badRequest(`Upload-Concat: final may name at most ${maxPartials} partial uploads`);
  const uploadIds = urls.map((url) => {
    let path: string;
    try {
      path = new URL(url, 'http://relative.invalid').pathname;
    } catch {
      throw badRequest(`Upload-Concat: ${JSON.stringify(url)} is not a URL`);
    }
    const id = path.replace(/\/+$/, '').split('/').pop() ?? '';
    if (id === '') throw badRequest(`Upload-Concat: ${JSON.stringify(url)} names no upload`);
    return id;
  });
  if (new Set(uploadIds).size !== uploadIds.length) throw badRequest('Upload-Concat: final names the same partial upload twice');
  return { type: 'final', uploadIds };
}

export const httpDate = (ms: number) => new Date(ms).toUTCString();

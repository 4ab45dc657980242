/**
 * The transcoder's storage, served from the R2 binding. One handler, two doors:
 * - locally: the Worker route `/internal/storage/{key}` (the transcoder is a separate Node process);
 * - in production: the `storage.internal` virtual host the TranscoderContainer intercepts (outboundByHost), so the
 *   container reaches R2 without S3 credentials and without internet access.
 * Both require `Authorization: Bearer INTERNAL_TOKEN` (checked by the route's bearer-auth middleware and by the
 * container's outbound handler), and both only allow what transcoding needs: read originals and outputs (GET/HEAD
 * with Range, which ffprobe uses to seek), write and delete under `videos/`.
 *
 * Business rule (a deleted video stays deleted): nothing may be written for a DELETED (or unknown) video. A job
 * still running when its video is deleted gets 410 on every write. A write that raced the deletion (checked before
 * the video was marked DELETED, finished after) is removed again by the write itself, which re-checks once its
 * bytes are in; and the cron sweep of recently deleted videos (workers/metadata/delete.ts) catches anything else.
 */
import { errorResponse } from '../shared/errors';
import { acceptsOutputs } from '../metadata/delete';
import { headObject, headOriginal, readObject, readOriginal, type OriginalHead } from '../shared/original';
import { contentRange, parseRange, UNSATISFIABLE } from '../shared/range';
import { videoIdOfOriginalKey } from '../shared/storage-keys';

const READABLE = /^(originals|videos)\/[A-Za-z0-9_-]{1,64}\/([A-Za-z0-9_-]{1,64}\/)?[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9]{1,8})?$/;
const WRITABLE = /^videos\//;


function objectHeaders(head: OriginalHead): Headers {
  const headers = new Headers();
  head.writeHttpMetadata(headers);
  headers.set('ETag', head.httpEtag);
  headers.set('Accept-Ranges', 'bytes');
  return headers;
}

const unsatisfiable = (size: number) => new Response(null, { status: 416, headers: { 'Content-Range': contentRange(UNSATISFIABLE, size) } });

/** The 401 both doors answer without a valid INTERNAL_TOKEN. */
export const storageUnauthorized = () => errorResponse('unauthorized', 'internal token required');

export async function serveStorage(bucket: R2Bucket, request: Request, key: string, videos: D1Database): Promise<Response> {
  if (!READABLE.test(key)) return errorResponse('bad_request', 'not a transcoding storage key');

  switch (request.method) {
    case 'GET':
    case 'HEAD': {
      // The playback policy (workers/shared/range.ts): a malformed Range is ignored (RFC 9110 §14.2) and the whole
      // object is sent. ffmpeg and ffprobe only send one well-formed range; GET alone takes a range (RFC 9110 §14.2).
      const parsed = request.method === 'GET' ? parseRange(request.headers.get('Range')) : null;
      const range = parsed?.kind === 'range' ? parsed.range : null;
      // An original may be a composite (a tus concatenation): shared/original.ts reads both shapes alike.
      const originalOf = videoIdOfOriginalKey(key);
      if (request.method === 'HEAD') {
        const head = originalOf ? await headOriginal(bucket, originalOf) : await headObject(bucket, key);
        if (!head) return errorResponse('not_found', 'no such object');
        const headers = objectHeaders(head);
        headers.set('Content-Length', String(head.size));
        return new Response(null, { headers });
      }
      const read = originalOf ? await readOriginal(bucket, originalOf, range) : await readObject(bucket, key, range);
      if (read.status === 'not_found') return errorResponse('not_found', 'no such object');
      if (read.status === 'unsatisfiable') return unsatisfiable(read.size);
      const headers = objectHeaders(read.head);
      if (!read.range) {
        headers.set('Content-Length', String(read.head.size));
        return new Response(read.body, { headers });
      }
      const resolved = { kind: 'satisfiable' as const, ...read.range };
      headers.set('Content-Range', contentRange(resolved, read.head.size));
      headers.set('Content-Length', String(resolved.end - resolved.start + 1));
      return new Response(read.body, { status: 206, headers });
    }
    case 'PUT': {
      if (!WRITABLE.test(key)) return errorResponse('forbidden', 'the transcoder may only write outputs');
      if (!request.body) return errorResponse('bad_request', 'body required');
      const contentType = request.headers.get('Content-Type') ?? 'application/octet-stream';
      const length = Number(request.headers.get('Content-Length') ?? NaN);
      if (!Number.isFinite(length)) return errorResponse('length_required', 'Content-Length required');
      const videoId = key.split('/')[1]!;
      if (!(await acceptsOutputs(videos, videoId))) return errorResponse('gone', 'the video was deleted; nothing may be written for it');
      const written = await bucket.put(key, request.body, { httpMetadata: { contentType } });
      if (!(await acceptsOutputs(videos, videoId))) {
        await bucket.delete(key);
        return errorResponse('gone', 'the video was deleted while this was written; it was removed');
      }
      return new Response(JSON.stringify({ key, size: written?.size ?? length }), { status: 201, headers: { 'Content-Type': 'application/json' } });
    }
    case 'DELETE': {
      if (!WRITABLE.test(key)) return errorResponse('forbidden', 'the transcoder may only delete outputs');
      await bucket.delete(key);
      return new Response(null, { status: 204 });
    }
    default:
      return errorResponse('method_not_allowed', `${request.method} not allowed`);
  }
}

/** The object key of a storage URL path after `prefix` (`/internal/storage/` locally, `/` on the virtual host). */
export function storageKeyFromPath(pathname: string, prefix: string): string | null {
  if (!pathname.startsWith(prefix)) return null;
  try {
    const key = pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
    return key.includes('..') ? null : key;
  } catch {
    return null;
  }
}

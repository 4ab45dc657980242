/**
 * oEmbed (https://oembed.com): `GET /oembed?url=<watch or embed URL>&maxwidth=&maxheight=&format=json` answers a
 * `video` with the embed page's `<iframe>`, so chat apps and CMSs unfurl links to this platform's videos. The watch
 * page names this endpoint in its discovery link.
 *
 * As the spec asks: a URL that is not this platform's watch or embed page, or names no video anyone may see, is a
 * 404; a video that needs a playback token the URL does not carry (or carries an invalid one) is a 401; any format
 * but JSON is a 501. The `<iframe>` and the thumbnail fit `maxwidth` × `maxheight` (the thumbnail is left out when
 * the poster is larger than that).
 */
import { createRoute } from '@hono/zod-openapi';
import { playbackGrant } from '../../playback/authorize';
import { getPlaybackPolicy } from '../../playback/policy';
import { publicOrigin, type Config } from '../../shared/config';
import { apiError, ApiError, badRequest, notFound } from '../../shared/errors';
import { apiRoutes, errors, jsonContent, z } from '../../shared/openapi';
import { isSafeId, publicPaths } from '../../shared/storage-keys';
import { requireVideo } from '../../metadata/videos';
import type { VideoRow } from '../../metadata/serialize';
import { parseEmbedOptions } from './params';

const DEFAULT_WIDTH = 640;
const MAX_SIZE = 10_000;

const size = (name: string) =>
  z
    .string({ error: `${name} must be given once` })
    .regex(/^[1-9]\d{0,4}$/, `${name} must be a whole number of pixels from 1 to ${MAX_SIZE}`)
    .transform(Number)
    .refine((n) => n <= MAX_SIZE, `${name} must be a whole number of pixels from 1 to ${MAX_SIZE}`)
    .optional()
    .openapi({ param: { name, in: 'query' }, type: 'string', example: '480' });

export const OEmbedQuery = z.object({
  url: z.string({ error: 'url is required: a watch or embed page of this platform' }).openapi({ param: { name: 'url', in: 'query' }, example: 'https://video.example/watch/vid_0k5x8m2q9r3t7v1w' }),
  maxwidth: size('maxwidth'),
  maxheight: size('maxheight'),
  format: z.string({ error: 'format must be given once' }).optional().openapi({ param: { name: 'format', in: 'query' }, description: 'json (the only format; anything else is 501)' }),
});

const OEmbedSchema = z
  .object({
    version: z.literal('1.0'),
    type: z.literal('video'),
    provider_name: z.string(),
    provider_url: z.string(),
    title: z.string(),
    html: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    thumbnail_url: z.string().optional(),
    thumbnail_width: z.number().int().optional(),
    thumbnail_height: z.number().int().optional(),
  })
  .openapi('OEmbed');

/** The video's frame, at most `maxWidth` × `maxHeight`, in its own aspect ratio. */
export function fitSize(aspect: number, width: number, maxWidth?: number, maxHeight?: number): { width: number; height: number } {
  let w = Math.min(width, maxWidth ?? Infinity);
  let h = Math.round(w / aspect);
  if (maxHeight !== undefined && h > maxHeight) {
    h = maxHeight;
    w = Math.max(1, Math.floor(h * aspect));
  }
  return { width: Math.max(1, Math.round(w)), height: Math.max(1, h) };
}

/** The poster's size: the transcoder's poster is at most `posterMaxHeight` high, a chosen one `posterWidth` wide. */
function posterSize(video: Pick<VideoRow, 'width' | 'height' | 'posterTime'>, aspect: number, config: Config): { width: number; height: number } {
  if (video.posterTime !== null) return { width: config.frames.posterWidth, height: Math.round(config.frames.posterWidth / aspect) };
  const height = Math.min(config.transcoding.thumbnails.posterMaxHeight, video.height ?? config.transcoding.thumbnails.posterMaxHeight);
  return { width: 2 * Math.round((height * aspect) / 2), height };
}

const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The watch or embed page a URL names on this platform, or null. */
function pageOf(raw: string, origin: string): { videoId: string; embedQuery: URLSearchParams | null } | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.origin !== origin) return null;
  const m = /^\/(watch|embed)\/([^/]+)$/.exec(url.pathname);
  if (!m || !isSafeId(m[2]!)) return null;
  return { videoId: m[2]!, embedQuery: m[1] === 'embed' ? url.searchParams : null };
}

export const oembedRoutes = apiRoutes().openapi(
  createRoute({
    method: 'get',
    path: '/oembed',
    tags: ['embed'],
    summary: "oEmbed: a watch or embed page's video as an <iframe> of the embed page (CORS: any origin)",
    request: { query: OEmbedQuery },
    responses: { 200: jsonContent(OEmbedSchema, 'oEmbed video'), ...errors(400, 401, 404, 501) },
  }),
  async (c) => {
    const { config, db } = c.var;
    const query = c.req.valid('query');
    if (query.format !== undefined && query.format !== 'json') throw apiError('not_implemented', 'only format=json is available');
    const origin = publicOrigin(config, c.req.url);
    const page = pageOf(query.url, origin);
    if (!page) throw notFound(`no oEmbed for this URL: only ${origin}/watch/{id} and ${origin}/embed/{id} pages have one`);
    const options = parseEmbedOptions(page.embedQuery ?? new URLSearchParams());
    if (!options.ok) throw badRequest(`the embed URL's query: ${options.message}`);
    const policy = await getPlaybackPolicy(db, page.videoId, config.playback.policyTtlMs);
    const token = options.options.token;
    if (!policy || policy.deleted || (token === null && policy.visibility === 'private')) throw notFound('video not found');
    try {
      await playbackGrant(db, config, page.videoId, token);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      throw apiError('unauthorized', token === null ? 'this video plays only with a playback token: give an embed URL with ?token=…' : `the embed URL's token does not play this video: ${err.message}`);
    }
    const { video, renditions } = await requireVideo(c, page.videoId);
    if (!(video.status === 'READY' || (video.status === 'PROCESSING' && renditions.length > 0))) throw notFound('this video has nothing to play yet');
    const aspect = video.width && video.height ? video.width / video.height : 16 / 9;
    const frame = fitSize(aspect, DEFAULT_WIDTH, query.maxwidth, query.maxheight);
    const src = `${origin}/embed/${page.videoId}${page.embedQuery?.size ? `?${page.embedQuery}` : ''}`;
    const html = `<iframe src="${escapeAttr(src)}" width="${frame.width}" height="${frame.height}" title="${escapeAttr(video.title)}" frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`;
    const poster = posterSize(video, aspect, config);
    const fits = poster.width <= (query.maxwidth ?? Infinity) && poster.height <= (query.maxheight ?? Infinity);
    const scope = token === null ? publicPaths.thumbnail(page.videoId, 'poster.jpg') : publicPaths.signedMaster(page.videoId, token).replace(/master\.m3u8$/, 'thumbnails/poster.jpg');
    return c.json(
      {
        version: '1.0' as const,
        type: 'video' as const,
        provider_name: 'edge-video',
        provider_url: `${origin}/`,
        title: video.title,
        html,
        width: frame.width,
        height: frame.height,
        ...(fits ? { thumbnail_url: `${origin}${scope}`, thumbnail_width: poster.width, thumbnail_height: poster.height } : {}),
      },
      200,
      { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'public, max-age=300' },
    );
  },
);

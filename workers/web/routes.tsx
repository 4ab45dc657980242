/**
 * The web app's pages, served by the Worker: sign-in, upload, library, watch and stats. Each is a server-rendered
 * shell (Hono JSX) plus one bundled module script from workers/web/static/assets (built by scripts/build-web.ts in
 * wrangler's build step and served as Workers static assets). The pages use only the public API.
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import type { AppEnv } from '../shared/hono-env';
import { isSafeId } from '../shared/storage-keys';
import { Layout } from './layout';
import { SignInPage, UploadPage, LibraryPage, WatchPage, StatsPage } from './pages';
import { watchSource } from './watch-source';
import { publicOrigin } from '../shared/config';

/**
 * Pages only load code and media from this origin and the playback origin, and no other site may frame them.
 * Inline scripts are not allowed (the page config is JSON, not script); `blob:` is needed for Media Source
 * Extensions (hls.js) and its worker. `nosniff` and `X-Frame-Options` come with every answer (shared/security-headers.ts).
 */
function pageHeaders(c: Context<AppEnv>): Record<string, string> {
  const self = new URL(c.req.url).origin;
  const configured = c.var.config.deployment.publicOrigin;
  const playback = configured && configured !== self ? ` ${configured}` : '';
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src 'self' data: blob:${playback}`,
      `media-src 'self' blob:${playback}`,
      `connect-src 'self'${playback}`,
      "worker-src 'self' blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      // No other site may frame a page (clickjacking): what X-Frame-Options: DENY says to older browsers.
      "frame-ancestors 'none'",
    ].join('; '),
    // Signed playback URLs must not leak to other sites through Referer.
    'Referrer-Policy': 'same-origin',
    // Shells hold no creator data, but they change with each deploy: revalidate.
    'Cache-Control': 'no-cache',
  };
}

export const webRoutes = new Hono<AppEnv>()
  .get('/', (c) => c.redirect('/library', 302))
  .get('/signin', (c) => c.html(<SignInPage />, 200, pageHeaders(c)))
  .get('/upload', (c) => {
    const { uploads } = c.var.config;
    const config = { tusEndpoint: '/v1/uploads', chunkSize: uploads.chunkSize, maxFileSize: uploads.maxFileSize };
    return c.html(<UploadPage config={config} />, 200, pageHeaders(c));
  })
  .get('/library', (c) => c.html(<LibraryPage />, 200, pageHeaders(c)))
  .get('/watch/:id', async (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) return c.html(<NotFoundPage />, 404, pageHeaders(c));
    const { views } = c.var.config;
    const source = await watchSource(c, id);
    const config = {
      videoId: id,
      viewRule: { minWatchSeconds: views.minWatchSeconds, shortVideoSeconds: views.shortVideoSeconds, shortVideoFraction: views.shortVideoFraction },
      src: source?.src ?? null,
      video: source?.video ?? null,
    };
    const origin = publicOrigin(c.var.config, c.req.url);
    const oembedUrl = `${origin}/oembed?${new URLSearchParams({ url: `${origin}/watch/${id}`, format: 'json' })}`;
    return c.html(<WatchPage config={config} video={source?.video ?? null} oembedUrl={oembedUrl} />, 200, pageHeaders(c));
  })
  .get('/stats/:id', (c) => {
    const id = c.req.param('id');
    if (!isSafeId(id)) return c.html(<NotFoundPage />, 404, pageHeaders(c));
    return c.html(<StatsPage config={{ videoId: id }} />, 200, pageHeaders(c));
  });

function NotFoundPage() {
  return (
    <Layout page="library" title="Not found">
      <h1>Not found</h1>
      <p>
        There is no video at this address. <a href="/library">Back to the library</a>.
      </p>
    </Layout>
  );
}

/**
 * The HTTP surface: one Hono app composed of one sub-app per area. Every error leaves through `renderError`
 * as `{ "error": { "code", "message" } }`.
 */
import { Hono } from 'hono';
import { adminRoutes } from './admin/routes';
import { metadataRoutes } from './metadata/routes';
import { viewRoutes } from './views/routes';
import { playbackRoutes } from './playback/routes';
import { loadConfig } from './shared/config';
import { openDb } from './shared/db';
import { transcodingRoutes } from './transcoding/routes';
import { errorJson, renderError } from './shared/errors';
import type { AppEnv } from './shared/hono-env';
import { chunkRoutes, discardRoutes, tusRoutes } from './uploads/routes';
import { webRoutes } from './web/routes';
import { captionRoutes } from './captions/routes';
import { clipRoutes } from './clips/routes';
import { downloadRoutes } from './downloads/routes';

export function createApp() {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set('config', loadConfig(c.env as unknown as Record<string, unknown>));
    c.set('db', openDb(c.env.DB));
    await next();
  });
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/', adminRoutes);
  app.route('/', metadataRoutes);
  app.route('/', chunkRoutes);
  app.route('/v1/uploads', tusRoutes);
  app.route('/', discardRoutes);
  app.route('/', viewRoutes);
  app.route('/', playbackRoutes);
  app.route('/', transcodingRoutes);
  app.route('/', captionRoutes);
  app.route('/', clipRoutes);
  app.route('/', downloadRoutes);
  app.route('/', webRoutes);
  app.notFound((c) => c.json(errorJson('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError(renderError);
  return app;
}

export const app = createApp();

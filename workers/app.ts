/**
 * The HTTP surface: one Hono app composed of one sub-app per area. Every error leaves through `renderError`
 * as `{ "error": { "code", "message" } }`. Every request gets a request id (`X-Request-Id`) and one structured log
 * line (shared/log.ts), and the same security headers (shared/security-headers.ts); the internal routes are guarded
 * in one place (shared/internal.ts).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { adminRoutes } from './admin/routes';
import { metadataRoutes } from './metadata/routes';
import { importRoutes } from './imports/routes';
import { viewRoutes } from './views/routes';
import { qoeRoutes } from './views/qoe/routes';
import { playbackRoutes } from './playback/routes';
import { playbackExtensions } from './playback-extensions';
import { loadConfig } from './shared/config';
import { openDb } from './shared/db';
import { transcodingRoutes } from './transcoding/routes';
import { probeTranscoder } from './transcoding/health';
import { benchResultRoutes } from './transcoding/bench-results';
import { errorJson, renderError } from './shared/errors';
import { healthRoutes } from './shared/health';
import type { AppEnv } from './shared/hono-env';
import { installInternalGuards } from './shared/internal';
import { logEvent, requestIdFor, withRequestId } from './shared/log';
import { securityHeaders } from './shared/security-headers';
import { chunkRoutes, discardRoutes, tusRoutes } from './uploads/routes';
import { webRoutes } from './web/routes';
import { embedRoutes } from './web/embed/route';
import { oembedRoutes } from './web/embed/oembed';
import { DIRECT_TUS_MOUNT, directTusRoutes, directUploadRoutes } from './direct-uploads/routes';
import { webhookRoutes } from './webhooks/routes';
import { signingKeyRoutes } from './signing-keys/routes';
import { usageRoutes } from './usage/routes';
import { operationRoutes } from './metering/routes';
import { openApiRoutes, registerDocumentedRoutes } from './openapi/routes';
import { validationHook } from './shared/openapi';
import { beaconCors } from './views/beacon-cors';
import { audioTrackRoutes } from './audio-tracks/routes';
import { captionRoutes } from './captions/routes';
import { clipRoutes } from './clips/routes';
import { downloadRoutes } from './downloads/routes';
import { liveInputRoutes } from './live/routes';
import { ingestRoutes } from './live/ingest';
import { audienceRoutes } from './live/audience';

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  // Outermost, so every answer leaves with them: routes, errors, 404s (see shared/security-headers.ts).
  app.use(securityHeaders);
  app.use(async (c, next) => {
    const requestId = requestIdFor(c.req.raw);
    const started = Date.now();
    // An unparsable variable throws ConfigError here: every request answers 500 `misconfigured` naming it.
    const config = loadConfig(c.env);
    await withRequestId(requestId, config.deployment.logLevel, async () => {
      c.set('config', config);
      c.set('db', openDb(c.env.DB));
      await next();
      const status = c.res.status;
      logEvent(status >= 500 ? 'error' : 'info', 'http.request', { method: c.req.method, path: c.req.path, status, ms: Date.now() - started });
    });
    c.res.headers.set('X-Request-Id', requestId);
  });
  installInternalGuards(app);
  app.route('/', healthRoutes({ transcoder: probeTranscoder }));
  app.use('/v1/videos/:id/views', beaconCors);
  app.use('/v1/videos/:id/qoe', beaconCors);
  app.use('/v1/videos/:id/watching', beaconCors);
  app.route('/', adminRoutes);
  app.route('/', importRoutes);
  app.route('/', metadataRoutes);
  app.route('/', chunkRoutes);
  app.route('/v1/uploads', tusRoutes);
  app.route('/', discardRoutes);
  app.route('/', directUploadRoutes);
  app.route(DIRECT_TUS_MOUNT, directTusRoutes);
  app.route('/', webhookRoutes);
  app.route('/', signingKeyRoutes);
  app.route('/', usageRoutes);
  app.route('/', operationRoutes);
  app.route('/', viewRoutes);
  app.route('/', qoeRoutes);
  app.route('/', playbackRoutes(playbackExtensions));
  app.route('/', transcodingRoutes);
  app.route('/', benchResultRoutes);
  app.route('/', captionRoutes);
  app.route('/', audioTrackRoutes);
  app.route('/', clipRoutes);
  app.route('/', downloadRoutes);
  app.route('/', embedRoutes);
  app.route('/', oembedRoutes);
  app.route('/', liveInputRoutes);
  app.route('/', audienceRoutes);
  app.route('/', ingestRoutes);
  app.route('/', webRoutes);
  registerDocumentedRoutes(app.openAPIRegistry);
  app.route('/', openApiRoutes(app));
  app.notFound((c) => c.json(errorJson('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));
  app.onError(renderError);
  return app;
}

export const app = createApp();

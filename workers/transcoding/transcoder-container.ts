/**
 * The FFmpeg transcoder image (containers/transcoder) in production, as a Container-enabled Durable Object.
 *
 * The container has no internet access (`enableInternet = false`) and no R2 credentials. Its STORAGE_URL points
 * at the virtual host `storage.internal`; `outboundByHost` intercepts those requests inside the Worker runtime and
 * serves them with the R2 binding through the same `serveStorage` handler as the local `/internal/storage` route,
 * so the transcoder's code is identical in both places.
 */
import { Container, type OutboundHandler } from '@cloudflare/containers';
import { serveStorage, storageKeyFromPath } from './storage-gateway';
import { callbackHandler } from './callback-host';
import { CALLBACK_HOST } from './transcoder-client';

export const STORAGE_HOST = 'storage.internal';

const storageHandler: OutboundHandler = (request, env) => {
  const key = storageKeyFromPath(new URL(request.url).pathname, '/');
  if (!key) return new Response('bad storage path', { status: 400 });
  return serveStorage(env.MEDIA, request, key, env.INTERNAL_TOKEN, env.DB);
};

export class TranscoderContainer extends Container<Env> {
  override defaultPort = 8080;
  override sleepAfter = '10m';
  override enableInternet = false;

  static override outboundByHost = { [STORAGE_HOST]: storageHandler, [CALLBACK_HOST]: callbackHandler };
  // Field initialisers run after the Durable Object constructor has set `this.env`.
  override envVars = { STORAGE_URL: `http://${STORAGE_HOST}`, INTERNAL_TOKEN: this.env.INTERNAL_TOKEN ?? '', PORT: '8080', HOST: '0.0.0.0' };
}

// Assigned (not declared as a `static` field): the base class's static setter registers the handlers by class
// name, and a class-field definition would shadow that setter instead of calling it.
TranscoderContainer.outboundByHost = { [STORAGE_HOST]: storageHandler, [CALLBACK_HOST]: callbackHandler };

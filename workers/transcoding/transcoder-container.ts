/**
 * The FFmpeg transcoder image (containers/transcoder) in production, as a Container-enabled Durable Object.
 *
 * The container has no internet access (`enableInternet = false`) and no R2 credentials. Its STORAGE_URL points
 * at the virtual host `storage.internal`; `outboundByHost` intercepts those requests inside the Worker runtime and
 * serves them with the R2 binding through the same `serveStorage` handler as the local `/internal/storage` route,
 * so the transcoder's code is identical in both places.
 *
 * Lifecycle: a job is one streamed request to the container. When the container stops (crash, OOM kill, sleep)
 * while jobs stream, `onStop` errors their response streams, so the queue consumer records a transient failure and
 * the job is retried with backoff (transcoder-client.ts) rather than waiting: the connection to a dead container
 * is not guaranteed to end by itself (under `wrangler dev` it stays open). `onStop`/`onError` log the cause.
 * Cost: an instance is billed while it runs; `sleepAfter` stops an idle one, `max_instances` (wrangler.toml) caps
 * how many run at once (see docs/deploy.md "Containers and cost").
 */
import { Container, type OutboundHandler, type StopParams } from '@cloudflare/containers';
import { bearerToken } from '../shared/auth';
import { isInternalToken } from '../shared/internal';
import { loadConfig } from '../shared/config';
import { errorResponse } from '../shared/errors';
import { logEvent } from '../shared/log';
import { serveStorage, storageKeyFromPath, storageUnauthorized } from './storage-gateway';
import { callbackHandler } from './callback-host';
import { CALLBACK_HOST } from './transcoder-client';

export const STORAGE_HOST = 'storage.internal';

export const storageHandler: OutboundHandler = (request, env) => {
  if (!isInternalToken(bearerToken(request.headers.get('Authorization')), loadConfig(env))) return storageUnauthorized();
  const key = storageKeyFromPath(new URL(request.url).pathname, '/');
  if (!key) return errorResponse('bad_request', 'not a transcoding storage key');
  return serveStorage(env.MEDIA, request, key, env.DB);
};

/** Exit codes that mean the kernel or the runtime killed the process (137 = SIGKILL, the OOM killer's signal). */
function stopCause(params: StopParams): string {
  if (params.exitCode === 0) return 'clean exit';
  if (params.exitCode === 137) return 'killed (SIGKILL: out of memory or forced stop)';
  if (params.reason === 'runtime_signal') return `stopped by the runtime (exit ${params.exitCode})`;
  return `crashed (exit ${params.exitCode})`;
}

/** Copies `body`, erroring the copy as soon as `stopped` rejects (the container died mid-stream). */
function abortableBody(body: ReadableStream<Uint8Array>, stopped: Promise<never>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await Promise.race([reader.read(), stopped]);
        if (next.done) {
          done();
          controller.close();
        } else {
          controller.enqueue(next.value);
        }
      } catch (err) {
        done();
        controller.error(err);
        reader.cancel(err).catch(() => {});
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
}

export class TranscoderContainer extends Container<Env> {
  override defaultPort = 8080;
  /** An idle instance stops after this; a job keeps it busy while its response streams. */
  override sleepAfter = '10m';
  override enableInternet = false;

  // Field initialisers run after the Durable Object constructor has set `this.env`. One unit per instance: every unit
  // is sent to its own instance (named `{videoId}:{unit}`), and the server runs one job at a time whatever CPU count
  // the container reports (docs/parallel-transcoding.md, "Production settings").
  // TRANSCODER_HOLD_UNITS: tests only (never in wrangler.toml): units whose first attempt the transcoder holds mid-encode.
  override envVars = {
    STORAGE_URL: `http://${STORAGE_HOST}`,
    INTERNAL_TOKEN: loadConfig(this.env).secrets.internalToken ?? '',
    PORT: '8080',
    HOST: '0.0.0.0',
    TRANSCODER_CONCURRENCY: '1',
    TRANSCODER_HOLD_UNITS: loadConfig(this.env).deployment.transcoderHoldUnits ?? '',
  };

  /** Streams in flight to this container: each one's abort, called when the container stops. */
  private readonly streaming = new Set<(reason: Error) => void>();

  override async fetch(request: Request): Promise<Response> {
    const res = await super.fetch(request);
    if (!res.body) return res;
    let abort!: (reason: Error) => void;
    const stopped = new Promise<never>((_, reject) => (abort = reject));
    stopped.catch(() => {});
    this.streaming.add(abort);
    const body = abortableBody(res.body, stopped, () => this.streaming.delete(abort));
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  override onStart(): void {
    logEvent('info', 'container.start', { container: this.ctx.id.toString() });
  }

  override onStop(params: StopParams): void {
    const level = params.exitCode === 0 ? 'info' : 'error';
    logEvent(level, 'container.stop', { container: this.ctx.id.toString(), exitCode: params.exitCode, reason: params.reason, cause: stopCause(params), streams: this.streaming.size });
    const reason = new Error(`transcoder container stopped mid-job: ${stopCause(params)}`);
    for (const abort of this.streaming) abort(reason);
    this.streaming.clear();
  }

  override onError(error: unknown): never {
    logEvent('error', 'container.error', { container: this.ctx.id.toString(), error: error instanceof Error ? error.message : String(error) });
    // Rethrown: the caller (a queue consumer's job request) sees the failure and retries the job.
    throw error;
  }
}

// Assigned, not declared as a `static` class field: the base class's static setter registers the handlers in the
// library's registry under the class name (the registry ContainerProxy reads). A class field would define an own
// property on the subclass and shadow that setter, and nothing would be registered.
TranscoderContainer.outboundByHost = { [STORAGE_HOST]: storageHandler, [CALLBACK_HOST]: callbackHandler };

/**
 * How the Worker reaches the transcoder, and how the transcoder reaches back — the one interface that hides
 * local-vs-container:
 * - `TRANSCODER_URL=http://…` (local dev, tests; parsed by loadConfig): the Node process started by `npm start` / the test stack; a
 *   comma-separated list is a pool of local processes (the benchmark's "two workers"): each dispatched job goes to
 *   one with a free CPU slot, and encodes wait for admission while none has one (admission.ts). Callbacks go to `${PUBLIC_ORIGIN}/internal/transcoding/callback`.
 * - `TRANSCODER_URL=container` or empty (production): a TranscoderContainer instance per job unit
 *   (`getContainer(env.TRANSCODER, name)`), so parallel units run in parallel containers. Callbacks go to the
 *   `callback.internal` virtual host, which the container's outbound interception hands to the Worker.
 * Analysis answers with an NDJSON event stream (containers/transcoder/src/protocol.ts) that `runTranscoderJob`
 * reads into a result union; every other job is dispatched (`dispatchTranscoderJob`: 202, then callbacks).
 */
import { countJobUsage } from '../metering/operations';
import type { Config } from '../shared/config';
import { ONLY_IF_FREE_HEADER, type CallbackSpec, type JobEvent } from '../../containers/transcoder/src/protocol';

/** `/v1/frame` answers a JPEG directly; `/v1/download` streams events like the encode jobs (workers/frames, workers/downloads). */
/**
 * The TranscoderContainer instance named `instance` (what `getContainer` of @cloudflare/containers does: one Durable
 * Object per name). Written against the binding so this module, which routes and consumers import, does not load
 * the Containers runtime library (it needs `cloudflare:workers`, so Node-side tests could not import the app).
 */
function containerFor(env: Pick<Env, 'TRANSCODER'>, instance: string): DurableObjectStub {
  return env.TRANSCODER.get(env.TRANSCODER.idFromName(instance));
}

export type TranscoderPath = '/v1/analyze' | '/v1/encode' | '/v1/audio' | '/v1/ladder' | '/v1/thumbnails' | '/v1/frame' | '/v1/download' | '/v1/live';

/** The virtual host the container's callbacks use (handled in transcoder-container.ts). */
export const CALLBACK_HOST = 'callback.internal';
export const CALLBACK_PATH = '/internal/transcoding/callback';

export interface Transcoder {
  /** POSTs a job; `instance` names the container that runs it (ignored by a local process); `signal` aborts it. */
  post(path: TranscoderPath, body: unknown, instance: string, signal?: AbortSignal): Promise<Response>;
  /**
   * How many encodes dispatched now would start at once: the free CPU slots over the pool (local pools of several
   * processes only; production gives every unit its own instance, and admission counts instances in D1 —
   * admission.ts).
   */
  freeEncodeSlots?(): Promise<number>;
}

let roundRobin = 0;

/** The transcoder of this deployment (`env` for the container binding, `config` for where and with which token). */
export function transcoderFor(env: Pick<Env, 'TRANSCODER'>, config: Config): Transcoder {
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${config.secrets.internalToken ?? ''}` };
  const target = config.deployment.transcoder;
  if (target.kind === 'local') {
    const bases = target.urls;
    const send = (base: string, path: TranscoderPath, body: unknown, extra: Record<string, string> = {}, signal?: AbortSignal) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body), signal });
    if (bases.length === 1) return { post: (path, body, _instance, signal) => send(bases[0]!, path, body, {}, signal) };
    return {
      // A pool behaves like instances: a job goes to an idle process if there is one, else to one with a free CPU
      // slot (each asked in turn, from the round-robin position, to refuse rather than queue it: a light job beside
      // an encode must not leave another process idle); when none has one, round robin (it queues there).
      async post(path, body, _instance, signal) {
        if (path === '/v1/analyze') return send(bases[0]!, path, body, {}, signal);
        const first = roundRobin++;
        for (const want of ['idle', '1']) {
          for (let i = 0; i < bases.length; i++) {
            const res = await send(bases[(first + i) % bases.length]!, path, body, { [ONLY_IF_FREE_HEADER]: want }, signal);
            if (res.status !== 503) return res;
            await res.body?.cancel();
          }
        }
        return send(bases[first % bases.length]!, path, body, {}, signal);
      },
      async freeEncodeSlots() {
        const free = await Promise.all(
          bases.map((base) =>
            fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })
              .then(async (res) => ((await res.json()) as { free?: number }).free ?? 1)
              // An unreachable process is not "busy": the dispatch meets the failure and retries as before.
              .catch(() => 1),
          ),
        );
        return free.reduce((sum, n) => sum + Math.max(0, n), 0);
      },
    };
  }
  return {
    post: (path, body, instance, signal) =>
      containerFor(env, instance).fetch(new Request(`http://transcoder${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal })),
  };
}

/** Where a dispatched job reports back, for which claim, and which attempt that claim is (1: the first). */
export function callbackSpec(config: Config, jobId: string, claim: number, attempt: number): CallbackSpec {
  // A local transcoder process calls the Worker back on its public origin (`npm start` and the tests always set one).
  const origin = config.deployment.transcoder.kind === 'local' ? (config.deployment.publicOrigin ?? 'http://127.0.0.1:8787') : `http://${CALLBACK_HOST}`;
  return { url: `${origin}${CALLBACK_PATH}`, jobId, claim, attempt };
}

export type DispatchOutcome = { status: 'accepted' } | { status: 'failed'; message: string };

/**
 * How long a dispatch may wait for the transcoder's 202. It answers as soon as it has read the job (a few kB of
 * JSON); the margin is for a container's start. Without a limit, a request that never got its answer would hold the
 * queue consumer's invocation for good (and under wrangler dev, whose queue delivers one batch at a time, every
 * message behind it).
 */
export const DISPATCH_TIMEOUT_MS = 120_000;

/** Starts a job and returns as soon as the transcoder accepted it (202); never throws. */
export async function dispatchTranscoderJob(transcoder: Transcoder, path: TranscoderPath, body: unknown, instance: string, timeoutMs = DISPATCH_TIMEOUT_MS): Promise<DispatchOutcome> {
  let last = '';
  // One quick retry: a pooled connection the other side just closed fails before the request is read. A
  // duplicate that does get through is harmless — it reports with the same claim, and completion counts once.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await transcoder.post(path, body, instance, signal).catch((err: unknown) => {
        throw signal.aborted ? new Error(`no answer within ${timeoutMs / 1000} s`) : err;
      });
      const text = await res.text().catch(() => '');
      if (res.status === 202) return { status: 'accepted' };
      return { status: 'failed', message: `transcoder answered ${res.status}: ${text.slice(0, 200)}` };
    } catch (err) {
      last = `transcoder unreachable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return { status: 'failed', message: last };
}

export type JobOutcome<R> = { status: 'ok'; result: R } | { status: 'failed'; permanent: boolean; message: string };

/** Runs one job to its end, reporting progress; never throws. */
export async function runTranscoderJob<R>(
  transcoder: Transcoder,
  path: TranscoderPath,
  body: unknown,
  instance: string,
  onProgress: (fraction: number) => Promise<void>,
): Promise<JobOutcome<R>> {
  let res: Response;
  try {
    res = await transcoder.post(path, body, instance);
  } catch (err) {
    return { status: 'failed', permanent: false, message: `transcoder unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => '');
    return { status: 'failed', permanent: false, message: `transcoder answered ${res.status}: ${text.slice(0, 200)}` };
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        let event: JobEvent<R>;
        try {
          event = JSON.parse(line) as JobEvent<R>;
        } catch {
          return { status: 'failed', permanent: false, message: 'transcoder sent a malformed event' };
        }
        if (event.type === 'progress') await onProgress(event.progress);
        else if (event.type === 'result') {
          countJobUsage(event.usage);
          return { status: 'ok', result: event.result };
        }
        else if (event.type === 'error') return { status: 'failed', permanent: event.permanent, message: event.message };
      }
    }
  } catch (err) {
    return { status: 'failed', permanent: false, message: `transcoder connection lost: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { status: 'failed', permanent: false, message: 'transcoder stopped before finishing the job' };
}

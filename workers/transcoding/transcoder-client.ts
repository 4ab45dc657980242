/**
 * How the Worker reaches the transcoder — the one interface that hides local-vs-container:
 * - `TRANSCODER_URL=http://…` (local dev, tests): the Node process started by `npm start` / the test stack;
 * - `TRANSCODER_URL=container` or empty (production): a TranscoderContainer instance per job unit
 *   (`getContainer(env.TRANSCODER, name)`), so parallel jobs run in parallel containers.
 * Jobs answer with an NDJSON event stream (containers/transcoder/src/protocol.ts); `runTranscoderJob` reads it
 * into a result union. A stream that breaks or ends without a result is a transient failure (crashed transcoder).
 */
import { getContainer } from '@cloudflare/containers';
import type { JobEvent } from '../../containers/transcoder/src/protocol';

/** `/v1/frame` answers a JPEG directly; `/v1/download` streams events like the encode jobs (workers/frames, workers/downloads). */
export type TranscoderPath = '/v1/analyze' | '/v1/encode' | '/v1/thumbnails' | '/v1/frame' | '/v1/download';

export interface Transcoder {
  /** POSTs a job; `instance` names the container that runs it (ignored by a local process). */
  post(path: TranscoderPath, body: unknown, instance: string): Promise<Response>;
}

export function transcoderFor(env: Env): Transcoder {
  const base = (env.TRANSCODER_URL ?? '').trim();
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${env.INTERNAL_TOKEN ?? ''}` };
  if (base && base !== 'container') {
    return { post: (path, body) => fetch(`${base.replace(/\/$/, '')}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }) };
  }
  return {
    post: (path, body, instance) =>
      getContainer(env.TRANSCODER, instance).fetch(new Request(`http://transcoder${path}`, { method: 'POST', headers, body: JSON.stringify(body) })),
  };
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
        else if (event.type === 'result') return { status: 'ok', result: event.result };
        else if (event.type === 'error') return { status: 'failed', permanent: event.permanent, message: event.message };
      }
    }
  } catch (err) {
    return { status: 'failed', permanent: false, message: `transcoder connection lost: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { status: 'failed', permanent: false, message: 'transcoder stopped before finishing the job' };
}

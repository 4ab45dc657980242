/**
 * The transcoder's part of `/healthz` (shared/health.ts, wired in app.ts). A local process (`npm start`, tests,
 * the benchmarks' pools) is asked for its own `/healthz`, 1 s at most each; every process of a pool must answer.
 * A production container is not probed: an instance starts per unit of work (and sleeps after it), so a probe
 * would start one on every health check; `/healthz` says so instead (`not_probed`). A container that cannot run
 * shows up where it matters, as units released with their error and retried (docs/transcoding.md).
 */
import type { Config } from '../shared/config';
import type { DependencyCheck } from '../shared/health';

const PROBE_TIMEOUT_MS = 1000;

async function probe(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok ? null : `${url} answered ${res.status}`;
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${PROBE_TIMEOUT_MS} ms` : err instanceof Error ? err.message : String(err);
    return `${url}: ${reason}`;
  }
}

export async function probeTranscoder(_env: Env, config: Config): Promise<DependencyCheck> {
  const target = config.deployment.transcoder;
  if (target.kind === 'container') {
    return { status: 'not_probed', detail: 'TranscoderContainer instances start per unit of work; probing would start one' };
  }
  const failures = (await Promise.all(target.urls.map(probe))).filter((f): f is string => f !== null);
  return failures.length === 0 ? { status: 'ok' } : { status: 'unreachable', detail: failures.join('; ') };
}

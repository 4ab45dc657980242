/**
 * `npm run bench -- edge-soak`: sustained segment traffic through the edge against a real local `wrangler dev`,
 * counting every answer that is not a 200. 16 viewers each fetch the 60 segments of one video in turn, as fast as
 * the stack answers, for 240 s; before every 10th request a viewer drops that segment from the caches
 * (`POST /internal/bench/edge-purge`), so misses and fills run beside the hits. Long enough to cross the
 * per-isolate caches' expiry many times (the playback policy every 10 s, playback state every 2 s, the metering
 * and usage flushes): requests that shared one request's read in flight were cancelled by workerd as hung (a 500
 * "your Worker's code had hung") about once in 2,000 requests (workers/shared/shared-work.ts).
 * Target: no answer but 200. Bounded: a fixed duration, a fixed number of viewers, loopback only.
 */
import type { BenchResult } from './run';
import { startStack } from '../test/helpers/local-stack';
import { internalHeaders, publishTranscoded } from '../test/helpers/transcoding-media';
import { benchBody } from '../workers/playback/bench-routes';
import { createVideo, putObjects, signedBase } from './stack-media';

const SEGMENTS = 60;
const SEGMENT_BYTES = 64 * 1024;
const VIEWERS = 16;
const SECONDS = 240;
const PURGE_EVERY = 10;

export async function run(): Promise<BenchResult> {
  const stack = await startStack({ vars: { BENCH_ROUTES: '1' } });
  try {
    const videoId = await createVideo(stack, 'edge soak');
    const body = benchBody(SEGMENT_BYTES);
    await putObjects(stack, Array.from({ length: SEGMENTS }, (_, i) => ({ key: `videos/${videoId}/720p/segment_${String(i).padStart(4, '0')}.ts`, body })));
    await publishTranscoded(stack.origin, videoId, { width: 1280, height: 720, duration: SEGMENTS * 6, segmentsOf: { '720p': Array(SEGMENTS).fill(6) } });
    const base = await signedBase(stack, videoId);

    const started = Date.now();
    const end = started + SECONDS * 1000;
    let ok = 0;
    let purges = 0;
    const failures: { atSec: number; status: number; body: string }[] = [];
    await Promise.all(
      Array.from({ length: VIEWERS }, async (_, viewer) => {
        for (let n = viewer; Date.now() < end; n++) {
          const segment = `${base}720p/segment_${String(n % SEGMENTS).padStart(4, '0')}.ts`;
          if (n % PURGE_EVERY === 0) {
            const purged = await fetch(`${stack.origin}/internal/bench/edge-purge`, {
              method: 'POST',
              headers: { ...internalHeaders(), 'Content-Type': 'application/json' },
              body: JSON.stringify({ paths: [segment] }),
            });
            if (!purged.ok) throw new Error(`purge: ${purged.status} ${await purged.text()}`);
            await purged.arrayBuffer();
            purges++;
          }
          const res = await fetch(`${stack.origin}${segment}`);
          if (res.status === 200 && (await res.arrayBuffer()).byteLength === SEGMENT_BYTES) ok++;
          else failures.push({ atSec: Math.round((Date.now() - started) / 100) / 10, status: res.status, body: (await res.text()).slice(0, 160) });
        }
      }),
    );
    const requests = ok + failures.length;
    const seconds = (Date.now() - started) / 1000;
    return {
      summary: [
        `${requests} segment requests from ${VIEWERS} viewers in ${seconds.toFixed(0)} s (${Math.round(requests / seconds)}/s), ${purges} forced misses`,
        `answers other than a whole 200: ${failures.length}${failures.length ? ` (first: ${failures[0]!.status} ${failures[0]!.body})` : ''}`,
      ],
      data: { viewers: VIEWERS, seconds, segmentBytes: SEGMENT_BYTES, purgeEvery: PURGE_EVERY, requests, ok, purges, failures: failures.slice(0, 100), failureCount: failures.length },
      targetMet: failures.length === 0,
    };
  } finally {
    await stack.stop();
  }
}

/**
 * `npm run bench -- edge`: playback at the edge, against a real local `wrangler dev` (Miniflare), with bounded
 * autocannon load on 127.0.0.1.
 *
 *   (a)  no-op route: the same 1 MiB body from memory                 — the Worker's own ceiling for 1 MiB
 *   (b)  signed segment requests served from the Cache API (1 MiB)    — target ≥ 0.7 × (a)
 *   (c)  signed segment requests that miss and stream from R2 (1 MiB, every request a different object)
 *   (d)  signed media playlists (cached)                              — target ≥ 0.7 × (d0)
 *   (d0) no-op route returning a body the size of that playlist
 *   (e)  segment requests served from the Cache API (1 MiB) with an app's signed-key token (ES256 JWT)
 *                                                                     — target ≥ 0.9 × (a)
 *   (f)  10,000 distinct ES256 tokens in a row (every request's token is new to the isolate: a full verification)
 *   + a microbenchmark of token verification (HMAC-SHA256, WebCrypto)  — target < 50 µs per request
 *   + first verification of a new ES256 token (jose's compactVerify over WebCrypto, as the edge runs it): p50 µs
 *
 * Numbers depend on the machine (and on what else runs on it); compare ratios, not absolutes.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import type { BenchResult } from './run';
import { startStack, type Stack } from '../test/helpers/local-stack';
import { publishTranscoded } from '../test/helpers/transcoding-media';
import { createVideo, putObjects, signedBase } from './stack-media';
import { signToken, verifyToken } from '../workers/playback/signing';
import { loadConfig } from '../workers/shared/config';
import { keyring } from '../workers/shared/keyring';
import { benchBody } from '../workers/playback/bench-routes';
import { compactVerify, importPKCS8, SignJWT, type CryptoKey as JoseKey } from 'jose';

const MiB = 1024 * 1024;
const MISS_OBJECTS = 240;
const PLAYLIST_SEGMENTS = 150; // a 15-minute video at 6 s segments
const CONNECTIONS = 8;
const DURATION_SEC = 12;

interface Load {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  mbPerSec: number;
}

async function load(url: string, options: { amount?: number; paths?: () => string; connections?: number; durationSec?: number } = {}): Promise<Load> {
  const result = await autocannon({
    url,
    connections: options.connections ?? CONNECTIONS,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSec ?? DURATION_SEC }),
    ...(options.paths ? { requests: [{ setupRequest: (req) => ({ ...req, path: options.paths!() }) }] } : {}),
  });
  return {
    requestsPerSec: Math.round(result.requests.average * 10) / 10,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    mbPerSec: Math.round((result.throughput.average / MiB) * 10) / 10,
  };
}

const SLICES = 4;

function merge(parts: Load[]): Load {
  const sum = (f: (l: Load) => number) => parts.reduce((acc, l) => acc + f(l), 0);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return {
    requestsPerSec: Math.round((sum((l) => l.requestsPerSec) / parts.length) * 10) / 10,
    p50Ms: median(parts.map((l) => l.p50Ms)),
    p99Ms: Math.max(...parts.map((l) => l.p99Ms)),
    requests: sum((l) => l.requests),
    non2xx: sum((l) => l.non2xx),
    errors: sum((l) => l.errors),
    mbPerSec: Math.round((sum((l) => l.mbPerSec) / parts.length) * 10) / 10,
  };
}

/** Baseline and target in alternating slices of DURATION_SEC / SLICES each. */
async function paired(baselineUrl: string, targetUrl: string): Promise<[Load, Load]> {
  const base: Load[] = [];
  const target: Load[] = [];
  for (let i = 0; i < SLICES; i++) {
    base.push(await load(baselineUrl, { durationSec: DURATION_SEC / SLICES }));
    target.push(await load(targetUrl, { durationSec: DURATION_SEC / SLICES }));
  }
  return [merge(base), merge(target)];
}

/**
 * Token verification cost. `cold`: every token new to the isolate (a full HMAC-SHA256 through WebCrypto).
 * `perRequest`: the same token again, as a player's requests after its first (the MAC result is remembered).
 */
async function microbenchVerify(): Promise<{ coldUs: number; coldConcurrentUs: number; perRequestUs: number; iterations: number }> {
  const secret = Buffer.from('bench-signing-key-material-32-bytes!').toString('base64url');
  const ring = keyring(loadConfig({ SIGNING_KEYS: JSON.stringify({ kb: secret }), SIGNING_KEY_ID: 'kb' }).secrets);
  const now = Math.floor(Date.now() / 1000);
  const iterations = 5_000;
  const tokens: string[] = [];
  for (let i = 0; i < iterations; i++) tokens.push((await signToken(ring, 'vid_benchbenchbench12', now - i, 3600 + i))!.token);
  const time = async (token: (i: number) => string): Promise<number> => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      if (!(await verifyToken(ring, token(i), 'vid_benchbenchbench12', now, 5)).ok) throw new Error('verification failed in benchmark');
    }
    return Math.round((Number(process.hrtime.bigint() - started) / 1000 / iterations) * 100) / 100;
  };
  const coldUs = await time((i) => tokens[i]!);
  const perRequestUs = await time(() => tokens[0]!);
  // First uses arriving concurrently, as they do on a server: Node runs WebCrypto jobs on its thread pool.
  const fresh: string[] = [];
  for (let i = 0; i < iterations; i++) fresh.push((await signToken(ring, 'vid_benchbenchbench12', now - i, 7200 + i))!.token);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 64) {
    await Promise.all(fresh.slice(i, i + 64).map((t) => verifyToken(ring, t, 'vid_benchbenchbench12', now, 5)));
  }
  const coldConcurrentUs = Math.round((Number(process.hrtime.bigint() - started) / 1000 / iterations) * 100) / 100;
  return { coldUs, coldConcurrentUs, perRequestUs, iterations };
}

/** First verification of new ES256 tokens: each a different token, verified once (what the edge pays per new token). */
async function microbenchEs256(pem: string, publicKey: JoseKey, kid: string): Promise<{ p50Us: number; p99Us: number; iterations: number }> {
  const key = await importPKCS8(pem, 'ES256');
  const iterations = 2_000;
  const tokens = await Promise.all(Array.from({ length: iterations }, (_, i) => new SignJWT({ n: i }).setProtectedHeader({ alg: 'ES256', kid }).setSubject('vid_benchbenchbench12').setExpirationTime('1h').sign(key)));
  const times: number[] = [];
  for (const token of tokens) {
    const started = process.hrtime.bigint();
    await compactVerify(token, publicKey, { algorithms: ['ES256'] });
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  times.sort((x, y) => x - y);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 10) / 10;
  return { p50Us: at(0.5), p99Us: at(0.99), iterations };
}

async function signingKey(stack: Stack): Promise<{ id: string; pem: string; publicKey: JoseKey }> {
  const res = await fetch(`${stack.origin}/v1/signing_keys`, { method: 'POST', headers: { Authorization: `Bearer ${stack.token}` } });
  if (res.status !== 201) throw new Error(`signing key: ${res.status} ${await res.text()}`);
  const key = (await res.json()) as { id: string; pem: string; jwk: Record<string, string> };
  const { d: _private, ...publicJwk } = key.jwk;
  const { importJWK } = await import('jose');
  return { id: key.id, pem: key.pem, publicKey: (await importJWK(publicJwk, 'ES256')) as JoseKey };
}

export async function run(): Promise<BenchResult> {
  const micro = await microbenchVerify();
  const stack = await startStack({ vars: { BENCH_ROUTES: '1' } });
  try {
    const videoId = await createVideo(stack, 'bench');

    const segment = benchBody(MiB);
    const objects = [{ key: `videos/${videoId}/1080p/segment_0000.ts`, body: segment }];
    for (let i = 0; i < MISS_OBJECTS; i++) objects.push({ key: `videos/${videoId}/720p/segment_${String(i).padStart(4, '0')}.ts`, body: segment });
    await putObjects(stack, objects);
    // READY from given transcode results through the platform's own writers: a 15-minute 1080p video, its 1080p
    // playlist of PLAYLIST_SEGMENTS 6 s segments, its 720p one of MISS_OBJECTS (the objects the miss phase reads).
    const duration = PLAYLIST_SEGMENTS * 6;
    await publishTranscoded(stack.origin, videoId, {
      width: 1920,
      height: 1080,
      duration,
      segmentsOf: { '1080p': Array(PLAYLIST_SEGMENTS).fill(6), '720p': Array(MISS_OBJECTS).fill(duration / MISS_OBJECTS) },
    });

    const base = await signedBase(stack, videoId);
    const segmentUrl = `${stack.origin}${base}1080p/segment_0000.ts`;
    const playlistUrl = `${stack.origin}${base}1080p/playlist.m3u8`;

    // Prime (b) and (d), and check they are what we think they are.
    const first = await fetch(segmentUrl);
    if ((await first.arrayBuffer()).byteLength !== MiB) throw new Error('segment fixture not served');
    await new Promise((r) => setTimeout(r, 500));
    const primed = await fetch(segmentUrl);
    await primed.arrayBuffer();
    const playlistBytes = (await (await fetch(playlistUrl)).arrayBuffer()).byteLength;
    const playlistHit = await fetch(playlistUrl);
    await playlistHit.arrayBuffer();
    if (primed.headers.get('x-cache') !== 'HIT' || playlistHit.headers.get('x-cache') !== 'HIT') throw new Error('cache not primed');

    // Each target and its baseline run in alternating slices, so drift in background load hits both alike.
    const [a, b] = await paired(`${stack.origin}/__bench/noop-1mb`, segmentUrl);
    let next = 0;
    const c = await load(`${stack.origin}${base}720p/segment_0000.ts`, {
      amount: MISS_OBJECTS,
      connections: 4,
      paths: () => `${base}720p/segment_${String(next++ % MISS_OBJECTS).padStart(4, '0')}.ts`,
    });
    const [d0, d] = await paired(`${stack.origin}/__bench/noop-text?bytes=${playlistBytes}`, playlistUrl);

    // Signed-key tokens (an app's ES256 JWTs): the cached segment through one token, then 10,000 new tokens in a row.
    const key = await signingKey(stack);
    const es256 = await microbenchEs256(key.pem, key.publicKey, key.id);
    const appKey = await importPKCS8(key.pem, 'ES256');
    const signFor = (n: number) => new SignJWT({ n }).setProtectedHeader({ alg: 'ES256', kid: key.id }).setSubject(videoId).setExpirationTime('2h').sign(appKey);
    const jwt = await signFor(0);
    const jwtSegmentUrl = `${stack.origin}/v/${videoId}/t/${jwt}/1080p/segment_0000.ts`;
    const warm = await fetch(jwtSegmentUrl);
    if (warm.status !== 200 || (await warm.arrayBuffer()).byteLength !== MiB) throw new Error(`ES256 segment: ${warm.status}`);
    const [a2, e] = await paired(`${stack.origin}/__bench/noop-1mb`, jwtSegmentUrl);
    const DISTINCT = 10_000;
    const distinct = await Promise.all(Array.from({ length: DISTINCT }, (_, i) => signFor(i + 1)));
    let nextToken = 0;
    const f = await load(jwtSegmentUrl, { amount: DISTINCT, paths: () => `/v/${videoId}/t/${distinct[nextToken++ % DISTINCT]}/1080p/segment_0000.ts` });

    const ratioB = Math.round((b.requestsPerSec / a.requestsPerSec) * 100) / 100;
    const ratioD = Math.round((d.requestsPerSec / d0.requestsPerSec) * 100) / 100;
    const ratioE = Math.round((e.requestsPerSec / a2.requestsPerSec) * 100) / 100;
    const targetMet = ratioB >= 0.7 && ratioD >= 0.7 && ratioE >= 0.9 && micro.perRequestUs < 50 && b.non2xx + d.non2xx + c.non2xx + e.non2xx + f.non2xx === 0;
    const line = (name: string, l: Load) =>
      `${name.padEnd(44)} ${String(l.requestsPerSec).padStart(8)} req/s  p50 ${l.p50Ms} ms  p99 ${l.p99Ms} ms  ${l.mbPerSec} MiB/s  (${l.requests} req, ${l.non2xx} non-2xx, ${l.errors} errors)`;
    return {
      summary: [
        `machine-dependent numbers (${os.cpus().length} CPUs, load avg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}); compare ratios`,
        line('(a) no-op 1 MiB from memory', a),
        line('(b) signed segment, cache HIT (1 MiB)', b),
        line(`(c) signed segment, cache MISS → R2 (1 MiB)`, c),
        line(`(d0) no-op ${playlistBytes}-byte body`, d0),
        line(`(d) signed media playlist (${playlistBytes} B)`, d),
        line('(a′) no-op 1 MiB from memory (paired with e)', a2),
        line('(e) ES256 signed-key segment, cache HIT (1 MiB)', e),
        line(`(f) ${DISTINCT} distinct ES256 tokens in a row (1 MiB HIT)`, f),
        `(b)/(a) = ${ratioB} (target ≥ 0.7); (d)/(d0) = ${ratioD} (target ≥ 0.7); (e)/(a′) = ${ratioE} (target ≥ 0.9)`,
        `first verification of a new ES256 token (jose compactVerify): p50 ${es256.p50Us} µs, p99 ${es256.p99Us} µs over ${es256.iterations}`,
        `token verification (Node WebCrypto): ${micro.perRequestUs} µs per request (target < 50 µs); first use of a token (full HMAC) ${micro.coldUs} µs sequential, ${micro.coldConcurrentUs} µs each when 64 arrive at once`,
      ],
      data: { a, b, c, d0, d, a2, e, f, ratioB, ratioD, ratioE, playlistBytes, verify: micro, es256, connections: CONNECTIONS, durationSec: DURATION_SEC, cpus: os.cpus().length, loadavg: os.loadavg() },
      targetMet,
    };
  } finally {
    await stack.stop();
  }
}

/**
 * `npm run bench -- views [--events=100000] [--viewers=50000] [--cold=1000] [--hll-ids=1000000] [--connections=50]
 *   [--phase-timeout=600]`
 *
 * Every beacon carries a playback session (signed here with the stack's key, as `GET /playback` would sign it,
 * started a minute before the run so a 45 s watch fits) and comes from a client address shared by 4 viewers (under
 * the per-address allowance), so the ingest figure includes the session check and the allowance object.
 * Each load phase stops after `phase-timeout` seconds whatever is left (and says so), printing progress every 5 s.
 *
 * 1. Ingest: against real `wrangler dev` (Miniflare) on 127.0.0.1, a bounded autocannon run of `events` valid view
 *    beacons (half for one hot video, half spread over `cold` cold videos; every (viewer, video) pair distinct, from
 *    `viewers` distinct viewers), next to the gated no-op route (same body parse, no counting) in the same run.
 *    Afterwards the stats of every video must add up to exactly the counted responses (zero lost, zero doubled).
 *    Target: ingest ≥ 0.3× the no-op route's requests/s.
 * 2. QoE ingest: one QoE record per event's playback session (`POST /v1/videos/:id/qoe`, as a player's
 *    `sendBeacon` sends it) next to the gated QoE no-op route (same body read and validation, nothing kept); then
 *    every video's QoE report must hold exactly the records taken (zero lost). Target: ≥ 0.3× the no-op route.
 * 3. HyperLogLog: `hll-ids` distinct ids routed over the hot shard count, one sketch per shard, merged; relative
 *    error of the merged estimate ≤ 1%, next to Redis PFADD/PFCOUNT on the same ids (a private redis-server on a free
 *    127.0.0.1 port, spoken to in RESP over a socket; skipped with a note if redis-server is not installed).
 * Numbers depend on the machine (and on whatever else it is running); the lead reruns on a quiet machine.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import type { BenchResult } from './run';
import { freePort, STACK_SECRETS, startStack, type Stack } from '../test/helpers/local-stack';
import { publishTranscoded } from '../test/helpers/transcoding-media';
import { defaults, loadConfig } from '../workers/shared/config';
import { hashViewer, ViewerSketch } from '../workers/views/hll';
import { shardIndexFor } from '../workers/views/routing';
import { keyring } from '../workers/shared/keyring';
import { issueSession } from '../workers/views/playback-session';

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.split('=')[1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const VIDEO_DURATION = 300;

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function createVideos(stack: Stack, n: number): Promise<string[]> {
  const ids: string[] = [];
  await pool(
    Array.from({ length: n }, (_, i) => i),
    8,
    async (i) => {
      const res = await fetch(`${stack.origin}/v1/videos`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: `bench ${i}` }),
      });
      if (res.status !== 201) throw new Error(`create video: ${res.status}`);
      ids[i] = ((await res.json()) as { id: string }).id;
    },
  );
  // Playable with a known duration, from given transcode results (no upload/transcode in this bench), through the
  // platform's own writers.
  await pool(ids, 8, (id) => publishTranscoded(stack.origin, id, { width: 426, height: 240, duration: VIDEO_DURATION }));
  return ids;
}

interface LoadResult {
  rps: number;
  sent: number;
  counted: number;
  notCounted: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
  /** Responses that did not count, by status and reason or error code. */
  rejected: Record<string, number>;
  /**
   * Events answered 503 by wrangler dev's proxy ("Your worker restarted mid-request": it reloads the Worker once
   * under load, a local-dev artefact). A player retries a beacon on 503; `retried` says how the retry went
   * (`duplicate` means the first attempt had been counted before the connection dropped).
   */
  restarted: number[];
  retried: Record<string, number>;
}

/** One session per event, minted ahead (autocannon's request setup is synchronous). */
async function mintSessions(n: number, eventAt: (i: number) => { videoId: string }): Promise<string[]> {
  const ring = keyring(loadConfig(STACK_SECRETS).secrets);
  const start = Date.now() - 60_000;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const issued = await issueSession(ring, eventAt(i).videoId, start);
    if (!issued) throw new Error('bench: the stack has no signing key');
    out.push(issued.token);
  }
  return out;
}

/** Four viewers per client address (a household), well inside the per-address allowance. */
const addressOf = (viewerId: string): string => {
  const n = Math.floor(Number(viewerId.replace(/\D/g, '')) / 4);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

function viewBody(viewerId: string, session: string | undefined): string {
  return JSON.stringify({ viewerId, watchDuration: 45, videoDuration: VIDEO_DURATION, ...(session ? { session } : {}) });
}

/** One QoE record of the event's playback session: a 20 s playback with one stall, as a player reports it. */
function qoeBody(session: string): string {
  const record = { session, seq: 0, startupMs: 850, exitBeforeStart: false, failure: null, rebufferCount: 1, stalledMs: 400, watchedMs: 20_000, averageBitrate: 1_200_000, finalBitrate: 1_500_000, finalHeight: 480, switches: 1 };
  return JSON.stringify({ records: [record] });
}

type Route = 'noop' | 'views' | 'qoe-noop' | 'qoe';

const ROUTES: Record<Route, { path: (videoId: string) => string; internal: boolean; body: (viewerId: string, session: string) => string; taken: (status: number, body: string) => boolean }> = {
  noop: { path: () => '/internal/views/noop', internal: true, body: (v) => viewBody(v, undefined), taken: () => false },
  views: { path: (id) => `/v1/videos/${id}/views`, internal: false, body: viewBody, taken: (status, body) => status === 200 && body.includes('"counted":true') },
  'qoe-noop': { path: () => '/internal/bench/qoe-noop', internal: true, body: (_v, session) => qoeBody(session), taken: () => false },
  qoe: { path: (id) => `/v1/videos/${id}/qoe`, internal: false, body: (_v, session) => qoeBody(session), taken: (status, body) => status === 200 && body.includes('"accepted":1') },
};

async function load(
  origin: string,
  amount: number,
  connections: number,
  route: Route,
  eventAt: (i: number) => { videoId: string; viewerId: string },
  sessions: string[],
  phaseTimeoutSec: number,
): Promise<LoadResult & { stoppedEarly: boolean }> {
  let next = 0;
  let counted = 0;
  let notCounted = 0;
  const rejected: Record<string, number> = {};
  const restarted: number[] = [];
  let answered = 0;
  let stoppedEarly = false;
  const started = Date.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
    url: origin,
    connections,
    amount,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, context) => {
          const i = next++;
          const { videoId, viewerId } = eventAt(i);
          (context as { i?: number }).i = i;
          const headers: Record<string, string> = { 'content-type': 'application/json', 'cf-connecting-ip': addressOf(viewerId) };
          if (ROUTES[route].internal) headers.authorization = `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}`;
          return { ...req, path: ROUTES[route].path(videoId), headers, body: ROUTES[route].body(viewerId, sessions[i]!) };
        },
        onResponse: (status, body, context) => {
          answered++;
          if (ROUTES[route].taken(status, body)) counted++;
          else if (status === 503 && body.startsWith('Your worker restarted mid-request')) restarted.push((context as { i: number }).i);
          else {
            notCounted++;
            const why = /"(?:reason|code)":"([a-z_]+)"/.exec(body)?.[1] ?? 'unknown';
            rejected[`${status} ${why}`] = (rejected[`${status} ${why}`] ?? 0) + 1;
          }
        },
      },
    ],
    }, (err, res) => (err ? reject(err) : resolve(res)));
    const progress = setInterval(() => {
      console.log(`  ${route}: ${answered}/${amount} answered after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }, 5000);
    const deadline = setTimeout(() => {
      stoppedEarly = true;
      console.log(`  ${route}: phase timeout (${phaseTimeoutSec} s) with ${answered}/${amount} answered; stopping`);
      instance.stop();
    }, phaseTimeoutSec * 1000);
    instance.on('done', () => {
      clearInterval(progress);
      clearTimeout(deadline);
    });
  });
  const retried: Record<string, number> = {};
  await pool(restarted, 8, async (i) => {
    const { videoId, viewerId } = eventAt(i);
    const res = await fetch(`${origin}${ROUTES[route].path(videoId)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': addressOf(viewerId), ...(ROUTES[route].internal ? { authorization: `Bearer ${STACK_SECRETS.INTERNAL_TOKEN}` } : {}) },
      body: ROUTES[route].body(viewerId, sessions[i]!),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.text();
    const why = ROUTES[route].taken(res.status, body) ? 'counted' : `${res.status} ${/"(?:reason|code)":"([a-z_]+)"/.exec(body)?.[1] ?? 'unknown'}`;
    retried[why] = (retried[why] ?? 0) + 1;
  });
  return {
    stoppedEarly,
    restarted,
    retried,
    rps: result.requests.average,
    sent: result.requests.sent,
    counted,
    notCounted,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rejected,
  };
}

/** Minimal RESP client: enough for PFADD / PFCOUNT / FLUSHALL against a private redis-server. */
async function redisHll(ids: (i: number) => string, n: number): Promise<{ estimate: number } | { skipped: string }> {
  if (!existsSync('/usr/bin/redis-server')) return { skipped: 'redis-server not installed' };
  const port = await freePort();
  const server = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  try {
    const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const attempt = () => {
        const s = createConnection({ host: '127.0.0.1', port }, () => resolve(s));
        s.once('error', () => (Date.now() < deadline ? setTimeout(attempt, 100) : reject(new Error('redis did not start'))));
      };
      attempt();
    });
    let buffer = '';
    const waiters: ((line: string) => void)[] = [];
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        waiters.shift()?.(line);
      }
    });
    const command = (args: string[]): Promise<string> => {
      const reply = new Promise<string>((resolve) => waiters.push(resolve));
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
      return reply;
    };
    const replies: Promise<string>[] = [];
    for (let start = 0; start < n; start += 1000) {
      const batch = ['PFADD', 'bench:hll'];
      for (let i = start; i < Math.min(n, start + 1000); i++) batch.push(ids(i));
      replies.push(command(batch));
      if (replies.length >= 50) await Promise.all(replies.splice(0));
    }
    await Promise.all(replies);
    const count = await command(['PFCOUNT', 'bench:hll']);
    socket.end();
    return { estimate: Number(count.replace(/^:/, '')) };
  } finally {
    server.kill('SIGTERM');
  }
}

function hllAccuracy(n: number): { estimate: number; error: number; shards: number; sketchBytes: number } {
  const shards = defaults.views.hotVideoShards;
  const p = defaults.views.hllPrecision;
  const sketches = Array.from({ length: shards }, () => new ViewerSketch(p));
  for (let i = 0; i < n; i++) {
    const id = `viewer-${i}`;
    sketches[shardIndexFor(id, shards)]!.add(hashViewer(id));
  }
  // Serialise each shard's registers and merge them, as stats does with the shards' snapshots.
  const merged = new ViewerSketch(p);
  for (const s of sketches) merged.merge(s.registers());
  const estimate = merged.count();
  return { estimate, error: (estimate - n) / n, shards, sketchBytes: 1 << p };
}

export async function run(): Promise<BenchResult> {
  const events = flag('events', 100_000);
  const viewers = flag('viewers', 50_000);
  const cold = flag('cold', 1000);
  const hllIds = flag('hll-ids', 1_000_000);
  const connections = flag('connections', 50);
  const phaseTimeoutSec = flag('phase-timeout', 600);
  const hotEvents = Math.min(Math.ceil(events / 2), viewers);
  const coldEvents = events - hotEvents;
  const perCold = Math.ceil(coldEvents / cold);
  if (perCold > viewers) throw new Error('each cold video needs distinct viewers: raise --viewers or --cold');

  const summary: string[] = [];
  const data: Record<string, unknown> = { events, viewers, cold, hllIds, connections };

  // HyperLogLog accuracy first: pure computation, independent of the stack.
  const hll = hllAccuracy(hllIds);
  const redis = await redisHll((i) => `viewer-${i}`, hllIds);
  data.hll = { ...hll, redis };
  summary.push(
    `HLL (p=${defaults.views.hllPrecision}, ${hll.shards} shard sketches merged): ${hllIds} distinct → ${hll.estimate} (error ${(hll.error * 100).toFixed(3)}%)` +
      ('estimate' in redis
        ? `; Redis PFCOUNT ${redis.estimate} (error ${(((redis.estimate - hllIds) / hllIds) * 100).toFixed(3)}%)`
        : `; Redis column skipped: ${redis.skipped}`),
  );

  const stack = await startStack({ vars: { BENCH_ROUTES: '1' } });
  try {
    const ids = await createVideos(stack, cold + 1);
    const [hot, ...colds] = ids as [string, ...string[]];
    // Even events go to the hot video (its (i/2)-th viewer) until it has its share; the rest to cold videos, each
    // with viewers distinct for that video.
    const eventAt = (i: number): { videoId: string; viewerId: string } => {
      const hotBefore = Math.min(Math.ceil(i / 2), hotEvents);
      if (i % 2 === 0 && i / 2 < hotEvents) return { videoId: hot, viewerId: `bv-${i / 2}` };
      const j = i - hotBefore;
      const video = j % cold;
      const k = Math.floor(j / cold);
      return { videoId: colds[video]!, viewerId: `bv-${(video * perCold + k) % viewers}` };
    };

    const noopAmount = Math.min(events, 20_000);
    console.log(`views bench: minting ${events} playback sessions`);
    const sessions = await mintSessions(events, eventAt);
    console.log(`views bench: no-op route, ${noopAmount} requests`);
    const noop = await load(stack.origin, noopAmount, connections, 'noop', eventAt, sessions, phaseTimeoutSec);
    console.log(`views bench: view ingest, ${events} beacons`);
    const ingest = await load(stack.origin, events, connections, 'views', eventAt, sessions, phaseTimeoutSec);
    console.log(`views bench: QoE no-op route, ${noopAmount} requests`);
    const qoeNoop = await load(stack.origin, noopAmount, connections, 'qoe-noop', eventAt, sessions, phaseTimeoutSec);
    console.log(`views bench: QoE ingest, ${events} records`);
    const qoe = await load(stack.origin, events, connections, 'qoe', eventAt, sessions, phaseTimeoutSec);
    console.log('views bench: reading stats and QoE of every video');

    // Count check: the live stats of every video (D1 + unflushed shard deltas) must add up to the counted events.
    let total = 0;
    let qoeTotal = 0;
    let hotStats = { views: 0, uniqueViewers: 0 };
    await pool(ids, 8, async (id) => {
      // Stats are the creator's only (the videos are the stack creator's).
      const res = await fetch(`${stack.origin}/v1/videos/${id}/stats`, { headers: { Authorization: `Bearer ${stack.token}` }, signal: AbortSignal.timeout(30_000) });
      const s = (await res.json()) as { views: number; uniqueViewers: number };
      total += s.views;
      if (id === hot) hotStats = s;
      const report = await fetch(`${stack.origin}/v1/videos/${id}/qoe`, { headers: { Authorization: `Bearer ${stack.token}` }, signal: AbortSignal.timeout(30_000) });
      // Read first, then add: `qoeTotal += await …` would add to the total as it was before the await.
      const { totals } = (await report.json()) as { totals: { views: number } };
      qoeTotal += totals.views;
    });
    const expectedHot = hotEvents;
    const ratio = ingest.rps / noop.rps;
    data.noop = noop;
    data.ingest = ingest;
    // Every (viewer, video) pair is distinct, so each event must count exactly once: a retried event answered
    // `duplicate` was counted by its first attempt.
    const countedOnce = ingest.counted + (ingest.retried.counted ?? 0) + (ingest.retried['200 duplicate'] ?? 0);
    data.count = { sentValid: events, countedResponses: countedOnce, statsTotal: total, lost: events - total, doubled: Math.max(0, total - countedOnce) };
    data.hot = { views: hotStats.views, expected: expectedHot, uniqueViewers: hotStats.uniqueViewers };
    data.ratio = ratio;
    // A retried record answered `stale` had been taken by its first attempt (records are idempotent by seq).
    const qoeTaken = qoe.counted + (qoe.retried.counted ?? 0) + (qoe.retried['200 stale'] ?? 0);
    const qoeRatio = qoe.rps / qoeNoop.rps;
    data.qoe = { noop: qoeNoop, ingest: qoe, ratio: qoeRatio, ratioToViewNoop: qoe.rps / noop.rps, sent: events, taken: qoeTaken, reported: qoeTotal, lost: events - qoeTotal };
    summary.push(
      `no-op route: ${noop.rps.toFixed(0)} req/s (p50 ${noop.p50} ms, p99 ${noop.p99} ms) over ${noop.sent} requests, ${connections} connections`,
      ...(noop.restarted.length || ingest.restarted.length
        ? [`wrangler dev reloaded the Worker mid-run: ${noop.restarted.length} no-op and ${ingest.restarted.length} view requests got its 503 and were retried once (views: ${JSON.stringify(ingest.retried)})`]
        : []),
      `view ingest: ${ingest.rps.toFixed(0)} events/s (p50 ${ingest.p50} ms, p99 ${ingest.p99} ms); ${ingest.counted} counted, ${ingest.notCounted} not, ${ingest.errors} errors, ${ingest.timeouts} timeouts` +
        (ingest.notCounted ? ` (not counted: ${JSON.stringify(ingest.rejected)})` : ''),
      `ingest / no-op = ${ratio.toFixed(2)} (target ≥ 0.3)`,
      `exact count: sent ${events} valid events, stats total ${total} (lost ${events - total}, doubled ${Math.max(0, total - countedOnce)})`,
      `hot video: ${hotStats.views} views (expected ${expectedHot}), uniqueViewers ≈ ${hotStats.uniqueViewers} (${(((hotStats.uniqueViewers - expectedHot) / expectedHot) * 100).toFixed(2)}% off)`,
      `QoE no-op route: ${qoeNoop.rps.toFixed(0)} req/s (p50 ${qoeNoop.p50} ms, p99 ${qoeNoop.p99} ms); QoE ingest: ${qoe.rps.toFixed(0)} records/s (p50 ${qoe.p50} ms, p99 ${qoe.p99} ms), ${qoe.counted} taken, ${qoe.notCounted} not` +
        (qoe.notCounted ? ` (${JSON.stringify(qoe.rejected)})` : ''),
      `QoE ingest / QoE no-op = ${qoeRatio.toFixed(2)} (target ≥ 0.3; / the view no-op ${(qoe.rps / noop.rps).toFixed(2)})`,
      `QoE records: sent ${events}, in the reports ${qoeTotal} (lost ${events - qoeTotal})`,
      'numbers are machine-dependent (shared 2-core machine here); rerun on a quiet machine for reference figures',
    );
    if ([noop, ingest, qoeNoop, qoe].some((phase) => phase.stoppedEarly)) summary.push(`a load phase hit --phase-timeout=${phaseTimeoutSec}: the run is incomplete`);
    const exact = total === events && countedOnce === events && !ingest.stoppedEarly;
    const qoeExact = qoeTotal === events && !qoe.stoppedEarly;
    return { summary, data, targetMet: exact && qoeExact && ratio >= 0.3 && qoeRatio >= 0.3 && Math.abs(hll.error) <= 0.01 };
  } finally {
    await stack.stop();
  }
}

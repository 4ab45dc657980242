/**
 * `npm run bench -- cost`: what one upload, a month of storage and 1,000 minutes of viewing cost to run, counted by
 * the platform itself (workers/metering) on a real local stack, priced with workers/metering/prices.ts, beside
 * Cloudflare Stream's and Mux's prices for the same work.
 *
 * 1. Upload and transcode: a 1080p test source (testsrc2 + a tone; BENCH_COST_SOURCE_SEC, default 600 s) through
 *    the chunk API, transcoded by the local transcoder process with the default ladder (chunked). The counts from
 *    the first byte to READY are one upload's; the bytes the video keeps in R2 are its storage. Then the same source
 *    again with a per-title ladder (`ladderMode: "per-title"`), for its storage and encoding only
 *    (BENCH_COST_PER_TITLE=0 skips it). The stack runs with ORIGINAL_RETENTION_DAYS=0: once both are measured, the
 *    bench fires the 5-minute cron, which deletes their originals, and measures what each keeps afterwards.
 * 2. Viewing: BENCH_COST_VIEWERS viewers (default 1,000), each watching BENCH_COST_WATCH_SEC (default 300 s) as a
 *    player does: `GET /v1/videos/:id/playback`, the master, the 240p rung's playlist and the audio playlist, every
 *    video and audio segment of those minutes, one view beacon and one QoE record at the end. Run three times, with
 *    0 %, 90 % and 99 % of segment requests made to miss the edge cache: before a request chosen to miss, the bench
 *    drops that segment from the cache (`POST /internal/bench/edge-purge`, a bench-only route; its own requests
 *    are subtracted). The 0 % and 99 % runs have BENCH_COST_VIEWERS_OTHER viewers (default 200). The rung does not
 *    change the counts (R2 and Workers bill per operation; egress is free); the lowest rung keeps the local stack
 *    fast.
 * Counts are read with `/internal/operations` after a forced flush; the bench's own control requests (flushes,
 * reads, purges, status polls) are subtracted from the Worker requests. Bounded: every loop has a fixed count and
 * the phases have deadlines; everything runs on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './run';
import { startStack, type Stack } from '../test/helpers/local-stack';
import { CRONS, fireCron } from '../scripts/local-cron';
import { getVideo, internalHeaders, listObjects, makeSource, uploadOriginal, type EncodingFields } from '../test/helpers/transcoding-media';
import type { OperationCounts, OperationKind } from '../workers/metering/operations';
import { ASSUMED_CPU_MS_PER_REQUEST, COMPETITORS, DO_MEMORY_GB, INSTANCE, PRICES, type PriceLine } from '../workers/metering/prices';

const SOURCE_SEC = Number(process.env.BENCH_COST_SOURCE_SEC ?? 600);
const VIEWERS = Number(process.env.BENCH_COST_VIEWERS ?? 1000);
/** Viewers of the 0 % and 99 % runs (the counts per minute delivered do not depend on how many watch). */
const VIEWERS_OTHER = Number(process.env.BENCH_COST_VIEWERS_OTHER ?? Math.min(VIEWERS, 200));
const WATCH_SEC = Number(process.env.BENCH_COST_WATCH_SEC ?? 300);
const HIT_RATIOS = [0, 0.9, 0.99];
/** Also upload the source with a per-title ladder (BENCH_COST_PER_TITLE=0 skips it). */
const PER_TITLE = process.env.BENCH_COST_PER_TITLE !== '0';
const CONCURRENCY = 8;
const TRANSCODE_DEADLINE_MS = 90 * 60_000;
const POLL_MS = 10_000;
const GB = 1e9;

type Counts = Partial<Record<OperationKind, number>>;

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

function diff(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const kind of new Set([...Object.keys(after), ...Object.keys(before)]) as Set<OperationKind>) {
    const d = (after[kind] ?? 0) - (before[kind] ?? 0);
    if (d !== 0) out[kind] = round(d, 3);
  }
  return out;
}

function scale(counts: Counts, factor: number): Counts {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v * factor, 3)])) as Counts;
}

const usd = (line: PriceLine, units: number) => (units * line.usd) / line.per;

/** Dollars per line for a set of counts (free allowances not deducted: an operator past them pays every unit). */
function price(c: Counts, storedGbMonth = 0): { lines: Record<string, number>; total: number } {
  const n = (k: OperationKind) => c[k] ?? 0;
  const lines: Record<string, number> = {
    'Workers requests': usd(PRICES.workerRequests, n('worker.requests')),
    [`Workers CPU (assumed ${ASSUMED_CPU_MS_PER_REQUEST} ms/request)`]: usd(PRICES.workerCpuMs, n('worker.requests') * ASSUMED_CPU_MS_PER_REQUEST),
    'Durable Objects requests': usd(PRICES.doRequests, n('do.requests')),
    'Durable Objects duration': usd(PRICES.doDurationGbSec, (n('do.wall_ms') / 1000) * DO_MEMORY_GB),
    'D1 rows read': usd(PRICES.d1RowsRead, n('d1.rows_read')),
    'D1 rows written': usd(PRICES.d1RowsWritten, n('d1.rows_written')),
    'R2 class A': usd(PRICES.r2ClassA, n('r2.class_a')),
    'R2 class B': usd(PRICES.r2ClassB, n('r2.class_b')),
    'R2 storage': usd(PRICES.r2StorageGbMonth, storedGbMonth),
    'Queues (write + read + delete per 64 KB)': usd(PRICES.queueOperations, n('queue.messages') * 3),
    'Containers vCPU': usd(PRICES.containerVcpuSec, n('container.vcpu_sec')),
    [`Containers memory (${INSTANCE.memoryGib} GiB while running)`]: usd(PRICES.containerMemoryGibSec, n('container.wall_sec') * INSTANCE.memoryGib),
    [`Containers disk (${INSTANCE.diskGb} GB while running)`]: usd(PRICES.containerDiskGbSec, n('container.wall_sec') * INSTANCE.diskGb),
  };
  for (const k of Object.keys(lines)) if (lines[k] === 0) delete lines[k];
  for (const k of Object.keys(lines)) lines[k] = round(lines[k]!, 6);
  return { lines, total: round(Object.values(lines).reduce((a, b) => a + b, 0), 6) };
}

class Bench {
  /** Requests the bench makes for itself (flushes, reads, purges, polls): not workload. */
  control = 0;
  /** Segment requests that failed and were tried again. */
  failures: string[] = [];
  constructor(readonly stack: Stack) {}

  private async internal(p: string, init: RequestInit = {}): Promise<Response> {
    this.control++;
    return fetch(`${this.stack.origin}${p}`, { ...init, headers: { ...internalHeaders(), 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  }

  /** Everything counted so far (this isolate flushed first). */
  async operations(): Promise<Counts> {
    await (await this.internal('/internal/operations/flush', { method: 'POST' })).arrayBuffer();
    const res = await this.internal(`/internal/operations?from=0&to=${Date.now() + 120_000}`);
    return ((await res.json()) as { counts: OperationCounts }).counts;
  }

  async purge(paths: string[]): Promise<void> {
    const res = await this.internal('/internal/bench/edge-purge', { method: 'POST', body: JSON.stringify({ paths }) });
    if (!res.ok) throw new Error(`purge: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }

  /** The counts of `work`, the bench's own requests taken out. */
  async measure<T>(work: () => Promise<T>): Promise<{ counts: Counts; value: T; seconds: number }> {
    const before = await this.operations();
    const controlBefore = this.control;
    const started = Date.now();
    const value = await work();
    const seconds = (Date.now() - started) / 1000;
    const after = await this.operations();
    // Inside the window: the read that ended `before` (counted once flushed), whatever `work` sent for itself, and the
    // flush of `after` (counted before it writes); not the read that ends `after`.
    const own = this.control - controlBefore;
    const counts = diff(after, before);
    counts['worker.requests'] = (counts['worker.requests'] ?? 0) - own;
    return { counts, value, seconds };
  }
}

/** `https://…/v/{id}/t/{token}/240p/segment_0001.ts` → `/v/{id}/240p/segment_0001.ts` (the edge cache's key). */
const canonical = (url: string) => new URL(url).pathname.replace(/^\/v\/([^/]+)\/t\/[^/]+\//, '/v/$1/');

/** A request a player would retry once on a 5xx (the failure is reported in `failures`). */
async function text(url: string, init?: RequestInit, failures?: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, init);
    const body = await res.text();
    if (res.ok) return body;
    failures?.push(`${new URL(url).pathname}: ${res.status} ${body.slice(0, 200)}`);
    if (res.status < 500 || attempt >= 2) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const segmentsOf = (playlist: string) => playlist.split('\n').filter((l) => l && !l.startsWith('#'));

/**
 * Requests of one segment one at a time: a request chosen to miss must not find the segment put back by another
 * viewer between its purge and its fetch (at 0 % they would hit anyway).
 */
const keyLocks = new Map<string, Promise<unknown>>();
async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = keyLocks.get(key) ?? Promise.resolve();
  const mine = previous.then(work, work);
  const settled = mine.catch(() => undefined);
  keyLocks.set(key, settled);
  try {
    return await mine;
  } finally {
    if (keyLocks.get(key) === settled) keyLocks.delete(key);
  }
}

/** One viewer: what a player of this platform requests for WATCH_SEC of the video. `miss(url)` decides per segment. */
async function watch(b: Bench, videoId: string, viewer: number, miss: (url: string) => boolean): Promise<{ segments: number; hits: number }> {
  const origin = b.stack.origin;
  const playback = JSON.parse(await text(`${origin}/v1/videos/${videoId}/playback`)) as { url: string; session: string };
  const master = await text(playback.url, undefined, b.failures);
  const base = playback.url.replace(/master\.m3u8.*$/, '');
  const video = `${base}240p/playlist.m3u8`;
  const audioUri = /TYPE=AUDIO[^\n]*URI="([^"]+)"/.exec(master)?.[1];
  const playlists = [video, ...(audioUri ? [new URL(audioUri, playback.url).href] : [])];
  let segments = 0;
  let hits = 0;
  for (const list of playlists) {
    const body = await text(list, undefined, b.failures);
    let elapsed = 0;
    const durations = body.match(/#EXTINF:([\d.]+)/g)!.map((l) => Number(l.slice(8)));
    for (const [i, uri] of segmentsOf(body).entries()) {
      if (elapsed >= WATCH_SEC) break;
      elapsed += durations[i]!;
      const url = new URL(uri, list).href;
      const res = await oneAtATime(canonical(url), async () => {
        if (miss(url)) await b.purge([canonical(url)]);
        // A player retries a failed segment; so does the bench, once, and reports how often it had to.
        for (let attempt = 1; ; attempt++) {
          const answer = await fetch(url).catch((err: unknown) => err as Error);
          const body = answer instanceof Response ? await answer.text().catch(() => '') : '';
          if (answer instanceof Response && answer.ok) return answer;
          const why = answer instanceof Response ? `${answer.status} ${body.slice(0, 200)}` : answer.message;
          b.failures.push(`${canonical(url)}: ${why}`);
          if (attempt >= 2) throw new Error(`segment ${url}: ${why}\n${b.stack.logs.slice(-40).join('')}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      });
      segments++;
      if (res.headers.get('X-Cache') === 'HIT') hits++;
    }
  }
  const session = playback.session;
  const json = { 'Content-Type': 'application/json' };
  await text(`${origin}/v1/videos/${videoId}/views`, { method: 'POST', headers: json, body: JSON.stringify({ viewerId: `cost-viewer-${viewer}`, watchDuration: WATCH_SEC, videoDuration: SOURCE_SEC, session }) });
  const record = { session, seq: 0, startupMs: 900, exitBeforeStart: false, failure: null, rebufferCount: 0, stalledMs: 0, watchedMs: WATCH_SEC * 1000, averageBitrate: 450_000, finalBitrate: 450_000, finalHeight: 240, switches: 0 };
  await text(`${origin}/v1/videos/${videoId}/qoe`, { method: 'POST', headers: json, body: JSON.stringify({ records: [record] }) });
  return { segments, hits };
}

async function watchWarmUp(b: Bench, videoId: string): Promise<void> {
  const playback = JSON.parse(await text(`${b.stack.origin}/v1/videos/${videoId}/playback`)) as { url: string };
  const master = await text(playback.url);
  await text(playback.url.replace(/master\.m3u8.*$/, '240p/playlist.m3u8'));
  const audioUri = /TYPE=AUDIO[^\n]*URI="([^"]+)"/.exec(master)?.[1];
  if (audioUri) await text(new URL(audioUri, playback.url).href);
}

async function viewers(b: Bench, videoId: string, hitRatio: number, count: number) {
  let requests = 0;
  let misses = 0;
  // Deterministic share: request k misses when ⌊(k+1)(1−r)⌋ > ⌊k(1−r)⌋ (so exactly round((1−r)·n) of n miss).
  const miss = () => {
    const k = requests++;
    const m = Math.floor((k + 1) * (1 - hitRatio) + 1e-9) > Math.floor(k * (1 - hitRatio) + 1e-9);
    if (m) misses++;
    return m;
  };
  let next = 0;
  let segments = 0;
  let hits = 0;
  const run = async () => {
    for (let v = next++; v < count; v = next++) {
      const watched = await watch(b, videoId, v, miss);
      segments += watched.segments;
      hits += watched.hits;
    }
  };
  // The playlists are fetched once before the measured run: concurrent first requests of one object meet in the edge
  // cache's single flight, which under this load now and then let a follower hang (see docs/cost.md).
  await watchWarmUp(b, videoId);
  const measured = await b.measure(() => Promise.all(Array.from({ length: CONCURRENCY }, run)));
  return { ...measured, segments, segmentHits: hits, forcedMisses: misses, viewers: count };
}

/** Uploads `file` through the chunk API and waits for READY: the operations counted meanwhile, and what the video keeps in R2. */
async function uploadToReady(b: Bench, file: string, encoding: EncodingFields) {
  const upload = await b.measure(async () => {
    const id = await uploadOriginal(b.stack, `cost bench (${encoding.ladderMode ?? 'default ladder'})`, file, 4, encoding);
    const deadline = Date.now() + TRANSCODE_DEADLINE_MS;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the upload did not become READY in time');
      await new Promise((r) => setTimeout(r, POLL_MS));
      b.control++;
      const v = await getVideo(b.stack, id);
      if (v.status === 'READY') return v;
      if (v.status === 'FAILED') throw new Error(`transcoding failed: ${v.error}`);
    }
  });
  const video = upload.value;
  return { upload, video, ...(await storedBy(b, video.id)) };
}

/** What a video keeps in R2: every object under its output and original prefixes, and the original's share. */
async function storedBy(b: Bench, id: string): Promise<{ storedBytes: number; originalBytes: number }> {
  const stored = [...(await listObjects(b.stack, `videos/${id}/`)), ...(await listObjects(b.stack, `originals/${id}/`))];
  const sum = (objects: { size: number }[]) => objects.reduce((a, o) => a + o.size, 0);
  return { storedBytes: sum(stored), originalBytes: sum(stored.filter((o) => o.key.startsWith('originals/'))) };
}

/** What a video keeps in R2 once retention deleted its original (waits for the cron's mark on the row). */
async function keptAfterRetention(b: Bench, id: string): Promise<{ bytes: number; originalDeletedAt: string }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    b.control++;
    const v = (await getVideo(b.stack, id)) as { originalDeletedAt?: string | null };
    if (v.originalDeletedAt) return { bytes: (await storedBy(b, id)).storedBytes, originalDeletedAt: v.originalDeletedAt };
    if (Date.now() > deadline) throw new Error(`the retention cron did not delete ${id}'s original`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cost-bench-'));
  const stack = await startStack({
    transcoder: true,
    // Retention 0: the first 5-minute cron after READY deletes the originals; the bench fires it once both videos
    // are measured with their originals, and measures again.
    vars: { BENCH_ROUTES: '1', VIEWS_SESSIONS_PER_ADDRESS: '1000000', VIEWS_PER_ADDRESS_PER_VIDEO: '1000000', ORIGINAL_RETENTION_DAYS: '0' },
    testScheduled: true,
  });
  const b = new Bench(stack);
  try {
    const made = Date.now();
    const file = await makeSource(path.join(dir, 'source.mp4'), { width: 1920, height: 1080, seconds: SOURCE_SEC });
    const sourceMadeSec = (Date.now() - made) / 1000;

    // 1. One upload, from its first byte to READY, with the platform's default ladder; then the same source with a
    // per-title ladder, for its storage and encoding only (viewing costs the same requests per minute either way).
    const { upload, video, storedBytes, originalBytes } = await uploadToReady(b, file, {});
    const perTitleUpload = PER_TITLE ? await uploadToReady(b, file, { ladderMode: 'per-title' }) : null;

    // Retention: the cron deletes both originals; what each video keeps afterwards is measured, not derived.
    await fireCron(stack.origin, CRONS[0]!.expr);
    const afterRetention = await keptAfterRetention(b, video.id);
    const perTitleAfterRetention = perTitleUpload ? await keptAfterRetention(b, perTitleUpload.video.id) : null;
    const minutes = SOURCE_SEC / 60;

    // 2. Viewing at each cache-hit ratio.
    const runs = [];
    for (const ratio of HIT_RATIOS) {
      const r = await viewers(b, video.id, ratio, ratio === 0.9 ? VIEWERS : VIEWERS_OTHER);
      const deliveredMin = (r.viewers * WATCH_SEC) / 60;
      const per1000 = scale(r.counts, 1000 / deliveredMin);
      runs.push({
        hitRatio: ratio,
        viewers: r.viewers,
        seconds: r.seconds,
        segmentRequests: r.segments,
        failedAndRetried: b.failures.splice(0),
        forcedMisses: r.forcedMisses,
        /** Of the segment requests, as their X-Cache said (playlists are cached too, and counted apart). */
        segmentHitRatio: round(r.segmentHits / Math.max(1, r.segments), 4),
        deliveredMinutes: deliveredMin,
        counts: r.counts,
        per1000MinutesDelivered: per1000,
        usdPer1000MinutesDelivered: price(per1000),
      });
    }

    // Storage: a month of what the video keeps in R2 (rungs, audio, thumbnails, the original), per 1,000 minutes.
    const storedGbMonthPer1000Min = (storedBytes / GB) * (1000 / minutes);
    const storage = price({}, storedGbMonthPer1000Min);
    // The same measured bytes under two choices an operator has: the original moved to Infrequent Access (an R2
    // lifecycle rule on `originals/`), or not kept once the video is READY.
    const per1000 = (bytes: number) => (bytes / GB) * (1000 / minutes);
    const derived = per1000(storedBytes - originalBytes);
    const storageVariants = {
      originalInStandard: round(storage.total, 4),
      originalInInfrequentAccess: round(usd(PRICES.r2StorageGbMonth, derived) + usd(PRICES.r2StorageIaGbMonth, per1000(originalBytes)), 4),
      withoutOriginal: round(usd(PRICES.r2StorageGbMonth, derived), 4),
      /** Measured: what the video keeps once ORIGINAL_RETENTION_DAYS deleted its original. */
      afterRetention: round(usd(PRICES.r2StorageGbMonth, per1000(afterRetention.bytes)), 4),
    };
    const uploadPrice = price(upload.counts);
    // The per-title upload: its storage (original kept in Standard, and the two variants) and its encoding.
    const perTitle = perTitleUpload && {
      seconds: perTitleUpload.upload.seconds,
      storedBytes: perTitleUpload.storedBytes,
      originalBytes: perTitleUpload.originalBytes,
      ladder: perTitleUpload.video.renditions.map((r) => r.name),
      crf: perTitleUpload.video.ladder?.crf ?? null,
      usdPer1000MinutesMonth: round(price({}, per1000(perTitleUpload.storedBytes)).total, 4),
      variantsUsdPer1000MinutesMonth: {
        originalInInfrequentAccess: round(usd(PRICES.r2StorageGbMonth, per1000(perTitleUpload.storedBytes - perTitleUpload.originalBytes)) + usd(PRICES.r2StorageIaGbMonth, per1000(perTitleUpload.originalBytes)), 4),
        withoutOriginal: round(usd(PRICES.r2StorageGbMonth, per1000(perTitleUpload.storedBytes - perTitleUpload.originalBytes)), 4),
        afterRetention: round(usd(PRICES.r2StorageGbMonth, per1000(perTitleAfterRetention!.bytes)), 4),
      },
      counts: perTitleUpload.upload.counts,
      usdPer1000MinutesEncoded: round((price(perTitleUpload.upload.counts).total / minutes) * 1000, 4),
    };
    const at90 = runs.find((r) => r.hitRatio === 0.9)!;
    const stream = COMPETITORS.stream;
    const mux = COMPETITORS.mux;
    const dominant = (lines: Record<string, number>) => Object.entries(lines).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
    const deliveryVsStream = round(at90.usdPer1000MinutesDelivered.total / stream.deliveredPer1000Min, 4);
    const storageVsStream = round(storage.total / stream.storedPer1000MinMonth, 4);
    const storageAfterRetentionVsStream = round(storageVariants.afterRetention / stream.storedPer1000MinMonth, 4);
    const perTitleStorageVsStream = perTitle && round(perTitle.usdPer1000MinutesMonth / stream.storedPer1000MinMonth, 4);
    return {
      summary: [
        `source: ${SOURCE_SEC} s 1080p (made in ${sourceMadeSec.toFixed(0)} s); upload + transcode to READY ${upload.seconds.toFixed(0)} s; stored ${(storedBytes / 1e6).toFixed(1)} MB (original ${(originalBytes / 1e6).toFixed(1)} MB)`,
        `one upload: ${JSON.stringify(upload.counts)} → $${uploadPrice.total.toFixed(4)} (${dominant(uploadPrice.lines)} dominates) = $${((uploadPrice.total / minutes) * 1000).toFixed(2)} per 1,000 minutes encoded`,
        `storage: $${storage.total.toFixed(4)} per 1,000 minutes per month (R2 ${storedGbMonthPer1000Min.toFixed(2)} GB-month) vs Stream $${stream.storedPer1000MinMonth} → ${storageVsStream}×; Mux $${mux.storedPer1000MinMonth} (assumed)`,
        `storage variants per 1,000 minutes-month: original in Infrequent Access $${storageVariants.originalInInfrequentAccess} (${round(storageVariants.originalInInfrequentAccess / stream.storedPer1000MinMonth, 3)}×), without the original $${storageVariants.withoutOriginal} (${round(storageVariants.withoutOriginal / stream.storedPer1000MinMonth, 3)}×); measured after the retention cron deleted it: ${(afterRetention.bytes / 1e6).toFixed(1)} MB, $${storageVariants.afterRetention} (${round(storageVariants.afterRetention / stream.storedPer1000MinMonth, 3)}×)`,
        ...(perTitle
          ? [
              `per-title ladder (${perTitle.ladder.join(', ')}; CRF ${JSON.stringify(perTitle.crf)}): upload + transcode ${perTitle.seconds.toFixed(0)} s, stored ${(perTitle.storedBytes / 1e6).toFixed(1)} MB → storage $${perTitle.usdPer1000MinutesMonth} (${perTitleStorageVsStream}×), original in Infrequent Access $${perTitle.variantsUsdPer1000MinutesMonth.originalInInfrequentAccess}, after retention $${perTitle.variantsUsdPer1000MinutesMonth.afterRetention} (${round(perTitle.variantsUsdPer1000MinutesMonth.afterRetention / stream.storedPer1000MinMonth, 3)}×); encoding $${perTitle.usdPer1000MinutesEncoded} per 1,000 minutes`,
            ]
          : []),
        ...runs.map(
          (r) =>
            `delivery at ${r.hitRatio * 100} % hits (${r.viewers} viewers, segment hits measured ${(r.segmentHitRatio * 100).toFixed(1)} % of ${r.segmentRequests}, ${r.seconds.toFixed(0)} s): $${r.usdPer1000MinutesDelivered.total.toFixed(4)} per 1,000 minutes (${dominant(r.usdPer1000MinutesDelivered.lines)} dominates) vs Stream $${stream.deliveredPer1000Min}`,
        ),
        `target (≤ 0.5× Stream at 90 % hits): delivery ${deliveryVsStream}×; storage after retention ${storageAfterRetentionVsStream}× (Stream keeps no original for you), with the original kept ${storageVsStream}× (default ladder)${perTitle ? `, ${perTitleStorageVsStream}× (per-title ladder)` : ''}`,
      ],
      data: {
        source: { seconds: SOURCE_SEC, size: '1920x1080', bytes: originalBytes },
        workload: { viewersAt90: VIEWERS, viewersAt0And99: VIEWERS_OTHER, watchSeconds: WATCH_SEC, rung: '240p', hitRatios: HIT_RATIOS, concurrency: CONCURRENCY },
        upload: { seconds: upload.seconds, counts: upload.counts, usd: uploadPrice, usdPer1000MinutesEncoded: round((uploadPrice.total / minutes) * 1000, 4) },
        storage: { storedBytes, originalBytes, afterRetention, storedGbMonthPer1000Minutes: round(storedGbMonthPer1000Min, 4), usdPer1000MinutesMonth: storage, variantsUsdPer1000MinutesMonth: storageVariants },
        perTitle,
        delivery: runs,
        assumptions: { workerCpuMsPerRequest: ASSUMED_CPU_MS_PER_REQUEST, doMemoryGb: DO_MEMORY_GB, instance: INSTANCE, freeAllowances: 'not deducted' },
        prices: PRICES,
        competitors: COMPETITORS,
        targets: { delivery: deliveryVsStream <= 0.5, storageAfterRetention: storageAfterRetentionVsStream <= 0.5, storageOriginalKept: storageVsStream <= 0.5 },
        vsStream: { deliveryAt90: deliveryVsStream, storage: storageVsStream, storageAfterRetention: storageAfterRetentionVsStream, storagePerTitle: perTitleStorageVsStream },
      },
      // Like for like: Stream stores the playable video and keeps no original for you, so storage is judged after
      // retention deleted the original; with the original kept (the platform's default) it is reported beside.
      targetMet: deliveryVsStream <= 0.5 && storageAfterRetentionVsStream <= 0.5,
    };
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

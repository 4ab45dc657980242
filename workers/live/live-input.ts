/**
 * LiveInput: one SQLite-backed Durable Object per live input (idFromName(inputId)), the single place that orders
 * a broadcast's pushes. The ingest route (live/ingest.ts) checks the stream key and the bytes first; this object
 * decides where a segment goes (live/ledger.ts), stores it in R2 under the recording's own segment numbers,
 * publishes the rung's growing playlist, has each published segment encoded into the lower rungs (the live ladder:
 * live/ladder.ts, one segment at a time, in the background so pushes never wait for an encode), and ends the
 * broadcast on the pushed ENDLIST or, by alarm, after `reconnectWindowSeconds` without a push. Its D1 effects are
 * in live/broadcast.ts.
 *
 * Storage: `broadcast` (one row while a broadcast runs: its video, rung facts, current connection, last push),
 * `segments` (the ledger), the ladder's tables (live/ladder-state.ts). Versioned with shared/do-schema.ts.
 */
import { meterEnv } from '../metering/metered-env';
import { DurableObject } from 'cloudflare:workers';
import { loadConfig } from '../shared/config';
import { migrateSchema, type SchemaPlan } from '../shared/do-schema';
import { logEvent } from '../shared/log';
import { keys } from '../shared/storage-keys';
import { runtime } from '../shared/runtime';
import type { LiveRung } from '../transcoding/outputs';
import { endBroadcast, publishRung, startBroadcast, type InputSettings } from './broadcast';
import { liveLadder, shouldDrop } from './ladder';
import { encodeLiveSegment } from './ladder-encode';
import { LADDER_TABLES, LadderState, type LadderRung } from './ladder-state';
import { isRestartPlaylist, placeSegment, publishable, type LedgerRow } from './ledger';
import type { SegmentFacts } from './ts-probe';

const PLAN: SchemaPlan = {
  migrations: [
    {
      name: 'broadcast and segments',
      up: (sql) => {
        sql.exec(`CREATE TABLE broadcast (id INTEGER PRIMARY KEY CHECK (id = 1), video_id TEXT NOT NULL, rung TEXT NOT NULL,
          width INTEGER NOT NULL, height INTEGER NOT NULL, codecs TEXT NOT NULL, connection INTEGER NOT NULL,
          last_push INTEGER NOT NULL, input TEXT NOT NULL)`);
        sql.exec(`CREATE TABLE segments (seq INTEGER PRIMARY KEY, connection INTEGER NOT NULL, num INTEGER NOT NULL,
          duration REAL, bytes INTEGER, digest TEXT)`);
        sql.exec('CREATE TABLE echoes (num INTEGER PRIMARY KEY, seq INTEGER NOT NULL)');
      },
    },
    {
      name: 'audience',
      up: (sql) => {
        // The playback sessions seen watching in the current minutes, and the per-minute figures once counted.
        sql.exec('CREATE TABLE watchers (video_id TEXT NOT NULL, minute INTEGER NOT NULL, session TEXT NOT NULL, PRIMARY KEY (video_id, minute, session))');
        sql.exec('CREATE TABLE audience (video_id TEXT NOT NULL, minute INTEGER NOT NULL, viewers INTEGER NOT NULL, PRIMARY KEY (video_id, minute))');
      },
    },
    {
      name: 'ladder',
      up: (sql) => {
        for (const statement of LADDER_TABLES) sql.exec(statement);
      },
    },
  ],
  legacyVersion: () => 0,
};

interface BroadcastRow {
  video_id: string;
  rung: string;
  width: number;
  height: number;
  codecs: string;
  connection: number;
  last_push: number;
  input: string;
  [key: string]: SqlStorageValue;
}

/** Set when the pushed ENDLIST came before the bytes of a segment it lists. */
const END_REQUESTED = 'endRequested';
/** How long an ended broadcast waits for the bytes of segments its final playlist listed. */
const END_GRACE_MS = 10_000;

export type PushResult = { ok: true; seq: number; duplicate: boolean } | { ok: false; code: 'out_of_order' | 'conflict'; message: string };

/** The ladder rung name a source of this height is published under (the rung of that height, else the nearest below). */
export type RungNamer = (height: number) => string;

/** A ledger row with whether the ladder has handled its segment (encoded, or skipped with no rung left). */
type SegmentRow = LedgerRow & { encoded: number };

/** What the API shows of a running broadcast's ladder. */
export interface LadderFacts {
  rungs: { name: string; width: number; height: number; segments: number; droppedFromSegment: number | null }[];
  /** Published segments waiting for their encode. */
  backlog: number;
}

export class LiveInput extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly ladder: LadderState;
  /** The background encode loop while it runs (one per object: segments are encoded in order). */
  private encoding: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meterEnv(env));
    this.sql = ctx.storage.sql;
    this.ladder = new LadderState(this.sql);
    ctx.blockConcurrencyWhile(async () => {
      migrateSchema(ctx.storage, PLAN);
    });
  }

  private current(): BroadcastRow | null {
    return this.sql.exec<BroadcastRow>('SELECT * FROM broadcast WHERE id = 1').toArray()[0] ?? null;
  }

  private rows(connection?: number): SegmentRow[] {
    const all = this.sql.exec<{ seq: number; connection: number; num: number; duration: number | null; bytes: number | null; digest: string | null; encoded: number }>('SELECT * FROM segments ORDER BY seq').toArray();
    return connection === undefined ? all : all.filter((r) => r.connection === connection);
  }

  /** A pushed segment, already checked to be H.264 MPEG-TS of `facts`. */
  async pushSegment(input: InputSettings, num: number, bytes: ArrayBuffer, digest: string, facts: SegmentFacts, rungName: string): Promise<PushResult> {
    let b = this.current();
    if (b && (facts.width !== b.width || facts.height !== b.height)) {
      return { ok: false, code: 'conflict', message: `the stream changed resolution mid-way (${b.width}x${b.height} → ${facts.width}x${facts.height}); end the broadcast and start a new one to change it` };
    }
    if (!b) {
      const videoId = await startBroadcast(this.env, input, facts);
      this.sql.exec('DELETE FROM segments');
      this.sql.exec('DELETE FROM echoes');
      this.sql.exec('INSERT INTO broadcast (id, video_id, rung, width, height, codecs, connection, last_push, input) VALUES (1, ?, ?, ?, ?, ?, 0, ?, ?)', videoId, rungName, facts.width, facts.height, facts.codecs, runtime().now(), JSON.stringify(input));
      this.ladder.start(liveLadder(loadConfig(this.env), facts.width, facts.height, rungName));
      b = this.current()!;
    }
    const decision = placeSegment(this.rows(b.connection), num, this.nextSeq(), digest);
    this.touch();
    if (decision.kind === 'out_of_order') return { ok: false, code: 'out_of_order', message: decision.reason };
    if (decision.kind === 'mismatch') return { ok: false, code: 'conflict', message: decision.reason };
    if (decision.kind === 'duplicate') {
      // Either a retry, or a restarted broadcaster whose segment is byte-identical (a file source): its playlist tells.
      this.sql.exec('INSERT OR REPLACE INTO echoes (num, seq) VALUES (?, ?)', num, decision.seq);
      return { ok: true, seq: decision.seq, duplicate: true };
    }
    const connection = decision.newConnection ? await this.reconnect(b) : b.connection;
    if (decision.newConnection) this.sql.exec('DELETE FROM echoes');
    const seq = decision.newConnection ? this.nextSeq() : decision.seq;
    await this.env.MEDIA.put(keys.segment(b.video_id, b.rung, seq), bytes, { httpMetadata: { contentType: 'video/mp2t' } });
    if (decision.newRow) this.sql.exec('INSERT INTO segments (seq, connection, num, duration, bytes, digest) VALUES (?, ?, ?, NULL, ?, ?)', seq, connection, num, bytes.byteLength, digest);
    else this.sql.exec('UPDATE segments SET bytes = ?, digest = ? WHERE seq = ?', bytes.byteLength, digest, seq);
    if ((await this.ctx.storage.get(END_REQUESTED)) && !this.awaitsBytes(connection)) await this.end(input);
    else await this.publish(false);
    return { ok: true, seq, duplicate: false };
  }

  /** A pushed playlist: the durations of this connection's segments, and ENDLIST when the broadcaster ended. */
  async pushPlaylist(input: InputSettings, entries: { num: number; duration: number }[], ended: boolean): Promise<void> {
    const b = this.current();
    if (!b) return;
    this.touch();
    let connection = b.connection;
    if (isRestartPlaylist(this.rows(connection), entries.map((e) => e.num))) connection = await this.reconnect(b);
    const rows = this.rows(connection);
    let nextSeq = this.nextSeq();
    const highest = rows.reduce((m, r) => Math.max(m, r.num), -1);
    for (const e of entries) {
      const row = rows.find((r) => r.num === e.num);
      if (row) {
        if (row.duration === null) this.sql.exec('UPDATE segments SET duration = ? WHERE seq = ?', e.duration, row.seq);
      } else if (e.num > highest) {
        // Announced before its own PUT finished: a row waiting for its bytes, unless they came as an echo.
        const seq = nextSeq++;
        this.sql.exec('INSERT INTO segments (seq, connection, num, duration, bytes) VALUES (?, ?, ?, ?, NULL)', seq, connection, e.num, e.duration);
        if (connection !== b.connection) await this.fillFromEcho(b, e.num, seq);
      }
    }
    if (connection !== b.connection) this.sql.exec('DELETE FROM echoes');
    if (ended && this.awaitsBytes(connection)) {
      // The final playlist can overtake its last segment's PUT (ffmpeg sends one, then the other, without waiting):
      // the broadcast ends when that segment's bytes are in, or after END_GRACE_MS without them.
      await this.ctx.storage.put(END_REQUESTED, true);
      await this.ctx.storage.setAlarm(runtime().now() + END_GRACE_MS);
      await this.publish(false);
    } else if (ended) await this.end(input);
    else await this.publish(false);
  }

  /** Whether a segment of this connection is listed by its playlist but its bytes are not in yet. */
  private awaitsBytes(connection: number): boolean {
    return this.rows(connection).some((r) => r.bytes === null);
  }

  /**
   * Ends a running broadcast (a pushed ENDLIST, the reconnect window passed, or the input was deleted), once the
   * ladder has encoded every published segment: the recording has all its rungs, each covering every segment.
   */
  async end(input?: InputSettings): Promise<void> {
    await this.drainLadder();
    const b = this.current();
    if (!b) return;
    const settings = input ?? (JSON.parse(b.input) as InputSettings);
    const rung = this.rung(b, true);
    const lower = this.ladderRungs(b, true).filter((r) => r.segmentDurations.length === rung.segmentDurations.length);
    const dropped = this.ladder.dropped().map((r) => ({ name: r.name, seqs: [...this.ladder.segments(r.name).keys()] }));
    await this.ctx.storage.delete(END_REQUESTED);
    this.sql.exec('DELETE FROM broadcast');
    this.sql.exec('DELETE FROM segments');
    this.sql.exec('DELETE FROM echoes');
    this.ladder.clear();
    await this.ctx.storage.deleteAlarm();
    await endBroadcast(this.env, settings, rung, lower, dropped);
  }

  override async alarm(): Promise<void> {
    const b = this.current();
    if (!b) return;
    const input = JSON.parse(b.input) as InputSettings;
    const ending = (await this.ctx.storage.get(END_REQUESTED)) === true;
    const due = ending ? b.last_push + END_GRACE_MS : b.last_push + input.reconnectWindowSeconds * 1000;
    if (runtime().now() >= due) await this.end(input);
    else await this.ctx.storage.setAlarm(due);
  }

  /**
   * A playback session watching `videoId` (a broadcast of this input) now. Counted once per session and minute;
   * minutes before the last two are folded into `audience` (one row per minute) and their sessions forgotten.
   */
  async watching(videoId: string, session: string, nowMs: number): Promise<void> {
    const minute = Math.floor(nowMs / 60_000);
    this.sql.exec('INSERT OR IGNORE INTO watchers (video_id, minute, session) VALUES (?, ?, ?)', videoId, minute, session);
    this.sql.exec(
      'INSERT OR REPLACE INTO audience (video_id, minute, viewers) SELECT video_id, minute, COUNT(*) FROM watchers WHERE minute < ? GROUP BY video_id, minute',
      minute - 1,
    );
    this.sql.exec('DELETE FROM watchers WHERE minute < ?', minute - 1);
  }

  /** Concurrent viewers of `videoId` per minute (distinct playback sessions seen watching in it), oldest first. */
  async audienceOf(videoId: string): Promise<{ minute: number; viewers: number }[]> {
    return this.sql
      .exec<{ minute: number; viewers: number }>(
        `SELECT minute, viewers FROM audience WHERE video_id = ?1
         UNION ALL SELECT minute, COUNT(*) AS viewers FROM watchers WHERE video_id = ?1 GROUP BY minute ORDER BY minute`,
        videoId,
      )
      .toArray()
      .map((r) => ({ minute: r.minute, viewers: r.viewers }));
  }

  /** Facts for the API: the broadcast's video, how much is published, and its ladder. */
  async describe(): Promise<{ videoId: string | null; segments: number; connections: number; ladder: LadderFacts | null }> {
    const b = this.current();
    if (!b) return { videoId: null, segments: 0, connections: 0, ladder: null };
    const ready = publishable(this.rows());
    const ladder: LadderFacts = {
      rungs: this.ladder.all().map((r) => ({ name: r.name, width: r.width, height: r.height, segments: this.ladder.segments(r.name).size, droppedFromSegment: r.droppedFrom })),
      backlog: ready.filter((r) => !r.encoded).length,
    };
    return { videoId: b.video_id, segments: ready.length, connections: b.connection + 1, ladder };
  }

  /** A restarted broadcaster's segment that arrived byte-identical to one of the previous run (kept as an echo). */
  private async fillFromEcho(b: BroadcastRow, num: number, seq: number): Promise<void> {
    const echo = this.sql.exec<{ seq: number }>('SELECT seq FROM echoes WHERE num = ?', num).toArray()[0];
    const source = echo && this.sql.exec<{ bytes: number; digest: string }>('SELECT bytes, digest FROM segments WHERE seq = ?', echo.seq).toArray()[0];
    if (!source) return;
    const object = await this.env.MEDIA.get(keys.segment(b.video_id, b.rung, echo.seq));
    if (!object) return;
    await this.env.MEDIA.put(keys.segment(b.video_id, b.rung, seq), await object.arrayBuffer(), { httpMetadata: { contentType: 'video/mp2t' } });
    this.sql.exec('UPDATE segments SET bytes = ?, digest = ? WHERE seq = ?', source.bytes, source.digest, seq);
  }

  private nextSeq(): number {
    return this.sql.exec<{ n: number }>('SELECT COALESCE(MAX(seq) + 1, 0) AS n FROM segments').one().n;
  }

  /**
   * A new connection (the broadcaster started again). What the cut-off connection left half done (a segment whose
   * playlist never came, one whose bytes never came) is dropped from its first gap on, so the recording's segment
   * numbers stay contiguous and the new connection follows its last complete segment.
   */
  private async reconnect(b: BroadcastRow): Promise<number> {
    const old = this.rows(b.connection);
    const gap = old.find((r) => r.duration === null || r.bytes === null);
    if (gap) {
      const dropped = old.filter((r) => r.seq >= gap.seq);
      const stored = dropped.filter((r) => r.bytes !== null).map((r) => keys.segment(b.video_id, b.rung, r.seq));
      const encoded = this.ladder.forgetFrom(gap.seq).map((e) => keys.segment(b.video_id, e.name, e.seq));
      if (stored.length + encoded.length) await this.env.MEDIA.delete([...stored, ...encoded]);
      this.sql.exec('DELETE FROM segments WHERE seq >= ?', gap.seq);
    }
    this.sql.exec('UPDATE broadcast SET connection = ? WHERE id = 1', b.connection + 1);
    return b.connection + 1;
  }

  private touch(): void {
    const now = runtime().now();
    this.sql.exec('UPDATE broadcast SET last_push = ? WHERE id = 1', now);
    const b = this.current();
    if (!b) return;
    const input = JSON.parse(b.input) as InputSettings;
    void this.ctx.storage.setAlarm(now + input.reconnectWindowSeconds * 1000);
  }

  /** The pushed rung as far as it is published. */
  private rung(b: BroadcastRow, final: boolean): LiveRung {
    return this.liveRung(b, final, { name: b.rung, width: b.width, height: b.height, codecs: b.codecs }, publishable(this.rows()));
  }

  /**
   * The transcoded rungs, each as far as its encodes go (a prefix of the published segments). While live, a dropped
   * rung goes on as gaps: every published segment from the one it was dropped at is listed as a gap, so its playlist
   * keeps pace and a player on it switches at the next segment. The recording (`final`) has the rungs still encoding.
   */
  private ladderRungs(b: BroadcastRow, final: boolean): LiveRung[] {
    const ready = publishable(this.rows());
    const out: LiveRung[] = [];
    for (const r of final ? this.ladder.active() : this.ladder.all()) {
      const bytes = this.ladder.segments(r.name);
      const encoded: typeof ready = [];
      for (const row of ready) {
        const size = bytes.get(row.seq);
        if (size === undefined) break;
        encoded.push({ ...row, bytes: size });
      }
      if (encoded.length === 0 || !r.codecs) continue;
      const facts = { name: r.name, width: r.width, height: r.height, codecs: r.codecs };
      if (r.droppedFrom === null) out.push(this.liveRung(b, final, facts, encoded));
      else out.push(this.liveRung(b, final, facts, [...encoded, ...ready.slice(encoded.length).map((row) => ({ ...row, bytes: 0 }))], encoded.length));
    }
    return out;
  }

  /** A rung's row over `ready` (the published segments it lists); those from index `gapFrom` on are gaps. */
  private liveRung(
    b: BroadcastRow, final: boolean, facts: Pick<LiveRung, 'name' | 'width' | 'height' | 'codecs'>, ready: (LedgerRow & { duration: number; bytes: number })[], gapFrom: number | null = null,
  ): LiveRung {
    const discontinuities: number[] = [];
    ready.forEach((r, i) => {
      if (i > 0 && r.connection !== ready[i - 1]!.connection) discontinuities.push(r.seq);
    });
    const durations = ready.map((r) => r.duration);
    const input = JSON.parse(b.input) as InputSettings;
    let windowStart = 0;
    if (!final) {
      let kept = 0;
      windowStart = ready.length;
      while (windowStart > 0 && kept < input.dvrWindowSeconds) kept += durations[--windowStart]!;
    }
    const peak = Math.max(0, ...ready.map((r) => (r.bytes * 8) / Math.max(r.duration, 0.001)));
    return {
      videoId: b.video_id, ...facts, segmentDurations: durations,
      totalBytes: ready.reduce((a, r) => a + r.bytes, 0), peakBandwidth: peak, discontinuities, windowStart, gapFrom,
    };
  }

  /**
   * Publishes every rung as far as it goes. The pushed rung waits for the ladder's first segment (unless no rung
   * is left to encode), so the first master playlist a viewer loads already lists the whole ladder: hls.js reads
   * a live master once.
   */
  private async publish(final: boolean): Promise<void> {
    const b = this.current();
    if (!b) return;
    const lower = this.ladderRungs(b, final);
    const rung = this.rung(b, final);
    if (rung.segmentDurations.length > 0 && (lower.length > 0 || this.ladder.active().length === 0)) await publishRung(this.env, rung);
    for (const r of lower) await publishRung(this.env, r);
    this.startEncoding();
  }

  /** Starts the background encode loop unless it runs (it picks up whatever is published and not encoded). */
  private startEncoding(): void {
    if (this.encoding) return;
    this.encoding = this.encodePending()
      .catch((err) => logEvent('error', 'live.ladder.failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.encoding = null;
      });
  }

  /** Waits until every published segment went through the ladder. */
  private async drainLadder(): Promise<void> {
    this.startEncoding();
    while (this.encoding) await this.encoding;
  }

  /**
   * Encodes the published segments the ladder has not handled, oldest first, one at a time; before each, drops the
   * top rung if the backlog says the transcoder is not keeping up (live/ladder.ts). An encode that fails twice drops
   * every rung still encoding: a rung cannot skip a segment, and the pushed rung plays on.
   */
  private async encodePending(): Promise<void> {
    const config = loadConfig(this.env);
    for (;;) {
      const b = this.current();
      if (!b) return;
      const pending = publishable(this.rows()).filter((r) => !r.encoded).map((r) => r.seq);
      const seq = pending[0];
      if (seq === undefined) return;
      let rungs = this.ladder.active();
      if (rungs.length > 0 && shouldDrop(pending, this.ladder.lastDropMark(), config.live.ladder.maxBacklogSegments)) {
        this.drop(b, rungs[0]!, seq, pending[pending.length - 1]!, `${pending.length} segments waiting for their encode`);
        rungs = rungs.slice(1);
      }
      if (rungs.length > 0) {
        const input = JSON.parse(b.input) as InputSettings;
        const outcome = await encodeLiveSegment(this.env, config, { inputId: input.id, videoId: b.video_id, sourceRung: b.rung, seq }, rungs);
        if (this.current()?.video_id !== b.video_id) return;
        if (outcome.status === 'ok') this.ladder.record(seq, outcome.result.rungs, b.codecs.split(',').slice(1));
        else for (const r of rungs) this.drop(b, r, seq, seq, `the encode of segment ${seq} failed: ${outcome.message}`);
      }
      this.sql.exec('UPDATE segments SET encoded = 1 WHERE seq = ?', seq);
      await this.publish(false);
    }
  }

  /** `rung` goes on as gaps from segment `from` (published with the next segment); the broadcast's end deletes it. */
  private drop(b: BroadcastRow, rung: LadderRung, from: number, mark: number, reason: string): void {
    this.ladder.drop(rung.name, from, mark);
    logEvent('warn', 'live.ladder.dropped', { videoId: b.video_id, rung: rung.name, fromSegment: from, reason });
  }
}

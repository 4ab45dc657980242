/**
 * A LiveInput object's record of its broadcast's transcoded rungs (live/ladder.ts says which and when one goes):
 * `ladder` (one row per rung: size, rate control, measured codecs, and where it was dropped) and `rung_segments`
 * (the bytes of each encoded segment per rung). Which pushed segments the ladder has handled is the ledger's
 * `encoded` column. The tables are created by the object's schema plan (live-input.ts).
 */
import type { PlannedRung } from '../transcoding/ladder';
import type { LiveRungResult, LiveRungSpec } from '../../containers/transcoder/src/live-protocol';

/** A transcoded rung: its encode settings (as the transcoder takes them) and what the broadcast made of it. */
export interface LadderRung extends Omit<LiveRungSpec, 'outputKey'> {
  /** RFC 6381 codecs, from the first encoded segment (null before it). */
  codecs: string | null;
  /** The first segment it no longer has (null: still encoding). */
  droppedFrom: number | null;
}

interface LadderRow {
  name: string;
  width: number;
  height: number;
  bitrate: number;
  maxrate: number;
  bufsize: number;
  codecs: string | null;
  dropped_from: number | null;
  drop_mark: number | null;
  [key: string]: SqlStorageValue;
}

export const LADDER_TABLES = [
  `CREATE TABLE ladder (name TEXT PRIMARY KEY, width INTEGER NOT NULL, height INTEGER NOT NULL, bitrate INTEGER NOT NULL,
    maxrate INTEGER NOT NULL, bufsize INTEGER NOT NULL, codecs TEXT, dropped_from INTEGER, drop_mark INTEGER)`,
  'CREATE TABLE rung_segments (name TEXT NOT NULL, seq INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (name, seq))',
  'ALTER TABLE segments ADD COLUMN encoded INTEGER NOT NULL DEFAULT 0',
];

const toRung = (r: LadderRow): LadderRung => ({
  name: r.name, width: r.width, height: r.height, bitrate: r.bitrate, maxrate: r.maxrate, bufsize: r.bufsize, codecs: r.codecs, droppedFrom: r.dropped_from,
});

export class LadderState {
  constructor(private readonly sql: SqlStorage) {}

  /** A new broadcast's rungs (the previous broadcast's are forgotten). */
  start(rungs: readonly PlannedRung[]): void {
    this.clear();
    for (const r of rungs) {
      this.sql.exec('INSERT INTO ladder (name, width, height, bitrate, maxrate, bufsize) VALUES (?, ?, ?, ?, ?, ?)', r.name, r.width, r.height, r.bitrate, r.maxrate, r.bufsize);
    }
  }

  clear(): void {
    this.sql.exec('DELETE FROM ladder');
    this.sql.exec('DELETE FROM rung_segments');
  }

  /** Every rung, highest first. */
  all(): LadderRung[] {
    return this.sql.exec<LadderRow>('SELECT * FROM ladder ORDER BY height DESC').toArray().map(toRung);
  }

  /** The rungs still encoding, highest first. */
  active(): LadderRung[] {
    return this.all().filter((r) => r.droppedFrom === null);
  }

  /** The newest seq that was pending when a rung was last dropped (-1: never). */
  lastDropMark(): number {
    return this.sql.exec<{ m: number | null }>('SELECT MAX(drop_mark) AS m FROM ladder').one().m ?? -1;
  }

  /** The bytes of each encoded segment of `name`, by seq. */
  segments(name: string): Map<number, number> {
    const rows = this.sql.exec<{ seq: number; bytes: number }>('SELECT seq, bytes FROM rung_segments WHERE name = ?', name).toArray();
    return new Map(rows.map((r) => [r.seq, r.bytes]));
  }

  /**
   * Segment `seq` is encoded in these rungs. A rung's codecs are its first segment's video codec with the pushed
   * rung's audio codecs (the audio is copied): `audioCodecs` is the pushed rung's codecs after the video one.
   */
  record(seq: number, results: readonly LiveRungResult[], audioCodecs: string[]): void {
    for (const r of results) {
      this.sql.exec('INSERT OR REPLACE INTO rung_segments (name, seq, bytes) VALUES (?, ?, ?)', r.name, seq, r.bytes);
      this.sql.exec('UPDATE ladder SET codecs = COALESCE(codecs, ?) WHERE name = ?', [r.videoCodec, ...audioCodecs].join(','), r.name);
    }
  }

  /**
   * `name` is dropped from segment `from` on; `mark` is the newest pending seq at the drop. The segments it has
   * stay (while live its playlist lists them, then gaps); the broadcast's end deletes them.
   */
  drop(name: string, from: number, mark: number): void {
    this.sql.exec('UPDATE ladder SET dropped_from = ?, drop_mark = ? WHERE name = ?', from, mark, name);
  }

  /** The dropped rungs, highest first. */
  dropped(): LadderRung[] {
    return this.all().filter((r) => r.droppedFrom !== null);
  }

  /** A reconnect dropped the segments from `seq` on: so are their encodes. Returns the (rung, seq) pairs removed. */
  forgetFrom(seq: number): { name: string; seq: number }[] {
    const gone = this.sql.exec<{ name: string; seq: number }>('SELECT name, seq FROM rung_segments WHERE seq >= ?', seq).toArray().map((r) => ({ name: r.name, seq: r.seq }));
    this.sql.exec('DELETE FROM rung_segments WHERE seq >= ?', seq);
    return gone;
  }
}

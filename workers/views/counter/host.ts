/**
 * The narrow interface a ViewCounter capability sees of its Durable Object: SQL, a transaction, the clock, the
 * config and the shard's `meta` rows. Capabilities never touch `ctx` or `env` directly, so each can be built over
 * any SQLite store in a test.
 */
import type { Config } from '../../shared/config';

export const HOUR_MS = 3_600_000;

export const hourBucket = (ms: number): number => Math.floor(ms / HOUR_MS) * 3600;

export interface CounterHost {
  readonly sql: SqlStorage;
  readonly config: Config;
  /** Runs `fn` as one local transaction (`ctx.storage.transactionSync`). */
  transaction<T>(fn: () => T): T;
  /** The runtime clock (injectable in tests). */
  now(): number;
}

/** The `meta` key/value rows (shard identity, generation, flush sequence, promotion and handover marks). */
export class Meta {
  constructor(private readonly sql: SqlStorage) {}

  get(key: string): string | number | null {
    const row = this.sql.exec<{ value: string | number | null }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row ? row.value : null;
  }

  num(key: string): number | null {
    const v = this.get(key);
    return typeof v === 'number' ? v : null;
  }

  set(key: string, value: string | number): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, value);
  }
}

/** A capability that has timed work: the object's one alarm gives it a turn and asks when it next needs one. */
export interface AlarmTask {
  /** Does whatever is due at `now` (a task never throws: it records its own failure and reports a retry time). */
  onAlarm(now: number): Promise<void>;
  /** When this task next needs the alarm (runtime clock), or null when it has nothing pending. */
  nextDue(now: number): number | null;
}

/**
 * Per-client allowances (SQLite-backed Durable Object; a fixed pool of them, each holding the counters of the
 * client addresses that hash to it, see allowances.ts).
 *
 * Business rule (views cannot be bought with a loop): one address may open at most `sessionsPerWindow` playback
 * sessions per `sessionWindowSec`, and count at most `viewsPerVideoPerWindow` views of one video per
 * `viewWindowSec`. The allowances are sized for a shared address (an office or a carrier NAT): many real people
 * behind one address still count, each once, up to the allowance; a script behind one address cannot go past it.
 *
 * Why a Durable Object rather than the Workers rate-limiting binding (`[[ratelimits]]`, which wrangler 4.86 and
 * Miniflare do support): the binding's period is 10 or 60 seconds only and its limit is fixed in wrangler.toml, not
 * in vars; and in production it is counted per Cloudflare location and eventually consistent, so it is a flood
 * brake, not a bound. An allowance of views per video per hour that must hold exactly ("at most N") needs one
 * place that decides per address, which is what the object holding that address's counters is. Its cost is one RPC on events that would count
 * (too-short and invalid beacons are refused before it) and one per playback session.
 *
 * Fixed windows per counter, starting at the counter's first take (not aligned to the clock, so a burst is not
 * split across a global boundary and granted twice); a take that would exceed the allowance writes nothing. A `refund` gives a slot back (a view the shard then found duplicate).
 * Rows of past windows are swept by alarm, and an object with nothing live deletes its storage.
 */
import { meterEnv } from '../metering/metered-env';
import { DurableObject } from 'cloudflare:workers';
import { runtime } from '../shared/runtime';

export type TakeResult = { status: 'ok'; windowStart: number } | { status: 'limited'; retryAfterSec: number } | { status: 'failed'; error: string };

export class ClientLimiter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, meterEnv(env));
    this.sql = ctx.storage.sql;
    this.createSchema();
  }

  private createSchema(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS windows (name TEXT PRIMARY KEY, window_start INTEGER NOT NULL,
      window_end INTEGER NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID`);
  }

  /** Takes one slot of `name` (at most `limit` per `windowSec`), or says how long until the next window. */
  async take(name: string, limit: number, windowSec: number): Promise<TakeResult> {
    try {
      const now = runtime().now();
      const windowMs = windowSec * 1000;
      // The check and the increment are one statement: no await between deciding and writing. A window that has
      // ended starts afresh at this take (SET expressions all read the old row).
      const written = this.sql.exec(
        `INSERT INTO windows (name, window_start, window_end, count) VALUES (?1, ?2, ?2 + ?3, 1)
         ON CONFLICT (name) DO UPDATE SET
           window_start = CASE WHEN window_end <= ?2 THEN ?2 ELSE window_start END,
           window_end = CASE WHEN window_end <= ?2 THEN ?2 + ?3 ELSE window_end END,
           count = CASE WHEN window_end <= ?2 THEN 1 ELSE count + 1 END
         WHERE window_end <= ?2 OR count < ?4`,
        name,
        now,
        windowMs,
        limit,
      ).rowsWritten;
      const row = this.sql.exec<{ window_start: number; window_end: number }>('SELECT window_start, window_end FROM windows WHERE name = ?', name).one();
      if (written === 0) return { status: 'limited', retryAfterSec: Math.max(1, Math.ceil((row.window_end - now) / 1000)) };
      await this.ensureAlarm(row.window_end);
      return { status: 'ok', windowStart: row.window_start };
    } catch (err) {
      return { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Gives back a slot taken in the window starting at `windowStart` (no-op once that window is gone). */
  refund(name: string, windowStart: number): void {
    this.sql.exec('UPDATE windows SET count = count - 1 WHERE name = ? AND window_start = ? AND count > 0', name, windowStart);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = runtime().now();
    this.sql.exec('DELETE FROM windows WHERE window_end <= ?', now);
    const next = this.sql.exec<{ t: number | null }>('SELECT MIN(window_end) AS t FROM windows').one().t;
    if (next === null) {
      await this.ctx.storage.deleteAll();
      this.createSchema();
    } else await this.ensureAlarm(next);
  }

  /** Alarms fire by the wall clock; carry the delay over from the runtime clock (tests inject one). */
  private async ensureAlarm(at: number): Promise<void> {
    const wallAt = Date.now() + Math.max(0, at - runtime().now());
    if (this.alarmAt !== null && this.alarmAt <= wallAt + 60_000) return;
    this.alarmAt = wallAt;
    await this.ctx.storage.setAlarm(wallAt);
  }
}

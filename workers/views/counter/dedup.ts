/**
 * Dedup: the `dedup` (viewer → window expiry) and `sessions` (playback session → expiry) tables.
 *
 * Business rule: one view per (viewer, video) per `dedupWindowMs` (30 minutes: the view rule's window, long enough
 * to absorb reloads and replays, short enough that a real rewatch later in the day counts), and one view per
 * playback session on top of it, so one session cannot count under many made-up viewer ids. Both are checked in the
 * counting transaction. Expired entries are swept by the alarm, at most every `dedupSweepIntervalMs`, so storage is
 * bounded by the viewers of the last window; lookups also check the expiry, so correctness never depends on the
 * sweep having run. On a promoted video a session and its viewer can belong to different shards: the session's
 * own shard (routing.ts `sessionShardFor`) then claims the session first (`claimSession`), the viewer's shard counts
 * with the session already decided, and the claim is given back when the view does not count, so one session counts
 * at most one view however many viewer ids it is sent with.
 */
import type { AlarmTask, CounterHost } from './host';

export type DedupOutcome = 'fresh' | 'duplicate' | 'session_used';

export class Dedup implements AlarmTask {
  private lastSweep = 0;

  constructor(private readonly host: CounterHost) {}

  /**
   * Inside the caller's transaction: refuses a used session or a viewer inside its window, else records both.
   * The duplicate check and the dedup record are one statement: the upsert writes only when the viewer has no live
   * entry (new, or expired and not yet swept).
   */
  claim(viewerId: string, sessionId: string | null, sessionExpiresAt: number, now: number): DedupOutcome {
    const sql = this.host.sql;
    if (sessionId !== null && this.sessionUsed(sessionId, now)) return 'session_used';
    const dedup = sql.exec(
      `INSERT INTO dedup (viewer, expires_at) VALUES (?1, ?2)
       ON CONFLICT (viewer) DO UPDATE SET expires_at = excluded.expires_at WHERE dedup.expires_at <= ?3`,
      viewerId,
      now + this.host.config.views.dedupWindowMs,
      now,
    );
    if (dedup.rowsWritten === 0) return 'duplicate';
    if (sessionId !== null) sql.exec('INSERT OR REPLACE INTO sessions (session, expires_at) VALUES (?, ?)', sessionId, sessionExpiresAt);
    return 'fresh';
  }

  private sessionUsed(sessionId: string, now: number): boolean {
    return this.host.sql.exec('SELECT 1 FROM sessions WHERE session = ? AND expires_at > ?', sessionId, now).toArray().length > 0;
  }

  /** The session's own shard: takes the session for one view (a viewer's shard elsewhere then counts it). */
  claimSession(sessionId: string, sessionExpiresAt: number, now: number): 'fresh' | 'session_used' {
    if (this.sessionUsed(sessionId, now)) return 'session_used';
    this.host.sql.exec('INSERT OR REPLACE INTO sessions (session, expires_at) VALUES (?, ?)', sessionId, sessionExpiresAt);
    return 'fresh';
  }

  /** Gives a claimed session back: the view it was claimed for did not count. */
  releaseSession(sessionId: string): void {
    this.host.sql.exec('DELETE FROM sessions WHERE session = ?', sessionId);
  }

  /** Live viewer entries (for a promotion handover). */
  liveEntries(now: number): { viewer: string; expiresAt: number }[] {
    return this.host.sql
      .exec<{ viewer: string; expires_at: number }>('SELECT viewer, expires_at FROM dedup WHERE expires_at > ?', now)
      .toArray()
      .map((r) => ({ viewer: r.viewer, expiresAt: r.expires_at }));
  }

  /** Live playback sessions (for a promotion handover). */
  liveSessions(now: number): { session: string; expiresAt: number }[] {
    return this.host.sql
      .exec<{ session: string; expires_at: number }>('SELECT session, expires_at FROM sessions WHERE expires_at > ?', now)
      .toArray()
      .map((r) => ({ session: r.session, expiresAt: r.expires_at }));
  }

  /** Adds handed-over sessions (inside the caller's transaction). */
  importSessions(sessions: readonly { session: string; expiresAt: number }[]): void {
    for (const s of sessions) {
      this.host.sql.exec('INSERT INTO sessions (session, expires_at) VALUES (?, ?) ON CONFLICT (session) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)', s.session, s.expiresAt);
    }
  }

  /** Adds handed-over entries (inside the caller's transaction), keeping the later expiry of a viewer already here. */
  importEntries(entries: readonly { viewer: string; expiresAt: number }[]): void {
    for (const e of entries) {
      this.host.sql.exec(
        'INSERT INTO dedup (viewer, expires_at) VALUES (?, ?) ON CONFLICT (viewer) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
        e.viewer,
        e.expiresAt,
      );
    }
  }

  async onAlarm(now: number): Promise<void> {
    if (now - this.lastSweep < this.host.config.views.dedupSweepIntervalMs) return;
    this.host.sql.exec('DELETE FROM dedup WHERE expires_at <= ?', now);
    this.host.sql.exec('DELETE FROM sessions WHERE expires_at <= ?', now);
    this.lastSweep = now;
  }

  /** The first expiry, but not before the sweep interval since the last sweep. */
  nextDue(): number | null {
    const sql = this.host.sql;
    const dedup = sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM dedup').one().t;
    const sessions = sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM sessions').one().t;
    const first = dedup === null ? sessions : sessions === null ? dedup : Math.min(dedup, sessions);
    return first === null ? null : Math.max(first, this.lastSweep + this.host.config.views.dedupSweepIntervalMs);
  }
}

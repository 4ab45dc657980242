/**
 * Analytics outbox: counted views are written to `outbox` in the counting transaction and sent to the analytics
 * queue in batches of `analyticsBatchSize`, when a batch fills or by the alarm within `analyticsMaxDelayMs`. A failed
 * send keeps the rows for the next alarm; past `OUTBOX_MAX` rows the oldest are dropped (analytics is best-effort,
 * the counts are not).
 */
import { enqueueViewEvents, type AnalyticsSink, type ViewAnalyticsEvent } from '../analytics';
import type { AlarmTask, CounterHost } from './host';

const OUTBOX_MAX = 100_000;

/** Where batches go (the `ANALYTICS_QUEUE` binding in production; a test's recorder). */
export type { AnalyticsSink } from '../analytics';

export class Outbox implements AlarmTask {
  /** Rows in `outbox` (memory; loaded from storage on start). */
  private size: number;
  private draining = false;

  constructor(
    private readonly host: CounterHost,
    private readonly sink: AnalyticsSink,
  ) {
    this.size = host.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
  }

  /** Queues an event (inside the caller's transaction). */
  append(event: ViewAnalyticsEvent, now: number): void {
    this.host.sql.exec('INSERT INTO outbox (body, created_at) VALUES (?, ?)', JSON.stringify(event), now);
    this.size++;
  }

  /** Whether a full batch is waiting (the caller then drains without waiting for the alarm). */
  get batchReady(): boolean {
    return this.size >= this.host.config.views.analyticsBatchSize;
  }

  /** Sends everything waiting, in batches; never throws (a failed send is retried by the next alarm). */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const sql = this.host.sql;
    try {
      const size = this.host.config.views.analyticsBatchSize;
      const excess = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n - OUTBOX_MAX;
      if (excess > 0) {
        console.warn(`analytics outbox over ${OUTBOX_MAX}; dropping the ${excess} oldest events`);
        sql.exec('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)', excess);
        this.size -= excess;
      }
      for (;;) {
        const rows = sql.exec<{ id: number; body: string }>('SELECT id, body FROM outbox ORDER BY id LIMIT ?', size).toArray();
        if (rows.length === 0) break;
        await enqueueViewEvents(this.sink, rows.map((r) => JSON.parse(r.body) as ViewAnalyticsEvent));
        sql.exec('DELETE FROM outbox WHERE id <= ?', rows[rows.length - 1]!.id);
        this.size = sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
        if (rows.length < size) break;
      }
    } catch (err) {
      console.error('sending analytics batch failed; kept for the next alarm', err);
    } finally {
      this.draining = false;
    }
  }

  /** Every alarm sends whatever is waiting. */
  onAlarm(): Promise<void> {
    return this.drain();
  }

  /** The oldest row's deadline, but not sooner than a second from now (a failed send is not retried in a loop). */
  nextDue(now: number): number | null {
    const oldest = this.host.sql.exec<{ t: number | null }>('SELECT MIN(created_at) AS t FROM outbox').one().t;
    return oldest === null ? null : Math.max(now + 1000, oldest + this.host.config.views.analyticsMaxDelayMs);
  }
}

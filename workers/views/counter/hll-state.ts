/**
 * Unique viewers: the `hll` table holds the non-zero HyperLogLog registers of all-time viewers (scope 0) and of each
 * unflushed hour (scope = hour start, epoch seconds), with the sketches cached in memory. Adding a viewer persists
 * only the registers it raised (usually none once a sketch fills). All-time registers survive flushes, so unique
 * viewers are never lost; an hour's registers are dropped once that closed hour is flushed.
 */
import { hashViewer, sketchFromRows, type ViewerSketch } from '../hll';
import type { CounterHost } from './host';

const ALL_TIME = 0;

export class HllState {
  private readonly allTime: ViewerSketch;
  private readonly hours = new Map<number, ViewerSketch>();

  constructor(private readonly host: CounterHost) {
    this.allTime = this.load(ALL_TIME);
  }

  /** Adds a viewer to the all-time and the hour's sketch (inside the caller's transaction). */
  add(viewerId: string, hour: number): void {
    const hash = hashViewer(viewerId);
    for (const [scope, sketch] of [
      [ALL_TIME, this.allTime],
      [hour, this.hour(hour)],
    ] as const) {
      const raised = sketch.add(hash);
      if (raised) this.host.sql.exec('INSERT OR REPLACE INTO hll (scope, idx, val) VALUES (?, ?, ?)', scope, raised.index, raised.value);
    }
  }

  /** Unique viewers of an hour (its sketch since its last flush). */
  hourUniques(hour: number): number {
    return this.hour(hour).count();
  }

  /** The all-time registers, or null when the shard has never counted anyone. */
  allTimeRegisters(): Uint8Array | null {
    return this.allTime.isEmpty() ? null : this.allTime.registers();
  }

  /** Drops a final hour's registers (inside the caller's transaction). */
  dropHour(hour: number): void {
    this.host.sql.exec('DELETE FROM hll WHERE scope = ?', hour);
    this.hours.delete(hour);
  }

  private hour(hour: number): ViewerSketch {
    let sketch = this.hours.get(hour);
    if (!sketch) {
      sketch = this.load(hour);
      this.hours.set(hour, sketch);
    }
    return sketch;
  }

  private load(scope: number): ViewerSketch {
    const rows = this.host.sql.exec<{ idx: number; val: number }>('SELECT idx, val FROM hll WHERE scope = ?', scope);
    return sketchFromRows(this.host.config.views.hllPrecision, rows);
  }
}

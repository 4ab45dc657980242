/** Test subclasses of the Durable Objects (exported under the production names by test-entry.ts). */
import { ViewCounter } from '../../workers/views/view-counter';
import type { FlushTarget } from '../../workers/views/counter/flusher';
import type { AlarmStore } from '../../workers/views/counter/scheduler';

/** How much later than asked a test shard's alarm is set on the wall clock: far past any test's length. */
const ALARM_HELD_MS = 365 * 86_400_000;

export interface FlushFaults {
  /** Runs after a flush batch is written to D1 and before the shard clears it: throw to simulate a crash there. */
  afterD1Write?: () => void;
}

/**
 * The view-counter shard of the workerd tests: flush faults can be injected, and its alarms fire only when a test
 * runs them (`runDurableObjectAlarm`). The runtime fires alarms by the wall clock, so a shard's alarm (its outbox is
 * due seconds after a counted view) would otherwise run at a moment no test controls: between the reads of a stats
 * request (a view shown twice, as the stats code documents), or just before a test's own `runDurableObjectAlarm`,
 * which then finds no alarm. The scheduler still sees the times it asked for.
 */
export class TestViewCounter extends ViewCounter {
  readonly faults: FlushFaults = {};

  protected override alarmStore(): AlarmStore {
    const storage = this.ctx.storage;
    return {
      getAlarm: async () => {
        const at = await storage.getAlarm();
        return at === null ? null : at - ALARM_HELD_MS;
      },
      setAlarm: (at) => storage.setAlarm(at + ALARM_HELD_MS),
    };
  }

  protected override flushTarget(): FlushTarget {
    const d1 = super.flushTarget();
    return {
      ...d1,
      apply: async (batch) => {
        await d1.apply(batch);
        this.faults.afterD1Write?.();
      },
    };
  }
}

/** The fault switches of a shard instance (inside `runInDurableObject`); fails loudly if the test entry is not in use. */
export function faultsOf(instance: ViewCounter): FlushFaults {
  if (!(instance instanceof TestViewCounter)) throw new Error('ViewCounter is not the test subclass: is vitest `main` test/workers/test-entry.ts?');
  return instance.faults;
}

/** Test subclasses of the Durable Objects (exported under the production names by test-entry.ts). */
import { ViewCounter } from '../../workers/views/view-counter';
import type { FlushTarget } from '../../workers/views/counter/flusher';

export interface FlushFaults {
  /** Runs after a flush batch is written to D1 and before the shard clears it: throw to simulate a crash there. */
  afterD1Write?: () => void;
}

export class TestViewCounter extends ViewCounter {
  readonly faults: FlushFaults = {};

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

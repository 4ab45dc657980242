/**
 * The object's one alarm, shared by its capabilities (dedup sweep, outbox, flush). Each alarm gives every task its
 * turn in order, then sets the alarm for the earliest of their next-due times; `wake(at)` moves the alarm earlier
 * when a capability gets work between alarms (a counted view, a handover).
 */
import type { AlarmTask } from './host';

/** The alarm side of `ctx.storage`. */
export interface AlarmStore {
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
}

export class AlarmScheduler {
  /** The alarm this object has set (wall clock), as far as it knows. */
  private alarmAt: number | null = null;

  constructor(
    private readonly store: AlarmStore,
    private readonly tasks: readonly AlarmTask[],
    private readonly now: () => number,
  ) {}

  async onAlarm(): Promise<void> {
    this.alarmAt = null;
    const now = this.now();
    for (const task of this.tasks) {
      try {
        await task.onAlarm(now);
      } catch (err) {
        console.error('ViewCounter alarm task failed; will retry', err);
      }
    }
    let next = Infinity;
    for (const task of this.tasks) next = Math.min(next, task.nextDue(now) ?? Infinity);
    if (next !== Infinity) await this.wake(next);
  }

  /**
   * Makes sure the alarm fires by `at` (runtime clock). The runtime fires alarms by the wall clock, so the delay
   * (not the instant) is carried over: with an injected clock in tests, alarms still fire after the intended delay.
   */
  async wake(at: number): Promise<void> {
    const wallAt = Date.now() + Math.max(0, at - this.now());
    if (this.alarmAt !== null && this.alarmAt <= wallAt) return;
    if (this.alarmAt === null) {
      const existing = await this.store.getAlarm();
      if (existing !== null && existing <= wallAt) {
        this.alarmAt = existing;
        return;
      }
    }
    this.alarmAt = wallAt;
    await this.store.setAlarm(wallAt);
  }
}

/**
 * The billable operations this platform performs, counted where they happen (metered-env.ts wraps the bindings;
 * the edge cache and the transcoding callback count their own) into this isolate's memory. store.ts adds them to
 * D1 at most once a minute in one batched write: counting costs no I/O per operation.
 *
 * Kinds, and what one unit is:
 * - `worker.requests`, `worker.wall_ms`: HTTP requests into the Worker (entry points, index.ts) and their wall time.
 *   Workers bill CPU time, which workerd does not expose (timers stand still between I/O): docs/cost.md prices CPU
 *   from a stated figure per request.
 * - `worker.queue_batches`, `worker.crons`: queue consumer and cron invocations.
 * - `do.requests`, `do.wall_ms`: calls into Durable Objects (each stub call is one billed request) and their wall
 *   time seen by the caller (an upper bound of the object's billed active duration).
 * - `d1.queries`, `d1.rows_read`, `d1.rows_written`: from each result's `meta` (`rows_read`, `rows_written`); a
 *   query answered without meta (`raw()`, `first()`: drizzle's selects) counts the rows it returned as read, a
 *   lower bound.
 * - `r2.class_a`, `r2.class_b`, `r2.deletes`: R2 operations by price class (put, list, multipart create/part/
 *   complete are class A; get and head class B; deletes are free).
 * - `queue.messages`: messages sent, per 64 KB (each is written, read and deleted: three billed operations).
 * - `cache.hits`, `cache.misses`: playback objects served from the edge cache vs read from R2.
 * - `container.vcpu_sec`, `container.wall_sec`: the transcoder's ffmpeg CPU seconds and the jobs' wall seconds, as
 *   its own accounting reports them with each result.
 */
export const OPERATION_KINDS = [
  'worker.requests',
  'worker.wall_ms',
  'worker.queue_batches',
  'worker.crons',
  'do.requests',
  'do.wall_ms',
  'd1.queries',
  'd1.rows_read',
  'd1.rows_written',
  'r2.class_a',
  'r2.class_b',
  'r2.deletes',
  'queue.messages',
  'cache.hits',
  'cache.misses',
  'container.vcpu_sec',
  'container.wall_sec',
] as const;

export type OperationKind = (typeof OPERATION_KINDS)[number];
export type OperationCounts = Partial<Record<OperationKind, number>>;

/** Counted here, not yet flushed. Module state: one per isolate (a Worker isolate, or a Durable Object's). */
const pending = new Map<OperationKind, number>();

export function countOperation(kind: OperationKind, amount = 1): void {
  if (!(amount > 0)) return;
  pending.set(kind, (pending.get(kind) ?? 0) + amount);
}

/** What is pending, taken out (store.ts flushes it, and puts it back with `restoreOperations` if the write fails). */
export function takeOperations(): OperationCounts {
  const out: OperationCounts = Object.fromEntries(pending);
  pending.clear();
  return out;
}

export function restoreOperations(counts: OperationCounts): void {
  for (const [kind, amount] of Object.entries(counts) as [OperationKind, number][]) countOperation(kind, amount);
}

export const hasPendingOperations = () => pending.size > 0;

/** A transcoder job's own accounting (its result's `usage`), counted as container seconds. */
export function countJobUsage(usage: { cpuSec: number; wallSec: number } | undefined): void {
  if (!usage) return;
  countOperation('container.vcpu_sec', usage.cpuSec);
  countOperation('container.wall_sec', usage.wallSec);
}

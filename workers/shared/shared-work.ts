/**
 * Work shared between the requests of one isolate (module-level caches, single flights, batched flushes).
 *
 * In workerd a promise belongs to the request that created it. A request that awaits another request's promise
 * while nothing of its own is pending can be cancelled with a 500, "the Workers runtime canceled this request
 * because it detected that your Worker's code had hung", and the continuations of a request that has finished are
 * dropped. Under load that happened to about 1 segment request in 2,000 at the moment a shared policy read was
 * in flight. So:
 * - requests share values, not reads in flight: on a miss each request reads for itself and stores what it read;
 * - where a request does wait on another's work (the edge cache's and the metadata cache's single flight, a flush
 *   already running), the wait is bounded by a timer of its own (`waitAtMost`), and on timeout the request does
 *   the work itself or goes on without it.
 */

/** `promise`'s value, or 'timeout' once `ms` have passed; the timer is the waiting request's own. */
export function waitAtMost<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** How long a forced flush waits for one that another request is running before it writes anyway. */
const FORCED_FLUSH_WAIT_MS = 5000;

/**
 * One batched flush at a time per isolate (a buffer of counts written to D1 now and then). While another request's
 * flush runs, `mayStart(false)` says no (its promise is that request's); `mayStart(true)` waits for it, bounded,
 * and then says yes. `run` marks the flush this request starts as the running one until it settles.
 */
export function flushGate() {
  let running: Promise<unknown> | null = null;
  return {
    async mayStart(force: boolean): Promise<boolean> {
      if (!running) return true;
      if (!force) return false;
      await waitAtMost(running, FORCED_FLUSH_WAIT_MS);
      return true;
    },
    run<T>(flush: Promise<T>): Promise<T> {
      running = flush;
      void flush.finally(() => {
        if (running === flush) running = null;
      });
      return flush;
    },
  };
}

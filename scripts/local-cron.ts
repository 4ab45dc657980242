/**
 * Cron triggers for a local `wrangler dev`, which does not fire them by itself. `npm start` runs wrangler with
 * `--test-scheduled`, whose `/__scheduled?cron=…` route runs the Worker's own scheduled handler (workers/scheduled.ts)
 * inside the Worker; `/cdn-cgi/handler/scheduled` cannot be used here: with an [assets] section it reaches the
 * assets router, which has no scheduled handler, and answers 500. A failure is an error, never ignored.
 */
export interface CronSpec {
  expr: string;
  due: (d: Date) => boolean;
}

/** The schedules of wrangler.toml [triggers]. */
export const CRONS: CronSpec[] = [
  { expr: '*/5 * * * *', due: (d) => d.getUTCMinutes() % 5 === 0 },
  { expr: '0 * * * *', due: (d) => d.getUTCMinutes() === 0 },
];

/** Runs one cron on the local Worker; throws with the Worker's answer unless it succeeded. */
export async function fireCron(origin: string, expr: string): Promise<void> {
  const url = `${origin}/__scheduled?cron=${encodeURIComponent(expr)}`;
  // A kept-alive connection that wrangler dev closed while it was idle fails as it is reused ("other side
  // closed"): one more attempt, on a new connection. A repeat is harmless: the crons sweep and flush idempotently.
  const res = await fetch(url).catch(() => fetch(url));
  const body = await res.text();
  if (!res.ok) throw new Error(`cron "${expr}" failed: HTTP ${res.status} ${body.slice(0, 300)}`);
}

/** Fires every due cron at the start of each minute; `onError` hears about each failure. */
export function startCronTicker(origin: string, onError: (err: Error) => void): () => void {
  let timer: NodeJS.Timeout;
  const schedule = () => {
    timer = setTimeout(async () => {
      const at = new Date();
      for (const cron of CRONS) {
        if (!cron.due(at)) continue;
        await fireCron(origin, cron.expr).catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));
      }
      schedule();
    }, 60_000 - (Date.now() % 60_000) + 50);
    timer.unref();
  };
  schedule();
  return () => clearTimeout(timer);
}

/**
 * Dispatched jobs: the transcoder answers 202 at once and reports through the job's callback URL, so no Worker
 * invocation waits for an encode.
 *
 * - `Slots` bounds the jobs that run at once (`TRANSCODER_CONCURRENCY`; one per container instance in production,
 *   where each job unit has its own instance). A job waiting for a slot keeps reporting progress 0, so its lease
 *   stays alive while it queues.
 * - `CallbackReporter` posts the latest progress every `intervalMs` (a heartbeat: it extends the lease even while
 *   ffmpeg is seeking and reports nothing), then exactly one final `result` or `error`, retried with backoff on
 *   network errors and 5xx. A 409 (this claim was taken over) or 410 (the video is gone) aborts the job.
 *   A job's `partial` result (what is already usable: the audio segments uploaded so far) rides on the next
 *   progress post, sent at once unless one went out less than `PARTIAL_MIN_INTERVAL_MS` ago.
 */
import type { CallbackBody, CallbackSpec, JobEvent } from './protocol';

export class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.running < this.max) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', cancel);
        this.running++;
        resolve();
      };
      const cancel = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error('job cancelled while queued'));
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next();
  }

  get busy(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }
}

export function isCallbackSpec(v: unknown): v is CallbackSpec {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c.url === 'string' && /^https?:\/\//.test(c.url) && typeof c.jobId === 'string' && typeof c.claim === 'number';
}

/** Partial results are posted at most this often outside the heartbeat (each one makes the Worker rebuild playlists). */
const PARTIAL_MIN_INTERVAL_MS = 1000;

export class CallbackReporter {
  private latest = 0;
  /** The newest partial result not yet delivered (`undefined`: none pending). */
  private pendingPartial: unknown = undefined;
  private lastPartialPost = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private sending = false;

  constructor(
    private readonly spec: CallbackSpec,
    private readonly token: string,
    private readonly abort: AbortController,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    void this.post({ type: 'progress', progress: 0 });
    this.timer = setInterval(() => {
      if (this.sending) return;
      this.sending = true;
      void this.post({ type: 'progress', progress: this.latest }).finally(() => {
        this.sending = false;
      });
    }, this.intervalMs);
  }

  progress(fraction: number): void {
    this.latest = Math.round(Math.max(0, Math.min(1, fraction)) * 1000) / 1000;
  }

  /** A new partial result: posted now, or with the next heartbeat if one went out less than a second ago. */
  partial(value: unknown): void {
    this.pendingPartial = value;
    if (Date.now() - this.lastPartialPost >= PARTIAL_MIN_INTERVAL_MS) void this.post({ type: 'progress', progress: this.latest }).catch(() => undefined);
  }

  private async post(event: JobEvent<unknown>): Promise<number> {
    const partial = event.type === 'progress' ? this.pendingPartial : undefined;
    if (partial !== undefined && event.type === 'progress') {
      event = { ...event, partial };
      this.pendingPartial = undefined;
      this.lastPartialPost = Date.now();
    }
    // Not delivered: send it again with the next post, unless a newer one came meanwhile.
    const undelivered = () => {
      if (partial !== undefined && this.pendingPartial === undefined) this.pendingPartial = partial;
    };
    try {
      const status = await this.deliver(event);
      if (status >= 500) undelivered();
      return status;
    } catch (err) {
      undelivered();
      throw err;
    }
  }

  private async deliver(event: JobEvent<unknown>): Promise<number> {
    const body: CallbackBody = { jobId: this.spec.jobId, claim: this.spec.claim, event };
    const res = await fetch(this.spec.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 409 || res.status === 410) {
      console.warn(`callback for ${this.spec.jobId}: ${res.status}, stopping the job`);
      this.abort.abort();
    }
    return res.status;
  }

  /** The final event, delivered at least once unless the Worker refuses it (4xx) or stays unreachable. */
  async finish(event: JobEvent<unknown>): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const status = await this.post(event);
        if (status < 500) return;
      } catch (err) {
        console.warn(`callback for ${this.spec.jobId} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
    // Lost: the job's lease expires and the Worker redoes it.
    console.error(`callback for ${this.spec.jobId} could not be delivered; the lease will expire and the job be redone`);
  }
}

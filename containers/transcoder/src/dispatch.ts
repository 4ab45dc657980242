/**
 * Dispatched jobs: the transcoder answers 202 at once and reports through the job's callback URL, so no Worker
 * invocation waits for an encode.
 *
 * - `Slots` bounds the jobs that run at once (`TRANSCODER_CONCURRENCY`; one per container instance in production,
 *   where each job unit has its own instance). A job waiting for a slot keeps reporting progress 0, so its lease
 *   stays alive while it queues.
 * - `CallbackReporter` posts the progress every `intervalMs` when it changed, and the unchanged value every
 *   `KEEPALIVE_EVERY` intervals (a heartbeat: it extends the lease — minutes — even while ffmpeg is seeking or the
 *   job is queued for a slot, without a D1 write every 2 s for every queued job: on a small machine the Worker's own
 *   CPU competes with the encodes), then exactly one final `result` or `error`, retried (bounded) on network errors
 *   and 5xx. A 409 (this claim was taken over) or 410 (the video is gone) aborts the job.
 *   A job's `partial` result (what is already usable: the audio segments uploaded so far) rides on the next
 *   progress post, sent at once unless one went out less than `PARTIAL_MIN_INTERVAL_MS` ago.
 */
import type { CallbackBody, CallbackSpec, JobEvent } from './protocol';

/**
 * Job slots. Waiting jobs are served by priority, then in arrival order. The server gives every job priority 0:
 * the storyboard, which used to be served ahead of queued encodes, is now a light job with slots of its own.
 */
export class Slots {
  private running = 0;
  private readonly waiting: { grant: () => void; priority: number }[] = [];

  constructor(private readonly max: number) {}

  async acquire(signal: AbortSignal, priority = 0): Promise<void> {
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
        const i = this.waiting.findIndex((w) => w.grant === grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error('job cancelled while queued'));
      };
      const at = this.waiting.findIndex((w) => w.priority < priority);
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, { grant, priority });
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next.grant();
  }

  get busy(): number {
    return this.running;
  }

  /** Slots a new job would get at once (none while jobs are queued). */
  get free(): number {
    return this.waiting.length > 0 ? 0 : Math.max(0, this.max - this.running);
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

/** One callback POST is given up after this long (a hung connection must not hold the job's final event). */
const POST_TIMEOUT_MS = 30_000;
/** An unchanged progress is re-sent every this many intervals (10 s at the default 2 s; the lease is minutes). */
const KEEPALIVE_EVERY = 5;
/** Partial results are posted at most this often outside the heartbeat (each one makes the Worker rebuild playlists). */
const PARTIAL_MIN_INTERVAL_MS = 1000;

export class CallbackReporter {
  private latest = 0;
  private sent = -1;
  private ticks = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private sending = false;
  private finished = false;
  /** The newest partial result not yet delivered (`undefined`: none pending). */
  private pendingPartial: unknown = undefined;
  private lastPartialPost = 0;

  constructor(
    private readonly spec: CallbackSpec,
    private readonly token: string,
    private readonly abort: AbortController,
    private readonly intervalMs: number,
    /** Backoff before retry n of the final event (0-based); a parameter so tests need not wait for it. */
    private readonly retryDelayMs: (attempt: number) => number = (attempt) => 500 * 2 ** attempt,
    private readonly finalAttempts = 6,
  ) {}

  start(): void {
    void this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), this.intervalMs);
  }

  progress(fraction: number): void {
    this.latest = Math.round(Math.max(0, Math.min(1, fraction)) * 1000) / 1000;
  }

  /** A new partial result: posted now, or with the next heartbeat if one went out less than a second ago. */
  partial(value: unknown): void {
    this.pendingPartial = value;
    if (Date.now() - this.lastPartialPost >= PARTIAL_MIN_INTERVAL_MS) void this.heartbeat(true);
  }

  /**
   * A progress heartbeat. Never rejects: a lost heartbeat is harmless (the next one, or the final event, follows),
   * and a rejection nobody awaits ("other side closed" when the Worker restarts) would kill the whole process.
   */
  private async heartbeat(force = false): Promise<void> {
    if (this.sending || this.finished) return;
    const due = force || this.pendingPartial !== undefined || this.latest !== this.sent;
    if (!due && ++this.ticks < KEEPALIVE_EVERY) return;
    this.sending = true;
    this.ticks = 0;
    const progress = this.latest;
    try {
      await this.post({ type: 'progress', progress });
      this.sent = progress;
    } catch (err) {
      console.warn(`progress callback for ${this.spec.jobId} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.sending = false;
    }
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
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 409 || res.status === 410) {
      console.warn(`callback for ${this.spec.jobId}: ${res.status}, stopping the job`);
      this.abort.abort();
    }
    return res.status;
  }

  /**
   * The final event, delivered at least once unless the Worker refuses it (4xx) or stays unreachable for every one
   * of `finalAttempts` tries (then the job's lease expires and the Worker redoes it). Never rejects.
   */
  async finish(event: JobEvent<unknown>): Promise<void> {
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    for (let attempt = 0; attempt < this.finalAttempts; attempt++) {
      try {
        const status = await this.post(event);
        if (status < 500) return;
        console.warn(`callback for ${this.spec.jobId} answered ${status}`);
      } catch (err) {
        console.warn(`callback for ${this.spec.jobId} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (attempt + 1 < this.finalAttempts) await new Promise((r) => setTimeout(r, this.retryDelayMs(attempt)));
    }
    // Lost: the job's lease expires and the Worker redoes it.
    console.error(`callback for ${this.spec.jobId} could not be delivered; the lease will expire and the job be redone`);
  }
}

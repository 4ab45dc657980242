/**
 * The narrow interface an UploadSession capability sees of its Durable Object: SQL, a transaction, the clock, the
 * media bucket and the object's alarm. Capabilities never touch `ctx` or `env` directly.
 */
export interface SessionHost {
  readonly sql: SqlStorage;
  /** Runs `fn` as one local transaction (`ctx.storage.transactionSync`). */
  transaction<T>(fn: () => T): T;
  /** The runtime clock (injectable in tests). */
  now(): number;
  /** Where the bytes are (R2: multipart uploads, staged tails, assembled partials). */
  readonly media: R2Bucket;
  setAlarm(at: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

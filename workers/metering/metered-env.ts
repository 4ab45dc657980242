/**
 * The bindings, counted: `meterEnv(env)` returns the same environment with R2, D1, the queues and the Durable Object
 * namespaces wrapped so every operation counts itself (operations.ts) as it is made. The entry points (index.ts) and
 * the Durable Object classes' constructors wrap their `env` once; everything below them uses what they pass on and
 * counts without knowing. The transcoder's container namespace is left as it is (its calls are the container's
 * own accounting, counted from job results).
 *
 * Every counted operation also gives the isolate a chance to flush (store.ts: at most once a minute, on the raw D1
 * binding, so the flush never counts itself).
 */
import { countOperation, type OperationKind } from './operations';
import { flushOperations } from './store';

const METERED = Symbol('metered');

type Metered<T> = T & { [METERED]?: true };

function counter(raw: D1Database) {
  return (kind: OperationKind, amount = 1) => {
    countOperation(kind, amount);
    void flushOperations(raw);
  };
}

type Count = ReturnType<typeof counter>;

function meterMultipart(upload: R2MultipartUpload, count: Count): R2MultipartUpload {
  return new Proxy(upload, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'uploadPart' || prop === 'complete') {
        return (...args: unknown[]) => {
          count('r2.class_a');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (prop === 'abort') return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** R2 by price class (Cloudflare R2 pricing: class A writes and lists, class B reads, deletes free). */
const R2_CLASS: Record<string, OperationKind> = {
  put: 'r2.class_a',
  list: 'r2.class_a',
  createMultipartUpload: 'r2.class_a',
  get: 'r2.class_b',
  head: 'r2.class_b',
  delete: 'r2.deletes',
};

export function meterBucket(bucket: R2Bucket, count: Count): R2Bucket {
  return new Proxy(bucket, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      const kind = typeof prop === 'string' ? R2_CLASS[prop] : undefined;
      if (prop === 'delete') {
        return (keys: string | string[]) => {
          count('r2.deletes', Array.isArray(keys) ? keys.length : 1);
          return fn.call(target, keys);
        };
      }
      if (prop === 'createMultipartUpload') {
        return async (...args: unknown[]) => {
          count('r2.class_a');
          return meterMultipart((await fn.apply(target, args)) as R2MultipartUpload, count);
        };
      }
      if (prop === 'resumeMultipartUpload') return (...args: unknown[]) => meterMultipart(fn.apply(target, args) as R2MultipartUpload, count);
      if (!kind) return fn.bind(target);
      return (...args: unknown[]) => {
        count(kind);
        return fn.apply(target, args);
      };
    },
  });
}

/** Rows of a D1 answer: `meta` when the answer has it, else the rows it returned (read). */
function countD1Result(result: unknown, count: Count): void {
  count('d1.queries');
  const meta = (result as { meta?: { rows_read?: number; rows_written?: number } } | null)?.meta;
  if (meta) {
    count('d1.rows_read', meta.rows_read ?? 0);
    count('d1.rows_written', meta.rows_written ?? 0);
  } else if (Array.isArray(result)) count('d1.rows_read', result.length);
  else if (result !== null && result !== undefined) count('d1.rows_read', 1);
}

/**
 * A statement whose answers count themselves. The statement object stays the binding's own (D1's `batch` takes
 * only its own statements): its methods are replaced on the instance.
 */
function meterStatement(stmt: D1PreparedStatement, count: Count): D1PreparedStatement {
  const s = stmt as Metered<D1PreparedStatement>;
  if (s[METERED]) return s;
  const bind = stmt.bind.bind(stmt);
  const wrap = <K extends 'run' | 'all' | 'raw' | 'first'>(name: K) => {
    const original = (stmt[name] as (...a: unknown[]) => Promise<unknown>).bind(stmt);
    (s as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const result = await original(...args);
      countD1Result(result, count);
      return result;
    };
  };
  wrap('run');
  wrap('all');
  wrap('raw');
  wrap('first');
  s.bind = (...values: unknown[]) => meterStatement(bind(...values), count);
  s[METERED] = true;
  return s;
}

export function meterDatabase(db: D1Database, count: Count): D1Database {
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (prop === 'prepare') return (query: string) => meterStatement(fn.call(target, query) as D1PreparedStatement, count);
      if (prop === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          const results = (await fn.call(target, statements)) as D1Result[];
          for (const r of results) countD1Result(r, count);
          return results;
        };
      }
      if (prop === 'exec') {
        return async (query: string) => {
          count('d1.queries');
          return fn.call(target, query);
        };
      }
      return fn.bind(target);
    },
  });
}

/** Queue messages per 64 KB, as Cloudflare Queues bills them. */
const units = (body: unknown) => Math.max(1, Math.ceil(new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body ?? null)).byteLength / 65_536));

export function meterQueue<T>(queue: Queue<T>, count: Count): Queue<T> {
  return new Proxy(queue, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (prop === 'send') {
        return (body: T, options?: QueueSendOptions) => {
          count('queue.messages', units(body));
          return fn.call(target, body, options);
        };
      }
      if (prop === 'sendBatch') {
        return (messages: Iterable<MessageSendRequest<T>>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          count('queue.messages', list.reduce((n, m) => n + units(m.body), 0));
          return fn.call(target, list, options);
        };
      }
      return fn.bind(target);
    },
  });
}

/** Each call on a stub is one Durable Object request; its wall time is what the caller waited. */
function meterStub<T extends object>(stub: T, count: Count): T {
  return new Proxy(stub, {
    get(target, prop) {
      // Read on the stub itself (never with the proxy as receiver): an RPC stub's methods are its own properties.
      const methods = target as unknown as Record<string | symbol, unknown>;
      const value = methods[prop];
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'then') return value;
      return async (...args: unknown[]) => {
        count('do.requests');
        const started = Date.now();
        try {
          return await (methods[prop] as (...a: unknown[]) => unknown)(...args);
        } finally {
          count('do.wall_ms', Date.now() - started);
        }
      };
    },
  });
}

export function meterNamespace<T extends Rpc.DurableObjectBranded | undefined>(ns: DurableObjectNamespace<T>, count: Count): DurableObjectNamespace<T> {
  return new Proxy(ns, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (prop === 'get' || prop === 'getByName') return (...args: unknown[]) => meterStub(fn.apply(target, args) as object, count);
      return fn.bind(target);
    },
  });
}

const QUEUES = ['TRANSCODE_QUEUE', 'TRANSCODE_DLQ', 'ANALYTICS_QUEUE', 'MEDIA_QUEUE', 'IMPORT_QUEUE', 'AUDIO_TRACK_QUEUE', 'WEBHOOK_QUEUE'] as const;
const NAMESPACES = ['UPLOAD_SESSION', 'VIEW_COUNTER', 'CLIENT_LIMITER', 'LIVE_INPUT'] as const;

/** Per isolate, one metered env per raw env: loadConfig and friends cache per env object. */
const meteredEnvs = new WeakMap<Env, Env>();
const rawEnvs = new WeakMap<Env, Env>();

/** The raw environment behind a metered one (the flush writes through its D1 binding, uncounted). */
export const unmetered = (env: Env): Env => rawEnvs.get(env) ?? env;

/** `env` with every counted binding wrapped (a metered env is returned as it is). */
export function meterEnv(env: Env): Env {
  const e = env as Metered<Env>;
  if (e[METERED]) return env;
  const known = meteredEnvs.get(env);
  if (known) return known;
  const count = counter(env.DB);
  const out: Metered<Env> = { ...env, [METERED]: true };
  out.MEDIA = meterBucket(env.MEDIA, count);
  out.DB = meterDatabase(env.DB, count);
  for (const name of QUEUES) if (env[name]) (out as unknown as Record<string, unknown>)[name] = meterQueue(env[name], count);
  for (const name of NAMESPACES) if (env[name]) (out as unknown as Record<string, unknown>)[name] = meterNamespace(env[name] as unknown as DurableObjectNamespace<undefined>, count);
  meteredEnvs.set(env, out);
  rawEnvs.set(out, env);
  return out;
}

/**
 * The list prices this platform's operations are priced at (docs/cost.md), in one table: each line with the page it
 * was read from and when. Update a line when its page changes; `npm run bench -- cost` prices with whatever is here.
 * USD. Free allowances are kept apart (`included`): the comparison prices every unit, as an operator past the free
 * tier pays.
 */

export interface PriceLine {
  /** USD per `per` units. */
  usd: number;
  per: number;
  unit: string;
  /** Included each month on the Workers Paid plan before this price applies. */
  included: string;
  source: string;
  read: string;
}

const CF_WORKERS = 'https://developers.cloudflare.com/workers/platform/pricing/';
const CF_DO = 'https://developers.cloudflare.com/durable-objects/platform/pricing/';
const CF_R2 = 'https://developers.cloudflare.com/r2/pricing/';
const CF_D1 = 'https://developers.cloudflare.com/d1/platform/pricing/';
const CF_QUEUES = 'https://developers.cloudflare.com/queues/platform/pricing/';
const CF_CONTAINERS = 'https://developers.cloudflare.com/containers/pricing/';
const CF_CONTAINER_TYPES = 'https://developers.cloudflare.com/containers/platform/limits/';
const CF_STREAM = 'https://developers.cloudflare.com/stream/pricing/';
const READ = '2026-12-05';

export const PRICES = {
  workerRequests: { usd: 0.3, per: 1e6, unit: 'request', included: '10 million', source: CF_WORKERS, read: READ },
  workerCpuMs: { usd: 0.02, per: 1e6, unit: 'CPU millisecond', included: '30 million', source: CF_WORKERS, read: READ },
  doRequests: { usd: 0.15, per: 1e6, unit: 'request (each RPC call or fetch on a stub, each alarm)', included: '1 million', source: CF_DO, read: READ },
  doDurationGbSec: { usd: 12.5, per: 1e6, unit: 'GB-second of wall time at 128 MB', included: '400,000 GB-s', source: CF_DO, read: READ },
  d1RowsRead: { usd: 0.001, per: 1e6, unit: 'row read', included: '25 billion', source: CF_D1, read: READ },
  d1RowsWritten: { usd: 1.0, per: 1e6, unit: 'row written', included: '50 million', source: CF_D1, read: READ },
  d1StorageGbMonth: { usd: 0.75, per: 1, unit: 'GB-month', included: '5 GB', source: CF_D1, read: READ },
  r2ClassA: { usd: 4.5, per: 1e6, unit: 'class A operation', included: '1 million', source: CF_R2, read: READ },
  r2ClassB: { usd: 0.36, per: 1e6, unit: 'class B operation', included: '10 million', source: CF_R2, read: READ },
  r2StorageGbMonth: { usd: 0.015, per: 1, unit: 'GB-month (standard)', included: '10 GB-month', source: CF_R2, read: READ },
  r2StorageIaGbMonth: { usd: 0.01, per: 1, unit: 'GB-month (Infrequent Access; $0.01/GB retrieval, 30-day minimum)', included: 'none', source: CF_R2, read: READ },
  queueOperations: { usd: 0.4, per: 1e6, unit: 'operation (64 KB written, read or deleted)', included: '1 million', source: CF_QUEUES, read: READ },
  containerVcpuSec: { usd: 0.00002, per: 1, unit: 'vCPU-second of CPU used', included: '375 vCPU-minutes', source: CF_CONTAINERS, read: READ },
  containerMemoryGibSec: { usd: 0.0000025, per: 1, unit: 'GiB-second provisioned while running', included: '25 GiB-hours', source: CF_CONTAINERS, read: READ },
  containerDiskGbSec: { usd: 0.00000007, per: 1, unit: 'GB-second provisioned while running', included: '200 GB-hours', source: CF_CONTAINERS, read: READ },
} satisfies Record<string, PriceLine>;

/** The transcoder's instance type (wrangler.toml `instance_type = "standard-2"`), from the containers limits page. */
export const INSTANCE = { type: 'standard-2', vcpu: 1, memoryGib: 6, diskGb: 12, source: CF_CONTAINER_TYPES, read: READ };

/**
 * Workers CPU per request: workerd does not expose CPU time (its timers stand still between I/O), so it is priced
 * from this stated figure, not measured. 2 ms is a Worker that verifies a token and streams an R2 or cache body.
 */
export const ASSUMED_CPU_MS_PER_REQUEST = 2;

/** Durable Object duration is billed at 128 MB per active object. */
export const DO_MEMORY_GB = 0.128;

/** What the others charge for the same work. */
export const COMPETITORS = {
  stream: {
    storedPer1000MinMonth: 5,
    deliveredPer1000Min: 1,
    encoding: 0,
    source: CF_STREAM,
    read: READ,
    note: 'Cloudflare Stream: $5 per 1,000 minutes stored (prepaid), $1 per 1,000 minutes delivered; encoding included.',
  },
  mux: {
    storedPer1000MinMonth: 3,
    deliveredPer1000Min: 1,
    encodingPer1000Min: 0,
    source: 'https://www.mux.com/pricing',
    read: READ,
    note:
      'Mux (basic quality, 1080p, first volume tier): about $0.003 per minute stored per month and $0.001 per minute delivered, encoding free at basic quality. ' +
      'These two figures are an assumption: the pricing page could not be read from this machine; a third-party summary (mpegflow.com, read the same day) gives ~$0.0014 per minute delivered.',
  },
} as const;

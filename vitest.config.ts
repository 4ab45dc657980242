/**
 * Test projects (`npm test` runs the first four side by side, one vitest process each, `node` as two:
 * scripts/test-lanes.ts; `npm run test:container` the last). Within one vitest process, every project that runs one
 * file at a time joins a single queue, so one `vitest run` over all four would run their files one after another.
 * - `workers`: test/workers/**, inside workerd through @cloudflare/vitest-pool-workers (Miniflare bindings:
 *   D1 with migrations applied, R2, Durable Objects, queues). Storage is isolated per test file.
 * - `node`: test/node/**, pure-TypeScript modules, and the end-to-end tests that start a stack of their own (they
 *   restart it, kill or hold its transcoder, or need vars of their own).
 * - `transcode`: test/transcode/**, end-to-end files that encode real videos through a stack of their own (they
 *   hold, kill or fail its transcoder): a lane of their own, beside the `node` files, because they wait on ffmpeg.
 * - `e2e`: test/e2e/**, end-to-end tests against one shared stack (test/helpers/shared-stack.ts), each file with
 *   a creator of its own.
 * - `container`: test/container/**, the production transcoding path under Docker.
 */
import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export const TEST_SECRETS = {
  SIGNING_KEYS: JSON.stringify({ k1: 'dGVzdC1zaWduaW5nLWtleS1vbmUtMzItYnl0ZXMtbG9uZw', k0: 'b2xkLXRlc3Qtc2lnbmluZy1rZXktcmV0aXJpbmctc29vbg' }),
  SIGNING_KEY_ID: 'k1',
  INTERNAL_TOKEN: 'test-internal-token',
  ADMIN_TOKEN: 'test-admin-token',
};

/** The npm import paths of the Worker (workers/, outside the browser code in workers/web/client) and its workerd tests. */
const WORKER_DEPENDENCIES = [
  '@cloudflare/containers',
  '@hono/zod-openapi',
  'drizzle-orm',
  'drizzle-orm/batch',
  'drizzle-orm/d1',
  'drizzle-orm/sqlite-core',
  'hono',
  'hono/bearer-auth',
  'hono/cookie',
  'hono/cors',
  'hono/factory',
  'hono/html',
  'hono/http-exception',
  'hono/jsx',
  'hono/jsx/jsx-runtime',
  'hono/secure-headers',
  'hono/utils/http-status',
  'hyperloglog-lite',
  'jose',
  'standardwebhooks',
  'zod',
];

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            main: './test/workers/test-entry.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...TEST_SECRETS,
                // Local values, as `npm start` passes them (wrangler.toml [vars] holds the production ones): a local
                // transcoder process (so the /internal/storage door exists), a fixed public origin, bench routes on.
                TRANSCODER_URL: 'http://127.0.0.1:8788',
                PUBLIC_ORIGIN: 'http://127.0.0.1:8787',
                BENCH_ROUTES: '1',
                LOG_LEVEL: 'warn',
                // Uploads: R2's minimum part size (Miniflare enforces it), so tests move 5 MiB parts, not 10 MiB.
                UPLOAD_CHUNK_SIZE: String(5 * 1024 * 1024),
                // Audio track files: a small limit, so the oversized-body test sends 300 KiB, not 200 MiB.
                AUDIO_TRACK_MAX_BYTES: String(256 * 1024),
                TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, 'schema/migrations')),
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          // Every test file runs in a workerd runtime of its own, which loads the Worker's modules afresh. Its npm
          // dependencies are pre-bundled once (a few files, not hundreds of small ones), which cuts each file's start.
          // List every import path of them the Worker and these tests use, so none loads a second, unbundled copy.
          deps: { optimizer: { ssr: { enabled: true, include: WORKER_DEPENDENCIES } } },
          include: ['test/workers/**/*.test.ts'],
          setupFiles: ['./test/workers/apply-migrations.ts', './test/workers/install-hooks.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'node',
          setupFiles: ['./test/helpers/fetch-retry-closed-socket.ts'],
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // End-to-end suites start servers on free ports; one file at a time in this project.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'transcode',
          setupFiles: ['./test/helpers/fetch-retry-closed-socket.ts'],
          include: ['test/transcode/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          setupFiles: ['./test/helpers/fetch-retry-closed-socket.ts'],
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // A browser page or the stack answers within seconds on a quiet machine, far slower beside a CPU hog: a
          // poll waits up to 30 s (vitest's default is 1 s), and returns as soon as it holds.
          expect: { poll: { timeout: 30_000 } },
          // Starts the shared stack in the background; files wait for it.
          globalSetup: ['./test/helpers/shared-stack-setup.ts'],
          // One file at a time on the shared stack, beside the node project's files.
          fileParallelism: false,
        },
      },
      {
        // The production transcoding path under Docker: `npm run test:container` (not part of `npm test`, which needs
        // no Docker engine); .ci/run runs both.
        test: {
          name: 'container',
          setupFiles: ['./test/helpers/fetch-retry-closed-socket.ts'],
          include: ['test/container/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

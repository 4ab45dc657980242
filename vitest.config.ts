/**
 * Two test projects:
 * - `workers`: test/workers/**, inside workerd through @cloudflare/vitest-pool-workers (Miniflare bindings:
 *   D1 with migrations applied, R2, Durable Objects, queues). Storage is isolated per test file.
 * - `node`: test/node/**, end-to-end tests that start real processes (wrangler dev, the transcoder, ffmpeg,
 *   Chromium) and pure-TypeScript modules.
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
                TEST_MIGRATIONS: await readD1Migrations(path.join(import.meta.dirname, 'schema/migrations')),
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          setupFiles: ['./test/workers/apply-migrations.ts', './test/workers/install-hooks.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // End-to-end suites start servers on free ports; run files one at a time on this 2-core machine.
          fileParallelism: false,
        },
      },
      {
        // The production transcoding path under Docker: `npm run test:container` (not part of `npm test`, which needs
        // no Docker engine); .ci/run runs both.
        test: {
          name: 'container',
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

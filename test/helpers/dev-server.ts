/**
 * The local stacks' Worker server: what `wrangler dev` runs (wrangler.toml, its custom build, Miniflare with state
 * on disk), started through wrangler's own API (`unstable_startWorker`, which the `wrangler dev` command is built
 * on) so that a test stack can leave out three things it never uses:
 * - the DevTools inspector. Its proxy relays every message of the Worker's isolate (4 per subrequest, and every D1,
 *   R2 and Durable Object call is one) to wrangler's Node process, which writes each to its debug log on disk:
 *   over one `npm test`, half of that process's CPU (203 → 100 CPU-s without it) and hundreds of MB of logs. A stack that wants it (the upload
 *   benchmark reads the isolate's heap) asks with `inspectorPort`.
 * - the file watchers: a test stack serves the code it started with. wrangler bundles the Worker with esbuild in
 *   watch mode whatever `watch` says, and esbuild watches by polling the files it bundled: about half a CPU-second per
 *   minute per idle stack. A custom build (`build.custom`) is bundled once, without that watcher.
 * - the second run of wrangler.toml's custom build (`[build]`, the web app's browser bundle). wrangler runs it as it
 *   reads the config, then watches `build.custom.watch` and runs the command again once that watcher is ready, and
 *   bundles the Worker after it. The stack's custom build is `true` (nothing to build again), watching one file.
 *
 * Run as a program (by test/helpers/local-stack.ts, which stops it with SIGTERM): one argument, the JSON of
 * `DevServerOptions`. `npm start` runs the `wrangler dev` command itself.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

// wrangler is a 12 MB CommonJS file: `require` loads it as such, where an ES `import` first scans all of it for its
// export names (about a third of a second of CPU per stack).
const { unstable_startWorker } = createRequire(import.meta.url)('wrangler') as typeof import('wrangler');

export interface DevServerOptions {
  port: number;
  /** Miniflare's state directory (`--persist-to`). */
  stateDir: string;
  /** Worker vars over wrangler.toml's (`--var`). */
  vars: Record<string, string>;
  /** Serve the DevTools inspector on this port; none when absent. */
  inspectorPort?: number;
  /** wrangler's log level for its own lines; the Worker's console output is printed at every level but `none`. */
  logLevel: 'log' | 'warn';
  /** Build and run wrangler.toml's containers under Docker (`--enable-containers`). */
  containers: boolean;
  /** Crons fired through `/__scheduled` (`--test-scheduled`). */
  testScheduled: boolean;
}

const options = JSON.parse(process.argv[2] ?? '') as DevServerOptions;
const worker = await unstable_startWorker({
  config: 'wrangler.toml',
  // wrangler.toml's [build] runs as the config is read; this command runs once its one-file watcher is ready, and the
  // Worker is bundled after it, without esbuild's polling watcher.
  build: { custom: { command: 'true', watch: 'wrangler.toml' } },
  bindings: Object.fromEntries(Object.entries(options.vars).map(([name, value]) => [name, { type: 'plain_text', value }])),
  dev: {
    remote: false,
    server: { hostname: '127.0.0.1', port: options.port },
    inspector: options.inspectorPort ? { hostname: '127.0.0.1', port: options.inspectorPort } : false,
    persist: options.stateDir,
    logLevel: options.logLevel,
    watch: false,
    liveReload: false,
    testScheduled: options.testScheduled,
    enableContainers: options.containers,
    ...(options.containers ? { dockerPath: process.env.WRANGLER_DOCKER_BIN, containerBuildId: randomUUID().slice(0, 8) } : {}),
  },
});
await worker.ready;

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // dispose() stops workerd and, with containers, the containers it started.
    worker.dispose().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('[dev-server] stopping:', err);
        process.exit(1);
      },
    );
  });
}

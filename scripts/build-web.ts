/**
 * Bundles the web app's browser code (workers/web/client) with esbuild into workers/web/static/assets, which the
 * Worker serves as static assets (`[assets]` in wrangler.toml). Run by wrangler's `[build]` step, so `npm start`,
 * `wrangler dev` in the tests and `wrangler deploy` always serve a fresh bundle; no separate build command.
 *
 * One ES-module entry per page, with code splitting so tus-js-client loads only on the upload page and hls.js only
 * on the watch page. hls.js is aliased to its "light" build (no EME, subtitles or alternate audio, which the platform
 * does not produce): about 40% smaller.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLIENT = path.join(ROOT, 'workers', 'web', 'client');
export const ASSETS_OUT = path.join(ROOT, 'workers', 'web', 'static', 'assets');

export const PAGE_ENTRIES = ['signin', 'upload', 'library', 'watch', 'stats'] as const;

export async function buildWeb(options: { quiet?: boolean } = {}): Promise<{ bytes: Record<string, number> }> {
  rmSync(ASSETS_OUT, { recursive: true, force: true });
  const result = await build({
    entryPoints: [
      ...PAGE_ENTRIES.map((name) => ({ in: path.join(CLIENT, 'pages', `${name}.ts`), out: name })),
      { in: path.join(CLIENT, 'styles.css'), out: 'styles' },
    ],
    outdir: ASSETS_OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'external',
    chunkNames: 'chunk-[hash]',
    alias: { 'hls.js': 'hls.js/dist/hls.light.mjs' },
    metafile: true,
    logLevel: options.quiet ? 'warning' : 'info',
    legalComments: 'linked',
  });
  const bytes: Record<string, number> = {};
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith('.map')) bytes[path.relative(ASSETS_OUT, file)] = info.bytes;
  }
  return { bytes };
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  await buildWeb({ quiet: process.argv.includes('--quiet') });
}

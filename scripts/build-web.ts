/**
 * Bundles the web app's browser code (workers/web/client) with esbuild into workers/web/static/assets, which the
 * Worker serves as static assets (`[assets]` in wrangler.toml). Run by wrangler's `[build]` step, so `npm start`,
 * `wrangler dev` in the tests and `wrangler deploy` always serve a fresh bundle; no separate build command.
 *
 * One ES-module entry per page, with code splitting so tus-js-client loads only on the upload page and hls.js only
 * on the watch page. hls.js is aliased to its "light" build (no EME, subtitles or alternate audio, which the platform
 * does not produce): about 40% smaller.
 *
 * The output is synced, not rewritten: only files whose bytes changed are written and only stale files removed.
 * wrangler dev runs this build twice at start (once for the first bundle, again when its watcher on `watch_dir`
 * becomes ready) and reloads the Worker whenever the assets directory changes; rewriting identical files made that
 * reload land seconds after the server was up, answering in-flight uploads "503 Your worker restarted mid-request".
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLIENT = path.join(ROOT, 'workers', 'web', 'client');
export const ASSETS_OUT = path.join(ROOT, 'workers', 'web', 'static', 'assets');

export const PAGE_ENTRIES = ['signin', 'upload', 'library', 'watch', 'stats'] as const;

export async function buildWeb(options: { quiet?: boolean } = {}): Promise<{ bytes: Record<string, number> }> {
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
    // The full build, not `hls.light`: the light build has no alternate-audio support, and every video's audio is
    // its own HLS rendition (`EXT-X-MEDIA:TYPE=AUDIO`, encoded once for the whole source), so the watch page
    // played chunked videos without sound.
    alias: { 'hls.js': 'hls.js/dist/hls.mjs' },
    metafile: true,
    logLevel: options.quiet ? 'warning' : 'info',
    legalComments: 'linked',
    write: false,
  });
  syncOutputs(result.outputFiles.map((f) => ({ path: f.path, contents: f.contents })));
  const bytes: Record<string, number> = {};
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith('.map')) bytes[path.relative(ASSETS_OUT, file)] = info.bytes;
  }
  return { bytes };
}

/** Writes the files whose contents differ and removes files the build no longer produces. */
function syncOutputs(files: { path: string; contents: Uint8Array }[]): void {
  mkdirSync(ASSETS_OUT, { recursive: true });
  const wanted = new Set(files.map((f) => f.path));
  for (const entry of readdirSync(ASSETS_OUT, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !wanted.has(full)) rmSync(full, { force: true });
  }
  for (const f of files) {
    if (existsSync(f.path) && Buffer.compare(readFileSync(f.path), f.contents) === 0) continue;
    mkdirSync(path.dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.contents);
  }
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  await buildWeb({ quiet: process.argv.includes('--quiet') });
}

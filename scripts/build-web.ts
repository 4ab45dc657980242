/**
 * Bundles the web app's browser code (workers/web/client) with esbuild into workers/web/static/assets, which the
 * Worker serves as static assets (`[assets]` in wrangler.toml). Run by wrangler's `[build]` step, so `npm start`,
 * the test stacks and `wrangler deploy` always serve a fresh bundle; no separate build command.
 *
 * One ES-module entry per page, with code splitting so tus-js-client loads only on the upload page and hls.js only
 * on the watch page (its full build: see `alias` below).
 *
 * The player (player/build.ts) is built next to the pages, as single-file modules: the embed page's script
 * (`assets/embed.js`) and the `<edge-video>` element at `/player.js` and, pinned by version and content hash, at
 * `/player/{version}-{hash}.js` (`_headers` in the static directory gives them CORS and their cache lifetimes).
 *
 * The output is synced, not rewritten: only files whose bytes changed are written and only stale files removed.
 * wrangler dev runs this build twice at start (once for the first bundle, again when its watcher on `watch_dir`
 * becomes ready) and reloads the Worker whenever the assets directory changes; rewriting identical files made that
 * reload land seconds after the server was up, answering in-flight uploads "503 Your worker restarted mid-request".
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildPlayerModules } from '../player/build';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLIENT = path.join(ROOT, 'workers', 'web', 'client');
const STATIC = path.join(ROOT, 'workers', 'web', 'static');
export const ASSETS_OUT = path.join(STATIC, 'assets');
const PLAYER_ALIAS = path.join(STATIC, 'player.js');
const PLAYER_PINNED = path.join(STATIC, 'player');
/** Where output files are written before they are renamed into place (same file system, outside the assets). */
const WRITE_TMP = path.join(ROOT, '.tmp', 'build-web');

export const PAGE_ENTRIES = ['signin', 'upload', 'library', 'watch', 'stats'] as const;

export async function buildWeb(options: { quiet?: boolean } = {}): Promise<{ bytes: Record<string, number>; gzipBytes: Record<string, number> }> {
  const [result, player] = await Promise.all([buildPages(options), buildPlayerModules()]);
  const pinnedPath = path.join(PLAYER_PINNED, `${player.pinned}.js`);
  const banner = new TextEncoder().encode(`/*! @edge-video/player ${player.pinned}: pinned at /player/${player.pinned}.js */\n`);
  const files = [
    ...result.outputFiles.map((f) => ({ path: f.path, contents: f.contents })),
    { path: path.join(ASSETS_OUT, 'embed.js'), contents: player.embed },
    { path: PLAYER_ALIAS, contents: concat(banner, player.player) },
    { path: pinnedPath, contents: player.player },
  ];
  syncOutputs(files, [ASSETS_OUT, PLAYER_PINNED]);
  const bytes: Record<string, number> = {};
  const gzipBytes: Record<string, number> = {};
  for (const f of files) {
    if (f.path.endsWith('.map')) continue;
    const name = path.relative(ASSETS_OUT, f.path).startsWith('..') ? path.relative(STATIC, f.path) : path.relative(ASSETS_OUT, f.path);
    bytes[name] = f.contents.byteLength;
    gzipBytes[name] = gzipSync(f.contents, { level: 9 }).byteLength;
  }
  return { bytes, gzipBytes };
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
};

function buildPages(options: { quiet?: boolean }) {
  return build({
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
}

/**
 * Writes the files whose contents differ and removes files the build no longer produces in `dirs`. A file is written
 * whole or not at all (written beside the repository's `.tmp/`, then renamed over), so a server starting meanwhile,
 * or a second build running at the same moment (two test processes), never reads half a file.
 */
function syncOutputs(files: { path: string; contents: Uint8Array }[], dirs: string[]): void {
  const wanted = new Set(files.map((f) => f.path));
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      const full = path.join(entry.parentPath, entry.name);
      if (entry.isFile() && !wanted.has(full)) rmSync(full, { force: true });
    }
  }
  for (const f of files) {
    if (existsSync(f.path) && Buffer.compare(readFileSync(f.path), f.contents) === 0) continue;
    mkdirSync(path.dirname(f.path), { recursive: true });
    mkdirSync(WRITE_TMP, { recursive: true });
    const tmp = path.join(WRITE_TMP, `${process.pid}-${path.basename(f.path)}`);
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  await buildWeb({ quiet: process.argv.includes('--quiet') });
}

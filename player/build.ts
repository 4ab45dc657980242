/**
 * Builds the player as single-file ES modules (no chunks: one request, nothing discovered later):
 * - `player.js`: the `<edge-video>` element (src/index.ts): the npm package's file (`npm run build` here writes
 *   dist/player.js) and what the platform serves at `/player.js` and, pinned, at `/player/{version}-{hash}.js`;
 * - `embed.js`: the embed page's script (src/embed.ts), served at `/assets/embed.js`.
 * hls.js is bundled in (its full build: every video's audio is an alternate rendition, which the light build cannot
 * play); `.css` files load as text (the element adopts the stylesheet).
 *
 * scripts/build-web.ts calls `buildPlayerModules` in wrangler's build step, so the Worker always serves fresh files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const HERE = import.meta.dirname;
export const PLAYER_VERSION = (JSON.parse(readFileSync(path.join(HERE, 'package.json'), 'utf8')) as { version: string }).version;

export interface PlayerModules {
  /** The element module's code. */
  player: Uint8Array;
  /** Its pinned name: `{version}-{first 8 hex of its SHA-256}`. */
  pinned: string;
  embed: Uint8Array;
}

async function bundle(entry: string): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [path.join(HERE, 'src', entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    alias: { 'hls.js': 'hls.js/dist/hls.mjs' },
    loader: { '.css': 'text' },
    legalComments: 'eof',
    write: false,
    logLevel: 'warning',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return file.contents;
}

export async function buildPlayerModules(): Promise<PlayerModules> {
  const [player, embed] = await Promise.all([bundle('index.ts'), bundle('embed.ts')]);
  const hash = createHash('sha256').update(player).digest('hex').slice(0, 8);
  return { player, pinned: `${PLAYER_VERSION}-${hash}`, embed };
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  const { player, pinned } = await buildPlayerModules();
  mkdirSync(path.join(HERE, 'dist'), { recursive: true });
  writeFileSync(path.join(HERE, 'dist', 'player.js'), player);
  console.log(`dist/player.js: @edge-video/player ${pinned}, ${player.byteLength} bytes`);
}

/**
 * `npm run abr:bundle`: what the ABR code costs the watch page. Builds the web bundle (scripts/build-web.ts) and
 * reports the watch page's JavaScript (watch.js and the chunks it imports), minified and gzipped; the ABR adapter
 * with everything it imports, bundled alone (hls.js external), minified and gzipped; which modules that is; and how
 * many of the lab's option names (abr/lab/controllers/lab-params.ts, not in PLATFORM_PARAMS) appear in the watch
 * page's JavaScript (0: no lab code ships). Also the embed page's one script and the web component module
 * (player/build.ts), next to the watch page's JavaScript.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { LAB_PARAMS } from '../abr/lab/controllers/lab-params';
import { PLATFORM_PARAMS } from '../abr/platform-params';
import { ASSETS_OUT, buildWeb } from './build-web';

const ROOT = path.resolve(import.meta.dirname, '..');
const gzip = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).length;

/** watch.js and every chunk it imports, transitively (esbuild's ESM output: `from"./chunk-….js"` / `import"./…"`). */
function watchPageFiles(): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path.join(ASSETS_OUT, file), 'utf8');
    for (const m of source.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)) visit(m[1] as string);
  };
  visit('watch.js');
  return [...seen];
}

await buildWeb({ quiet: true });
const files = watchPageFiles().map((file) => ({ file, bytes: readFileSync(path.join(ASSETS_OUT, file)) }));
const pageMin = files.reduce((sum, f) => sum + f.bytes.length, 0);
const pageGzip = files.reduce((sum, f) => sum + gzip(f.bytes), 0);

const alone = await build({
  entryPoints: [path.join(ROOT, 'abr', 'hls-abr-controller.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  external: ['hls.js'],
  metafile: true,
  write: false,
  logLevel: 'warning',
});
const abr = alone.outputFiles[0]?.contents ?? new Uint8Array();
const modules = Object.keys(alone.metafile.inputs).sort();

const labKnobs = Object.keys(LAB_PARAMS).filter((k) => !(k in PLATFORM_PARAMS));
const pageText = files.map((f) => f.bytes.toString('utf8')).join('\n');
const shipped = labKnobs.filter((k) => new RegExp(`\\b${k}\\b`).test(pageText));

console.log(`watch page JavaScript (${files.map((f) => f.file).join(', ')}): ${pageMin} B minified, ${pageGzip} B gzip`);
for (const [name, file] of [['embed page JavaScript (assets/embed.js)', path.join(ASSETS_OUT, 'embed.js')], ['web component (/player.js)', path.join(ASSETS_OUT, '..', 'player.js')]] as const) {
  const bytes = readFileSync(file);
  console.log(`${name}: ${bytes.length} B minified, ${gzip(bytes)} B gzip (${((gzip(bytes) / pageGzip - 1) * 100).toFixed(1)} % against the watch page's gzip)`);
}
console.log(`ABR adapter and controller alone (hls.js external): ${abr.length} B minified, ${gzip(abr)} B gzip; modules: ${modules.join(', ')}`);
console.log(`knobs: ${Object.keys(PLATFORM_PARAMS).length} shipped (PLATFORM_PARAMS), ${labKnobs.length} lab-only (LAB_PARAMS); lab knobs in the watch page: ${shipped.length}${shipped.length ? ` (${shipped.join(', ')})` : ''}`);

/**
 * Headless Chromium (Debian's, driven by playwright-core) for end-to-end playback tests, and a test page served
 * from its own origin on 127.0.0.1 next to the hls.js build from node_modules, so the player fetches the stack's
 * signed URLs cross-origin, as a third-party site's player would.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './local-stack';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'];

/** `extraArgs` are appended to CHROMIUM_ARGS (e.g. `--proxy-server=…` for the ABR bench's shaping proxy). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * Bundles a test page's script: `entry` is TypeScript source resolved from the repo root (so it can import
 * `./abr/...`), bundled into one classic script with hls.js aliased to its light build (no alternate audio), or to
 * its full build (`hls: 'full'`, as the platform's player bundles it: scripts/build-web.ts, player/build.ts). Used by
 * the ABR browser test and the abr-player bench.
 */
export async function bundlePageScript(entry: string, options: { hls?: 'light' | 'full' } = {}): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome100',
    alias: { 'hls.js': options.hls === 'full' ? 'hls.js/dist/hls.mjs' : 'hls.js/dist/hls.light.mjs' },
    logLevel: 'warning',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output for the page script');
  return file.text;
}

/** Serves `html` at `/` and hls.js at `/hls.min.js` on a free port of 127.0.0.1. */
export async function serveHlsPage(html: string): Promise<{ origin: string; close(): Promise<void> }> {
  const hlsJs = readFileSync(path.join(ROOT, 'node_modules', 'hls.js', 'dist', 'hls.min.js'));
  const server = createServer((req, res) => {
    if (req.url === '/hls.min.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(hlsJs);
    else res.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

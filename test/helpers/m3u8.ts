/**
 * Playlists parsed with m3u8-parser (the parser video.js uses: a real, strict-enough HLS parser), typed by the
 * caller with the fields it reads.
 */
import { createRequire } from 'node:module';

const { Parser } = createRequire(import.meta.url)('m3u8-parser') as { Parser: new () => { push(text: string): void; end(): void; manifest: unknown } };

export function parseM3u8<Manifest>(text: string): Manifest {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest as Manifest;
}

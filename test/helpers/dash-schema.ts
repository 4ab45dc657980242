/**
 * Validates a DASH manifest against the MPD schema of ISO/IEC 23009-1 (test/fixtures/dash-schema, see its README),
 * with libxml2's xmllint compiled to WebAssembly (`xmllint-wasm`): no network, no system package.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateXML } from 'xmllint-wasm';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'dash-schema');
const W3C_XLINK = 'http://www.w3.org/XML/2008/06/xlink.xsd';

let schemaFiles: { mpd: string; xlink: string } | null = null;
function schemas() {
  if (schemaFiles) return schemaFiles;
  const mpd = readFileSync(path.join(DIR, 'DASH-MPD.xsd'), 'utf8');
  if (!mpd.includes(W3C_XLINK)) throw new Error(`DASH-MPD.xsd no longer imports ${W3C_XLINK}: update test/helpers/dash-schema.ts`);
  schemaFiles = { mpd: mpd.replace(W3C_XLINK, 'xlink.xsd'), xlink: readFileSync(path.join(DIR, 'xlink.xsd'), 'utf8') };
  return schemaFiles;
}

/** The schema errors of `xml` (each as xmllint prints it: `manifest.mpd:12: element … not expected`); empty when valid. */
export async function mpdSchemaErrors(xml: string): Promise<string[]> {
  const { mpd, xlink } = schemas();
  const result = await validateXML({
    xml: [{ fileName: 'manifest.mpd', contents: xml }],
    schema: [{ fileName: 'DASH-MPD.xsd', contents: mpd }],
    preload: [{ fileName: 'xlink.xsd', contents: xlink }],
  });
  return result.valid ? [] : result.errors.map((e) => e.rawMessage);
}

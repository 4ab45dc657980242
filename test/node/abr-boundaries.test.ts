/**
 * Which way the ABR code's dependencies point: abr/ imports nothing from workers/ (workers/ may import abr/), the
 * shipped controller (abr/*.ts) imports nothing from the lab (abr/lab/), there is no import circle inside abr/, and
 * the player's bundle of the adapter carries no lab module and none of the lab's option names.
 */
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { LAB_PARAMS } from '../../abr/lab/controllers/lab-params';
import { PLATFORM_PARAMS } from '../../abr/platform-params';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ABR = path.join(ROOT, 'abr');
const rel = (file: string): string => path.relative(ROOT, file);

const files = readdirSync(ABR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(ABR, f));

/** Every module a file imports or re-exports (type-only ones too, and dynamic imports), as TypeScript reads it. */
function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function resolve(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) if (candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  throw new Error(`${rel(from)}: cannot resolve ${specifier}`);
}

const graph = new Map(files.map((file) => [file, specifiers(file)] as const));
const isLab = (file: string): boolean => file.startsWith(path.join(ABR, 'lab') + path.sep);

describe('abr/ import boundaries', () => {
  it('imports nothing outside abr/ but packages, and the shipped files nothing from the lab', () => {
    const wrong: string[] = [];
    for (const [file, specs] of graph) {
      for (const spec of specs) {
        if (!spec.startsWith('.')) {
          // Packages: hls.js (types, for the adapter) in the shipped files; Node's modules in the lab's tools.
          if (isLab(file) ? !spec.startsWith('node:') : spec !== 'hls.js') wrong.push(`${rel(file)} → ${spec}`);
          continue;
        }
        const target = resolve(file, spec);
        if (!target.startsWith(ABR + path.sep) || (!isLab(file) && isLab(target))) wrong.push(`${rel(file)} → ${rel(target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import circle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...trail.slice(trail.indexOf(file)), file].map(rel).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const spec of graph.get(file) ?? []) if (spec.startsWith('.')) visit(resolve(file, spec), [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('the player bundle of the adapter holds only the shipped modules and no lab option', async () => {
    const result = await build({
      entryPoints: [path.join(ABR, 'hls-abr-controller.ts')],
      bundle: true,
      format: 'esm',
      minify: true,
      external: ['hls.js'],
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    expect(Object.keys(result.metafile.inputs).sort()).toEqual(['abr/estimators.ts', 'abr/hls-abr-controller.ts', 'abr/platform-params.ts', 'abr/platform.ts', 'abr/robust-mpc.ts', 'abr/types.ts']);
    const text = result.outputFiles[0]?.text ?? '';
    const labKnobs = Object.keys(LAB_PARAMS).filter((k) => !(k in PLATFORM_PARAMS));
    expect(labKnobs.length).toBeGreaterThan(0);
    expect(labKnobs.filter((k) => text.includes(k))).toEqual([]);
    // The shipped knobs are there: the check above would see a lab name if one were bundled.
    expect(Object.keys(PLATFORM_PARAMS).every((k) => text.includes(k))).toBe(true);
  });
});
